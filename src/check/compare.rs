//! Semantic comparison of a YAML block with a manifest: parsed values, not
//! text, so key order, quoting, comments and flow or block style do not
//! matter.

use crate::yaml::{Node, Value};

/// How a block must relate to the manifest node it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// The block must equal the manifest node.
    Whole,
    /// Every key of the block must be in the manifest with an equal value;
    /// list items pair by [`pair_items`].
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
pub fn compare<'a>(doc: &'a Node, manifest: &'a Node, mode: Compare) -> Vec<Mismatch<'a>> {
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

fn walk<'a>(
    doc: &'a Node,
    man: &'a Node,
    mode: Compare,
    path: String,
    out: &mut Vec<Mismatch<'a>>,
) {
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
            if mode == Compare::Whole {
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
            for (i, (d, m)) in pair_items(ds, ms, mode).into_iter().enumerate() {
                let p = match d.str_at(&["name"]) {
                    Some(name) if by_name(ds, ms, mode) => format!("{path}[name={name}]"),
                    _ => format!("{path}[{i}]"),
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
            if mode == Compare::Whole {
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

/// Whether every item of a non-empty list has a string `name`.
fn named(items: &[Node]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.str_at(&["name"]).is_some())
}

fn by_name(doc: &[Node], manifest: &[Node], mode: Compare) -> bool {
    mode == Compare::Excerpt && named(doc) && named(manifest)
}

/// The one rule that pairs the items of a block's list with the items of
/// the manifest's: in an excerpt, by `name` when every item on both sides
/// has one (an excerpt may leave items out); otherwise by position.
pub fn pair_items<'a>(
    doc: &'a [Node],
    manifest: &'a [Node],
    mode: Compare,
) -> Vec<(&'a Node, Option<&'a Node>)> {
    let by_name = by_name(doc, manifest, mode);
    doc.iter()
        .enumerate()
        .map(|(i, d)| {
            let m = if by_name {
                let name = d.str_at(&["name"]);
                manifest.iter().find(|m| m.str_at(&["name"]) == name)
            } else {
                manifest.get(i)
            };
            (d, m)
        })
        .collect()
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
        (Value::Seq(ms), Value::Seq(ds)) => pair_items(ds, ms, Compare::Excerpt)
            .into_iter()
            .filter_map(|(d, m)| m.map(|m| restrict(m, d)))
            .collect::<Vec<_>>()
            .into(),
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
        assert!(compare(&a, &m, Compare::Whole).is_empty());
    }

    #[test]
    fn equal_reports_changed_extra_and_missing_keys() {
        let d = node("retentionPolicy: 7d\nextra: 1\n");
        let m = node("retentionPolicy: 14d\nserverName: db-v1\n");
        let diffs = compare(&d, &m, Compare::Whole);
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
        assert!(compare(&d, &m, Compare::Excerpt).is_empty());
        let d = node("spec:\n  containers:\n    - name: b\n      image: z\n");
        let diffs = compare(&d, &m, Compare::Excerpt);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "spec.containers[name=b].image");
    }

    #[test]
    fn numbers_compare_by_value_but_strings_stay_strings() {
        assert!(compare(&node("a: 1\n"), &node("a: 1.0\n"), Compare::Whole).is_empty());
        assert_eq!(
            compare(&node("a: \"1\"\n"), &node("a: 1\n"), Compare::Whole).len(),
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
