//! Semantic comparison of a YAML block with a manifest: parsed values, not
//! text, so key order, quoting, comments and flow or block style do not
//! matter.

use crate::yaml::{Node, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The block must equal the manifest node.
    Equal,
    /// Every key of the block must be in the manifest with an equal value;
    /// lists match by position, or by `name` when their elements have one.
    Excerpt,
}

#[derive(Debug, Clone)]
pub struct Mismatch<'a> {
    /// Dotted path from the compared root (`backup.retentionPolicy`).
    pub path: String,
    /// The node in the docs (absent when the docs lack a manifest key).
    pub doc: Option<&'a Node>,
    /// The node in the manifest (absent when the manifest lacks it).
    pub manifest: Option<&'a Node>,
    /// Where to point in the docs when `doc` is absent: the parent.
    pub doc_parent: &'a Node,
    pub manifest_parent: &'a Node,
}

impl Mismatch<'_> {
    pub fn describe(&self) -> String {
        let path = if self.path.is_empty() {
            "the block".to_string()
        } else {
            format!("`{}`", self.path)
        };
        match (self.doc, self.manifest) {
            (Some(d), Some(m)) => format!(
                "{path} is {} here but {} in the manifest",
                d.short(),
                m.short()
            ),
            (Some(_), None) => format!("{path} is not in the manifest"),
            (None, Some(m)) => {
                format!("{path} ({}) is in the manifest but missing here", m.short())
            }
            (None, None) => format!("{path} differs"),
        }
    }
}

/// All differences, in the order of the block (then manifest-only keys).
pub fn compare<'a>(doc: &'a Node, manifest: &'a Node, mode: Mode) -> Vec<Mismatch<'a>> {
    let mut out = Vec::new();
    walk(doc, manifest, mode, String::new(), &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

fn walk<'a>(doc: &'a Node, man: &'a Node, mode: Mode, path: String, out: &mut Vec<Mismatch<'a>>) {
    match (&doc.value, &man.value) {
        (Value::Map(dp), Value::Map(mp)) => {
            for (k, dv) in dp {
                let key = k.as_str().map_or_else(|| k.short(), str::to_string);
                match mp.iter().find(|(mk, _)| scalar_eq(&mk.value, &k.value)) {
                    Some((_, mv)) => walk(dv, mv, mode, join(&path, &key), out),
                    None => out.push(Mismatch {
                        path: join(&path, &key),
                        doc: Some(dv),
                        manifest: None,
                        doc_parent: doc,
                        manifest_parent: man,
                    }),
                }
            }
            if mode == Mode::Equal {
                for (k, mv) in mp {
                    if !dp.iter().any(|(dk, _)| scalar_eq(&dk.value, &k.value)) {
                        let key = k.as_str().map_or_else(|| k.short(), str::to_string);
                        out.push(Mismatch {
                            path: join(&path, &key),
                            doc: None,
                            manifest: Some(mv),
                            doc_parent: doc,
                            manifest_parent: man,
                        });
                    }
                }
            }
        }
        (Value::Seq(ds), Value::Seq(ms)) => {
            let named = |items: &[Node]| {
                !items.is_empty() && items.iter().all(|i| i.str_at(&["name"]).is_some())
            };
            // Excerpts pair list elements by `name` when all have one.
            let by_name = mode == Mode::Excerpt && named(ds) && named(ms);
            for (i, d) in ds.iter().enumerate() {
                let (p, m) = if by_name {
                    let name = d.str_at(&["name"]).unwrap_or_default();
                    (
                        format!("{path}[name={name}]"),
                        ms.iter().find(|m| m.str_at(&["name"]) == Some(name)),
                    )
                } else {
                    (format!("{path}[{i}]"), ms.get(i))
                };
                match m {
                    Some(m) => walk(d, m, mode, p, out),
                    None => out.push(Mismatch {
                        path: p,
                        doc: Some(d),
                        manifest: None,
                        doc_parent: doc,
                        manifest_parent: man,
                    }),
                }
            }
            if mode == Mode::Equal {
                for (i, m) in ms.iter().enumerate().skip(ds.len()) {
                    out.push(Mismatch {
                        path: format!("{path}[{i}]"),
                        doc: None,
                        manifest: Some(m),
                        doc_parent: doc,
                        manifest_parent: man,
                    });
                }
            }
        }
        (a, b) if scalar_eq(a, b) => {}
        _ => out.push(Mismatch {
            path,
            doc: Some(doc),
            manifest: Some(man),
            doc_parent: doc,
            manifest_parent: man,
        }),
    }
}

/// The manifest node cut down to the keys the block has (for an excerpt's
/// diff, so that unrelated manifest keys do not show).
pub fn restrict(manifest: &Node, doc: &Node) -> serde_yaml::Value {
    match (&manifest.value, &doc.value) {
        (Value::Map(mp), Value::Map(dp)) => {
            let mut out = serde_yaml::Mapping::new();
            for (k, dv) in dp {
                if let Some((mk, mv)) = mp.iter().find(|(mk, _)| scalar_eq(&mk.value, &k.value)) {
                    out.insert(mk.to_serde(), restrict(mv, dv));
                }
            }
            serde_yaml::Value::Mapping(out)
        }
        (Value::Seq(ms), Value::Seq(ds)) => {
            let by_name = ds.iter().all(|d| d.str_at(&["name"]).is_some());
            ds.iter()
                .enumerate()
                .filter_map(|(i, d)| {
                    let m = if by_name {
                        ms.iter()
                            .find(|m| m.str_at(&["name"]) == d.str_at(&["name"]))
                    } else {
                        ms.get(i)
                    };
                    m.map(|m| restrict(m, d))
                })
                .collect::<Vec<_>>()
                .into()
        }
        _ => manifest.to_serde(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        crate::yaml::parse(text).unwrap().remove(0).root
    }

    #[test]
    fn order_quoting_and_style_do_not_matter() {
        let a = node("b: \"x\"\na: [1, 2]\n# comment\n");
        let m = node("a:\n  - 1\n  - 2\nb: x\n");
        assert!(compare(&a, &m, Mode::Equal).is_empty());
    }

    #[test]
    fn equal_reports_changed_extra_and_missing_keys() {
        let d = node("retentionPolicy: 7d\nextra: 1\n");
        let m = node("retentionPolicy: 14d\nserverName: db-v1\n");
        let diffs = compare(&d, &m, Mode::Equal);
        let texts: Vec<String> = diffs.iter().map(Mismatch::describe).collect();
        assert_eq!(
            texts,
            [
                "`retentionPolicy` is \"7d\" here but \"14d\" in the manifest",
                "`extra` is not in the manifest",
                "`serverName` (\"db-v1\") is in the manifest but missing here",
            ]
        );
        assert_eq!(diffs[0].doc.unwrap().line, 1);
        assert_eq!(diffs[0].manifest.unwrap().line, 1);
    }

    #[test]
    fn excerpt_allows_missing_keys_and_matches_lists_by_name() {
        let d = node("spec:\n  containers:\n    - name: b\n      image: y\n");
        let m = node("spec:\n  replicas: 2\n  containers:\n    - name: a\n      image: x\n    - name: b\n      image: y\n      args: [1]\n");
        assert!(compare(&d, &m, Mode::Excerpt).is_empty());
        let d = node("spec:\n  containers:\n    - name: b\n      image: z\n");
        let diffs = compare(&d, &m, Mode::Excerpt);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "spec.containers[name=b].image");
    }

    #[test]
    fn numbers_compare_by_value_but_strings_stay_strings() {
        assert!(compare(&node("a: 1\n"), &node("a: 1.0\n"), Mode::Equal).is_empty());
        assert_eq!(
            compare(&node("a: \"1\"\n"), &node("a: 1\n"), Mode::Equal).len(),
            1
        );
    }

    #[test]
    fn restrict_keeps_only_the_blocks_keys() {
        let d = node("a: 1\nc:\n  d: 2\n");
        let m = node("a: 5\nb: 2\nc:\n  d: 3\n  e: 4\n");
        assert_eq!(
            serde_yaml::to_string(&restrict(&m, &d)).unwrap(),
            "a: 5\nc:\n  d: 3\n"
        );
    }
}
