//! The manifests under `manifests/`: every YAML document of every file,
//! indexed by path and by identity (kind, namespace, name).

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::yaml::{self, Node};

#[derive(Debug, Clone)]
pub struct Manifest {
    /// Path relative to the manifests directory, with `/` separators.
    pub path: String,
    /// Path shown in diagnostics (`manifests/...`).
    pub display: PathBuf,
    /// Index of the document in a multi-document file.
    pub doc: usize,
    /// 1-based line on which the document starts.
    pub line: usize,
    /// The document with positions, for checks.
    pub node: Node,
    /// The same document as plain data, for templates.
    pub value: serde_yaml::Value,
    /// `metadata.namespace`, or the namespace a kustomization listing this
    /// file sets.
    pub namespace: Option<String>,
}

impl Manifest {
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(|v| v.as_str())
    }

    pub fn name(&self) -> Option<&str> {
        self.value.get("metadata")?.get("name")?.as_str()
    }

    pub fn api_version(&self) -> Option<&str> {
        self.value.get("apiVersion").and_then(|v| v.as_str())
    }

    /// Location of a node of this manifest.
    pub fn location(&self, node: &Node) -> Location {
        Location::new(&self.display, node.line, node.col)
    }

    /// `Kind/name`, the form `doc=` selectors use.
    pub fn kind_name(&self) -> Option<String> {
        Some(format!("{}/{}", self.kind()?, self.name()?))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ManifestIndex {
    pub docs: Vec<Manifest>,
    /// Text of every file, by path relative to the manifests directory.
    pub sources: std::collections::BTreeMap<String, String>,
}

impl ManifestIndex {
    /// Loads every `.yaml`/`.yml` file under `root/dir`. A missing directory
    /// is an empty index: a site need not have manifests.
    pub fn load(root: &Path, dir: &Path) -> Result<ManifestIndex> {
        let base = root.join(dir);
        let mut index = ManifestIndex::default();
        if !base.is_dir() {
            return Ok(index);
        }
        let files = crate::content::list_files(&base, dir, false)?;
        for rel in files
            .into_iter()
            .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml"))
        {
            let display = dir.join(&rel);
            let text = std::fs::read_to_string(base.join(&rel))
                .map_err(|e| Error::io(&display, "read the manifest", e))?;
            index.add_file(&rel, display, &text)?;
        }
        index.apply_kustomize_namespaces();
        Ok(index)
    }

    pub fn add_file(&mut self, rel: &str, display: PathBuf, text: &str) -> Result<()> {
        let docs = yaml::parse(text).map_err(|e| {
            Error::at(
                Location::new(&display, e.line, e.col),
                format!("invalid YAML: {}", e.message),
            )
        })?;
        self.sources.insert(rel.to_string(), text.to_string());
        for (i, doc) in docs.into_iter().enumerate() {
            let value = doc.root.to_serde();
            let namespace = doc
                .root
                .str_at(&["metadata", "namespace"])
                .map(str::to_string);
            self.docs.push(Manifest {
                path: rel.to_string(),
                display: display.clone(),
                doc: i,
                line: doc.line,
                node: doc.root,
                value,
                namespace,
            });
        }
        Ok(())
    }

    /// Applies the `namespace` of each kustomization to the resources it
    /// lists that do not set one themselves.
    pub fn apply_kustomize_namespaces(&mut self) {
        let mut assign: Vec<(String, String)> = Vec::new();
        for k in self
            .docs
            .iter()
            .filter(|m| m.kind() == Some("Kustomization"))
        {
            let Some(ns) = k.node.str_at(&["namespace"]) else {
                continue;
            };
            let dir = k.path.rsplit_once('/').map_or("", |(d, _)| d);
            for res in k
                .node
                .get("resources")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                if let Some(file) = res.as_str() {
                    let path = if dir.is_empty() {
                        file.to_string()
                    } else {
                        format!("{dir}/{file}")
                    };
                    assign.push((path, ns.to_string()));
                }
            }
        }
        for (path, ns) in assign {
            for m in self
                .docs
                .iter_mut()
                .filter(|m| m.path == path && m.namespace.is_none())
            {
                m.namespace = Some(ns.clone());
            }
        }
    }

    /// Manifests with this kind and name, and namespace when given.
    pub fn by_identity<'a>(
        &'a self,
        kind: &'a str,
        name: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Manifest> + 'a {
        self.docs.iter().filter(move |m| {
            m.kind() == Some(kind)
                && m.name() == Some(name)
                && (namespace.is_none() || m.namespace.as_deref() == namespace)
        })
    }

    /// The document of `path` selected by `doc` (`Kind/name`), or the only
    /// (first) document when `doc` is `None`.
    pub fn find(&self, path: &str, doc: Option<&str>) -> Result<&Manifest, String> {
        let mut docs = self.docs.iter().filter(|m| m.path == path).peekable();
        if docs.peek().is_none() {
            return Err(format!("no manifest `{path}` in the manifests directory"));
        }
        match doc {
            None => Ok(docs.next().expect("peeked")),
            Some(sel) => docs
                .find(|m| m.kind_name().is_some_and(|kn| kn.eq_ignore_ascii_case(sel)))
                .ok_or_else(|| format!("`{path}` has no document `{sel}` (expected `Kind/name`)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_files_are_indexed_by_kind_and_name() {
        let mut idx = ManifestIndex::default();
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
        idx.add_file("secrets.yaml", "manifests/secrets.yaml".into(), text)
            .unwrap();
        assert_eq!(idx.docs.len(), 2);
        assert_eq!(idx.find("secrets.yaml", None).unwrap().name(), Some("a"));
        let b = idx.find("secrets.yaml", Some("Secret/b")).unwrap();
        assert_eq!((b.name(), b.line, b.doc), (Some("b"), 6, 1));
        assert_eq!(idx.by_identity("Secret", "b", None).count(), 1);
        assert!(idx.find("secrets.yaml", Some("Secret/c")).is_err());
        assert!(idx
            .find("nope.yaml", None)
            .unwrap_err()
            .contains("no manifest"));
    }

    #[test]
    fn kustomization_namespace_applies_to_listed_files() {
        let mut idx = ManifestIndex::default();
        idx.add_file(
            "db/kustomization.yaml",
            "k".into(),
            "kind: Kustomization\nnamespace: data\nresources:\n  - c.yaml\n",
        )
        .unwrap();
        idx.add_file(
            "db/c.yaml",
            "c".into(),
            "kind: Cluster\nmetadata:\n  name: x\n",
        )
        .unwrap();
        idx.add_file(
            "db/d.yaml",
            "d".into(),
            "kind: Cluster\nmetadata:\n  name: y\n",
        )
        .unwrap();
        idx.apply_kustomize_namespaces();
        assert_eq!(idx.by_identity("Cluster", "x", Some("data")).count(), 1);
        assert_eq!(
            idx.by_identity("Cluster", "y", Some("data")).count(),
            0,
            "not listed"
        );
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let mut idx = ManifestIndex::default();
        let err = idx
            .add_file(
                "x.yaml",
                "manifests/x.yaml".into(),
                "a: 1\nb: [1, 2\nc: 3\n",
            )
            .unwrap_err();
        assert_eq!(
            err.location.as_ref().unwrap().file,
            PathBuf::from("manifests/x.yaml")
        );
        assert!(err.location.as_ref().unwrap().line >= 2, "{err}");
    }
}
