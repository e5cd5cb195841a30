//! Paths into a YAML document: `spec.backup.retentionPolicy`. One language
//! for every place that names a field — a block's `select=`, a runbook
//! step's `assert`/`wait` paths — so the same path means the same field in
//! the docs, in a manifest and on the cluster.
//!
//! Segments are keys separated by dots; `[N]` indexes a list, `[key=x]`
//! picks the first list element whose `key` is `x` (`[name=app]`,
//! `[type=Ready]`; quote values with spaces or brackets: `[type="a b"]`),
//! and `["a.b/c"]` is a key with dots or slashes.

use crate::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// The first element of a list whose field `.0` is the string `.1`.
    Where(String, String),
}

pub fn parse(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    if rest.is_empty() {
        return Ok(steps);
    }
    loop {
        if let Some(r) = rest.strip_prefix('[') {
            let (inner, after) = bracket(r).ok_or_else(|| format!("`{path}`: `[` without `]`"))?;
            let inner = inner.trim();
            if let Some(q) = unquote(inner) {
                steps.push(Step::Key(q));
            } else if let Some((k, v)) = inner.split_once('=') {
                let (k, v) = (k.trim(), v.trim());
                let v = unquote(v).unwrap_or_else(|| v.to_string());
                if k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) {
                    return Err(format!(
                        "`{path}`: `[{inner}]` needs a field name before `=`"
                    ));
                }
                steps.push(Step::Where(k.to_string(), v));
            } else {
                let n = inner.parse().map_err(|_| {
                    format!("`{path}`: `[{inner}]` is not an index, `key=value` or a quoted key")
                })?;
                steps.push(Step::Index(n));
            }
            rest = after;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return Err(format!("`{path}`: empty key"));
            }
            if key.contains(['"', ']', ' ']) {
                return Err(format!(
                    "`{path}`: `{key}` is not a key (quote it: `[\"{key}\"]`)"
                ));
            }
            steps.push(Step::Key(key.to_string()));
            rest = &rest[end..];
        }
        if rest.is_empty() {
            return Ok(steps);
        }
        if rest.starts_with('[') {
            continue;
        }
        rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("`{path}`: expected `.` or `[` before `{rest}`"))?;
        if rest.is_empty() {
            return Err(format!("`{path}`: ends with `.`"));
        }
    }
}

/// The inside of `[...]` and what follows `]`; a `]` inside double quotes
/// does not close.
fn bracket(s: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ']' if !quoted => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// The path as text, in the form [`parse`] reads.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) if k.contains(['.', '[', ']', '"', ' ', '/']) => {
                out.push_str(&format!("[\"{}\"]", k.replace('"', "\\\"")))
            }
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Where(k, v) if v.contains([']', ' ', '"']) => {
                out.push_str(&format!("[{k}=\"{}\"]", v.replace('"', "\\\"")))
            }
            Step::Where(k, v) => out.push_str(&format!("[{k}={v}]")),
        }
    }
    out
}

/// Follows `steps` from `node`; the error says where the path stopped.
pub fn select<'a>(node: &'a Node, steps: &[Step]) -> Result<&'a Node, String> {
    let mut cur = node;
    for (i, step) in steps.iter().enumerate() {
        let next = match (step, &cur.value) {
            (Step::Key(k), Value::Map(pairs)) => pairs
                .iter()
                .find(|(pk, _)| pk.as_str() == Some(k))
                .map(|(_, v)| v),
            (Step::Index(i), Value::Seq(items)) => items.get(*i),
            (Step::Where(k, v), Value::Seq(items)) => {
                items.iter().find(|it| it.str_at(&[k]) == Some(v))
            }
            _ => None,
        };
        let Some(next) = next else {
            let done = render(&steps[..i]);
            let at = if done.is_empty() {
                "the document".to_string()
            } else {
                format!("`{done}`")
            };
            let hint = match &cur.value {
                Value::Map(pairs) => {
                    let keys: Vec<&str> = pairs.iter().filter_map(|(k, _)| k.as_str()).collect();
                    format!(" (its keys: {})", keys.join(", "))
                }
                Value::Seq(items) => format!(" (a list of {})", items.len()),
                _ => format!(" ({} is {})", at, cur.short()),
            };
            return Err(format!("{} has no {}{hint}", at, describe(step)));
        };
        cur = next;
    }
    Ok(cur)
}

/// Follows `steps` in a JSON value (an object as the cluster returns it).
pub fn select_json<'a>(
    value: &'a serde_json::Value,
    steps: &[Step],
) -> Option<&'a serde_json::Value> {
    steps.iter().try_fold(value, |cur, step| match step {
        Step::Key(k) => cur.get(k),
        Step::Index(i) => cur.get(i),
        Step::Where(k, v) => cur
            .as_array()?
            .iter()
            .find(|it| it.get(k).and_then(|x| x.as_str()) == Some(v)),
    })
}

fn describe(step: &Step) -> String {
    match step {
        Step::Key(k) => format!("key `{k}`"),
        Step::Index(i) => format!("element [{i}]"),
        Step::Where(k, v) => format!("element with {k} `{v}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_indexes_conditions_and_quoted_keys() {
        assert_eq!(
            parse("spec.externalClusters[0].barmanObjectStore").unwrap(),
            vec![
                Step::Key("spec".into()),
                Step::Key("externalClusters".into()),
                Step::Index(0),
                Step::Key("barmanObjectStore".into())
            ]
        );
        assert_eq!(
            parse("metadata.annotations[\"argocd.argoproj.io/sync-wave\"]").unwrap(),
            vec![
                Step::Key("metadata".into()),
                Step::Key("annotations".into()),
                Step::Key("argocd.argoproj.io/sync-wave".into())
            ]
        );
        assert_eq!(
            parse("items[name=db]").unwrap()[1],
            Step::Where("name".into(), "db".into())
        );
        assert_eq!(
            parse("status.conditions[type=\"a ] b\"].status").unwrap()[2],
            Step::Where("type".into(), "a ] b".into())
        );
        for bad in ["a..b", "a[x]", "a[0", "a.", "a[0]b", "[=x]", "a b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn render_round_trips() {
        for p in [
            "spec.backup.retentionPolicy",
            "status.conditions[type=Ready].status",
            "metadata.annotations[\"argocd.argoproj.io/skip-reconcile\"]",
            "items[0].x",
            "a[k=\"x y\"]",
        ] {
            assert_eq!(render(&parse(p).unwrap()), p);
        }
    }

    #[test]
    fn select_explains_where_it_stopped() {
        let doc = &crate::yaml::parse(
            "spec:\n  backup:\n    retentionPolicy: 14d\n  list:\n    - name: a\n      v: 1\n",
        )
        .unwrap()[0]
            .root;
        let n = select(doc, &parse("spec.backup.retentionPolicy").unwrap()).unwrap();
        assert_eq!(n.as_str(), Some("14d"));
        assert_eq!(
            select(doc, &parse("spec.list[name=a].v").unwrap())
                .unwrap()
                .value,
            Value::Int(1)
        );
        let e = select(doc, &parse("spec.bakup").unwrap()).unwrap_err();
        assert_eq!(e, "`spec` has no key `bakup` (its keys: backup, list)");
    }

    #[test]
    fn select_json_follows_conditions() {
        let v = serde_json::json!({"status": {"conditions": [
            {"type": "ContinuousArchiving", "status": "False"},
            {"type": "Ready", "status": "True"}]}});
        let p = parse("status.conditions[type=Ready].status").unwrap();
        assert_eq!(select_json(&v, &p), Some(&serde_json::json!("True")));
        assert_eq!(select_json(&v, &parse("status.phase").unwrap()), None);
    }
}
