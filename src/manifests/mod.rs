//! The manifests under `manifests/`: every YAML document of every file,
//! indexed by path and by identity (kind, namespace, name), each with its
//! role: a Kubernetes object, a kustomization, or data that a
//! kustomization uses (a patch, Helm values) and that is not an object.

pub mod kustomize;

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::yaml::{self, Node};
use kustomize::{Kustomization, Use};

/// What a YAML document of the manifests directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A Kubernetes object (it has `apiVersion` and `kind`).
    Object,
    /// A `kustomization.yaml`.
    Kustomization,
    /// YAML that is not applied as an object: Helm values, a patch, a
    /// generator input, a CI file, anything without `apiVersion` and `kind`.
    Data,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    /// Path relative to the manifests directory, with `/` separators.
    pub path: String,
    /// The file as messages name it, relative to the repository root
    /// (`manifests/...`).
    pub file: PathBuf,
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
    pub role: Role,
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
        Location::new(&self.file, node.line, node.col)
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
    /// Loads every `.yaml`/`.yml` file under `root/dir`, but none under
    /// `skip` (the content, output and theme directories when the
    /// manifests directory contains them, as with `manifests_dir = "."`)
    /// and none of a Helm chart's `templates/` (Go templates, not YAML). A
    /// missing directory is an empty index: a site need not have manifests.
    pub fn load(root: &Path, dir: &Path, skip: &[&Path]) -> Result<ManifestIndex> {
        let base = root.join(dir);
        let mut index = ManifestIndex::default();
        if !base.is_dir() {
            return Ok(index);
        }
        let within = if dir == Path::new(".") {
            Path::new("")
        } else {
            dir
        };
        let skip: Vec<String> = skip
            .iter()
            .filter_map(|s| s.strip_prefix(within).ok())
            .map(|s| s.to_string_lossy().replace('\\', "/"))
            .filter(|s| !s.is_empty())
            .collect();
        let files = crate::content::list_files(&base, dir, false)?;
        let charts: Vec<String> = files
            .iter()
            .filter_map(|f| f.strip_suffix("Chart.yaml"))
            .filter(|d| d.is_empty() || d.ends_with('/'))
            .map(|d| format!("{d}templates/"))
            .collect();
        for rel in files.into_iter().filter(|f| {
            (f.ends_with(".yaml") || f.ends_with(".yml"))
                && !skip.iter().any(|s| f.starts_with(&format!("{s}/")))
                && !charts.iter().any(|c| f.starts_with(c.as_str()))
        }) {
            // `apps/x.yaml`, not `./apps/x.yaml`, when the manifests are the root.
            let file = within.join(&rel);
            let text = std::fs::read_to_string(base.join(&rel))
                .map_err(|e| Error::io(&file, "read the manifest", e))?;
            index.add_file(&rel, file, &text)?;
        }
        index.resolve_kustomizations();
        Ok(index)
    }

    pub fn add_file(&mut self, rel: &str, file: PathBuf, text: &str) -> Result<()> {
        let docs = yaml::parse(text).map_err(|e| {
            Error::at(
                Location::new(&file, e.line, e.col),
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
            let is_object =
                doc.root.str_at(&["apiVersion"]).is_some() && doc.root.str_at(&["kind"]).is_some();
            let mut m = Manifest {
                path: rel.to_string(),
                file: file.clone(),
                doc: i,
                line: doc.line,
                node: doc.root,
                value,
                namespace,
                role: if is_object { Role::Object } else { Role::Data },
            };
            if kustomize::is_kustomization(&m) {
                m.role = Role::Kustomization;
            }
            self.docs.push(m);
        }
        Ok(())
    }

    /// The kustomizations of the index, their paths resolved.
    pub fn kustomizations(&self) -> impl Iterator<Item = Kustomization<'_>> {
        self.docs
            .iter()
            .filter(|m| m.role == Role::Kustomization)
            .map(Kustomization::read)
    }

    /// The documents that are Kubernetes objects (not kustomizations, not
    /// patches or values files).
    pub fn objects(&self) -> impl Iterator<Item = &Manifest> {
        self.docs.iter().filter(|m| m.role == Role::Object)
    }

    /// Applies what kustomizations say about the files they name: the
    /// `namespace` of the resources that do not set one, and that patches,
    /// values and generator inputs are data, not objects.
    pub fn resolve_kustomizations(&mut self) {
        let mut assign: Vec<(String, Option<String>, Role)> = Vec::new();
        for k in self.kustomizations() {
            for (entry, path) in k.local() {
                let role = match entry.used_as {
                    Use::Resource | Use::Component => Role::Object,
                    _ => Role::Data,
                };
                let ns = (role == Role::Object)
                    .then(|| k.namespace.map(str::to_string))
                    .flatten();
                assign.push((path.to_string(), ns, role));
            }
        }
        for (path, ns, role) in assign {
            for m in self
                .docs
                .iter_mut()
                .filter(|m| m.path == path && m.role != Role::Kustomization)
            {
                if role == Role::Data {
                    m.role = Role::Data;
                }
                if m.namespace.is_none() {
                    m.namespace.clone_from(&ns);
                }
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
        self.objects().filter(move |m| {
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
            "kind: Kustomization\nnamespace: data\nresources:\n  - c.yaml\npatches:\n  - path: p.yaml\n",
        )
        .unwrap();
        let cluster =
            |name: &str| format!("apiVersion: x/v1\nkind: Cluster\nmetadata:\n  name: {name}\n");
        idx.add_file("db/c.yaml", "c".into(), &cluster("x"))
            .unwrap();
        idx.add_file("db/d.yaml", "d".into(), &cluster("y"))
            .unwrap();
        idx.add_file("db/p.yaml", "p".into(), &cluster("x"))
            .unwrap();
        idx.add_file("db/values.yaml", "v".into(), "replicas: 2\n")
            .unwrap();
        idx.resolve_kustomizations();
        assert_eq!(idx.by_identity("Cluster", "x", Some("data")).count(), 1);
        assert_eq!(
            idx.by_identity("Cluster", "y", Some("data")).count(),
            0,
            "not listed"
        );
        let roles: Vec<(&str, Role)> = idx.docs.iter().map(|m| (m.path.as_str(), m.role)).collect();
        assert_eq!(
            roles,
            [
                ("db/kustomization.yaml", Role::Kustomization),
                ("db/c.yaml", Role::Object),
                ("db/d.yaml", Role::Object),
                ("db/p.yaml", Role::Data),
                ("db/values.yaml", Role::Data),
            ],
            "a patch and a values file are not objects"
        );
        assert_eq!(
            idx.by_identity("Cluster", "x", None).count(),
            1,
            "not the patch"
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
