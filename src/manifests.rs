//! The manifests under `manifests/`: every YAML document of every file,
//! indexed by path and by identity (kind, namespace, name).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Location, Result};

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
    pub value: serde_yaml::Value,
}

impl Manifest {
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(|v| v.as_str())
    }

    pub fn name(&self) -> Option<&str> {
        self.value.get("metadata")?.get("name")?.as_str()
    }

    /// `Kind/name`, the form `doc=` selectors use.
    pub fn kind_name(&self) -> Option<String> {
        Some(format!("{}/{}", self.kind()?, self.name()?))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ManifestIndex {
    pub docs: Vec<Manifest>,
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
        let mut files = Vec::new();
        collect(&base, "", &mut files).map_err(|e| Error::io(dir, "read the manifests", e))?;
        files.sort();
        for rel in files {
            let display = dir.join(&rel);
            let text = std::fs::read_to_string(base.join(&rel))
                .map_err(|e| Error::io(&display, "read the manifest", e))?;
            index.add_file(&rel, display, &text)?;
        }
        Ok(index)
    }

    pub fn add_file(&mut self, rel: &str, display: PathBuf, text: &str) -> Result<()> {
        let starts = document_start_lines(text);
        for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let value = serde_yaml::Value::deserialize(de).map_err(|e| {
                let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                Error::at(
                    Location::new(&display, line, col),
                    format!("invalid YAML: {msg}"),
                )
            })?;
            if value.is_null() {
                continue; // an empty document, e.g. after a trailing `---`
            }
            self.docs.push(Manifest {
                path: rel.to_string(),
                display: display.clone(),
                doc: i,
                line: starts.get(i).copied().unwrap_or(1),
                value,
            });
        }
        Ok(())
    }

    pub fn in_file<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Manifest> + 'a {
        self.docs.iter().filter(move |m| m.path == path)
    }

    /// The document of `path` selected by `doc` (`Kind/name`), or the only
    /// (first) document when `doc` is `None`.
    pub fn find<'a>(&'a self, path: &'a str, doc: Option<&str>) -> Result<&'a Manifest, String> {
        let mut docs = self.in_file(path).peekable();
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

fn collect(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if crate::content::is_ignored_name(&name) {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.path().is_dir() {
            collect(&entry.path(), &rel, out)?;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(rel);
        }
    }
    Ok(())
}

/// 1-based line of the first content line of each `---`-separated document.
fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && line[3..].trim().is_empty() {
            if i == 0 {
                starts[0] = 2;
            } else {
                starts.push(i + 2);
            }
        }
    }
    starts
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
        assert!(idx.find("secrets.yaml", Some("Secret/c")).is_err());
        assert!(idx
            .find("nope.yaml", None)
            .unwrap_err()
            .contains("no manifest"));
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
