//! `select="spec.backup"`: a path into a YAML node. Segments are keys
//! separated by dots; `[N]` indexes a list, `[name=x]` picks the list
//! element whose `name` is `x`, and `["a.b/c"]` is a key with dots.

use crate::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    Named(String),
}

pub fn parse(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    if rest.is_empty() {
        return Ok(steps);
    }
    loop {
        if let Some(r) = rest.strip_prefix('[') {
            let close = r
                .find(']')
                .ok_or_else(|| format!("`{path}`: `[` without `]`"))?;
            let inner = r[..close].trim();
            if let Some(q) = inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                steps.push(Step::Key(q.to_string()));
            } else if let Some(n) = inner.strip_prefix("name=") {
                steps.push(Step::Named(n.trim_matches('"').to_string()));
            } else {
                let n = inner.parse().map_err(|_| {
                    format!("`{path}`: `[{inner}]` is not an index, `name=…` or a quoted key")
                })?;
                steps.push(Step::Index(n));
            }
            rest = &r[close + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return Err(format!("`{path}`: empty key"));
            }
            steps.push(Step::Key(key.to_string()));
            rest = &rest[end..];
        }
        if rest.is_empty() {
            return Ok(steps);
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if rest.is_empty() {
            return Err(format!("`{path}`: ends with `.`"));
        }
    }
}

/// Follows `steps` from `node`; the error says where the path stopped.
pub fn select<'a>(node: &'a Node, steps: &[Step]) -> Result<&'a Node, String> {
    let mut cur = node;
    let mut done = String::new();
    for step in steps {
        let next = match (step, &cur.value) {
            (Step::Key(k), Value::Map(pairs)) => pairs
                .iter()
                .find(|(pk, _)| pk.as_str() == Some(k))
                .map(|(_, v)| v),
            (Step::Index(i), Value::Seq(items)) => items.get(*i),
            (Step::Named(n), Value::Seq(items)) => {
                items.iter().find(|it| it.str_at(&["name"]) == Some(n))
            }
            _ => None,
        };
        let Some(next) = next else {
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
        done.push_str(&match step {
            Step::Key(k) if done.is_empty() => k.clone(),
            Step::Key(k) => format!(".{k}"),
            Step::Index(i) => format!("[{i}]"),
            Step::Named(n) => format!("[name={n}]"),
        });
        cur = next;
    }
    Ok(cur)
}

fn describe(step: &Step) -> String {
    match step {
        Step::Key(k) => format!("key `{k}`"),
        Step::Index(i) => format!("element [{i}]"),
        Step::Named(n) => format!("element named `{n}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_indexes_names_and_quoted_keys() {
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
            Step::Named("db".into())
        );
        assert!(parse("a..b").is_err());
        assert!(parse("a[x]").is_err());
        assert!(parse("a[0").is_err());
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
}
