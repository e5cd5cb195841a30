//! Server-side printing: the `Table` that `kubectl get` asks for (Accept
//! `as=Table;g=meta.k8s.io`), with a CRD's additionalPrinterColumns (so
//! `kubectl get cluster` shows STATUS like on a cluster) or, for the
//! built-in kinds, a few columns of their own. JSONPath is the subset the
//! CRDs use: `.a.b`, `[N]`, and `[?(@.k=="v")]`.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::resources::Resource;

/// Whether an Accept header asks for a Table.
pub fn wanted(accept: &str) -> bool {
    accept.contains("as=Table")
}

/// (name, type, jsonPath, priority) of the columns after Name.
fn columns(r: &Resource) -> Vec<(String, String, String, i64)> {
    let col = |n: &str, t: &str, p: &str| (n.to_string(), t.to_string(), p.to_string(), 0);
    let mut cols: Vec<_> = r
        .printer_columns
        .iter()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (
                s("name"),
                s("type"),
                s("jsonPath"),
                c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            )
        })
        .collect();
    if r.group.is_empty() || r.group == "batch" {
        cols = match r.kind.as_str() {
            "Pod" => vec![col("Status", "string", ".status.phase")],
            "PersistentVolumeClaim" => vec![
                col("Status", "string", ".status.phase"),
                col("Volume", "string", ".spec.volumeName"),
            ],
            "Namespace" => vec![col("Status", "string", ".status.phase")],
            "Job" => vec![
                col("Succeeded", "integer", ".status.succeeded"),
                col("Failed", "integer", ".status.failed"),
            ],
            _ => Vec::new(),
        };
    }
    if !cols.iter().any(|c| c.2 == ".metadata.creationTimestamp") {
        cols.push(col("Age", "date", ".metadata.creationTimestamp"));
    }
    cols
}

pub fn table(r: &Resource, items: &[Value], list_meta: Value) -> Value {
    let cols = columns(r);
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}),
    ];
    defs.extend(cols.iter().map(
        |(n, t, _, p)| json!({"name": n, "type": t, "format": "", "description": n, "priority": p}),
    ));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o.pointer("/metadata/name").cloned().unwrap_or(Value::Null)];
            for (_, t, path, _) in &cols {
                let v = eval(o, path);
                cells.push(match (t.as_str(), v) {
                    ("date", Some(Value::String(s))) => json!(age(&s)),
                    (_, Some(v)) => v,
                    (_, None) => Value::Null,
                });
            }
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata").cloned().unwrap_or(json!({}))}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": defs, "rows": rows})
}

/// The JSONPath subset of printer columns.
fn eval(obj: &Value, path: &str) -> Option<Value> {
    let mut cur = obj.clone();
    let mut rest = path.trim_start_matches('.');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = r[end + 1..].trim_start_matches('.');
            if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (k, v) = filter.split_once("==")?;
                let v = v.trim_matches(|c| c == '"' || c == '\'');
                cur = cur
                    .as_array()?
                    .iter()
                    .find(|x| x.get(k).and_then(Value::as_str) == Some(v))?
                    .clone();
            } else {
                cur = cur.get(inner.parse::<usize>().ok()?)?.clone();
            }
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        cur = cur.get(&rest[..end])?.clone();
        rest = rest[end..].trim_start_matches('.');
    }
    Some(cur)
}

/// `5s`, `3m`, `2h`, `4d` since an RFC 3339 time.
fn age(ts: &str) -> String {
    let secs = parse(ts)
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or(Duration::ZERO)
        .as_secs();
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn parse(ts: &str) -> Option<SystemTime> {
    let n = |a: usize, b: usize| ts.get(a..b).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d, h, mi, s) = (
        n(0, 4)?,
        n(5, 7)?,
        n(8, 10)?,
        n(11, 13)?,
        n(14, 16)?,
        n(17, 19)?,
    );
    // Days from civil (Howard Hinnant), the inverse of time::civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn jsonpath_subset_and_ages() {
        let o = json!({"status": {"phase": "x", "conditions": [{"type": "A", "reason": "a"}, {"type": "Ready", "reason": "ok"}]}});
        assert_eq!(super::eval(&o, ".status.phase"), Some(json!("x")));
        assert_eq!(
            super::eval(&o, ".status.conditions[?(@.type==\"Ready\")].reason"),
            Some(json!("ok"))
        );
        assert_eq!(
            super::eval(&o, ".status.conditions[0].type"),
            Some(json!("A"))
        );
        assert_eq!(super::eval(&o, ".status.nope"), None);
        let t = super::parse("2025-01-31T02:00:00Z").unwrap();
        assert_eq!(super::super::time::rfc3339(t), "2025-01-31T02:00:00Z");
        assert!(super::age(&super::super::time::now()).ends_with('s'));
    }
}
