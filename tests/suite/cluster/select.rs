//! Label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
//! `a`, `!a`) and field selectors (`metadata.name`, `metadata.namespace`)
//! as LIST and WATCH take them. A malformed selector is a 400, not a panic.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    labels: Vec<Req>,
    /// (field, value, equal?)
    fields: Vec<(String, String, bool)>,
}

impl Selector {
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Selector, String> {
        let mut s = Selector::default();
        if let Some(l) = labels {
            s.labels = parse_labels(l)?;
        }
        if let Some(f) = fields {
            for term in f.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let (k, v, eq) = if let Some((k, v)) = term.split_once("!=") {
                    (k, v, false)
                } else if let Some((k, v)) = term.split_once("==") {
                    (k, v, true)
                } else if let Some((k, v)) = term.split_once('=') {
                    (k, v, true)
                } else {
                    return Err(format!("invalid field selector: '{term}'"));
                };
                let k = k.trim();
                if k != "metadata.name" && k != "metadata.namespace" {
                    return Err(format!("field label not supported: {k}"));
                }
                s.fields.push((k.to_string(), v.trim().to_string(), eq));
            }
        }
        Ok(s)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|r| match r {
            Req::Eq(k, v) => label(k) == Some(v),
            Req::Ne(k, v) => label(k) != Some(v),
            Req::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Req::NotIn(k, vs) => !label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Req::Exists(k) => label(k).is_some(),
            Req::Absent(k) => label(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|(k, v, eq)| {
                let field = if k == "metadata.name" {
                    "/metadata/name"
                } else {
                    "/metadata/namespace"
                };
                let actual = obj.pointer(field).and_then(Value::as_str).unwrap_or("");
                (actual == v) == *eq
            })
    }
}

/// Splits at commas outside parentheses.
fn terms(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn valid_key(k: &str) -> Result<String, String> {
    let ok = !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(k.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label key \"{k}\""
        ))
    }
}

fn parse_labels(s: &str) -> Result<Vec<Req>, String> {
    let mut out = Vec::new();
    for t in terms(s) {
        let set = |rest: &str| -> Result<Vec<String>, String> {
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    format!("unable to parse requirement: found '{rest}', expected: '('")
                })?;
            Ok(inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect())
        };
        let req = if let Some(k) = t.strip_prefix('!') {
            Req::Absent(valid_key(k.trim())?)
        } else if let Some((k, rest)) = t.split_once(" notin ") {
            Req::NotIn(valid_key(k.trim())?, set(rest)?)
        } else if let Some((k, rest)) = t.split_once(" in ") {
            Req::In(valid_key(k.trim())?, set(rest)?)
        } else if let Some((k, v)) = t.split_once("!=") {
            Req::Ne(valid_key(k.trim())?, v.trim().to_string())
        } else if let Some((k, v)) = t.split_once("==") {
            Req::Eq(valid_key(k.trim())?, v.trim().to_string())
        } else if let Some((k, v)) = t.split_once('=') {
            Req::Eq(valid_key(k.trim())?, v.trim().to_string())
        } else {
            Req::Exists(valid_key(&t)?)
        };
        out.push(req);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Selector;
    use serde_json::json;

    #[test]
    fn label_and_field_selectors() {
        let o = json!({"metadata": {"name": "a", "namespace": "n", "labels": {"app": "db", "tier": "x"}}});
        let m = |l: &str| Selector::parse(Some(l), None).unwrap().matches(&o);
        assert!(m("app=db") && m("app==db") && m("app!=web") && m("app in (db, web)"));
        assert!(m("tier notin (y)") && m("app") && m("!nope") && m("app=db,tier"));
        assert!(!m("app=web") && !m("app notin (db)") && !m("!app") && !m("nope"));
        let f = |f: &str| Selector::parse(None, Some(f)).unwrap().matches(&o);
        assert!(f("metadata.name=a") && f("metadata.namespace!=m") && !f("metadata.name==b"));
        assert!(Selector::parse(None, Some("spec.x=1")).is_err());
        assert!(Selector::parse(Some("a in b"), None).is_err());
        assert!(Selector::parse(Some("a b=c"), None).is_err());
    }
}
