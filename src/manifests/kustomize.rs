//! What a `kustomization.yaml` refers to, resolved once by one rule: the
//! namespace it gives to the resources it lists, which files it applies,
//! which files it uses as patches, Helm values or generator inputs, and
//! which entries are directories or remote bases. The index, the lints and
//! the checks all read this, so they cannot resolve a path differently.

use super::Manifest;
use crate::yaml::Node;

/// How a kustomization uses a path it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `resources` (or `crds`): applied as Kubernetes objects.
    Resource,
    /// `components`: a directory with a kustomization of kind Component.
    Component,
    /// `patches`, `patchesStrategicMerge`, `patchesJson6902`: a partial
    /// object, not applied as it is.
    Patch,
    /// `helmCharts[].valuesFile`, `additionalValuesFiles`: Helm values.
    Values,
    /// `configMapGenerator`/`secretGenerator` `files`, `envs`, `env`.
    GeneratorInput,
    /// `generators`, `transformers`, `validators`: plugin configurations.
    Plugin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path relative to the manifests directory, `/`-separated, with
    /// `.` and `..` folded. It may be a file or a directory.
    Local(String),
    /// A path that leaves the manifests directory (`../../base`).
    Outside(String),
    /// A remote base (`https://…`, `github.com/…?ref=…`).
    Remote,
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub used_as: Use,
    /// The entry as written.
    pub raw: String,
    /// Where it is written, for diagnostics.
    pub node: &'a Node,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub struct Kustomization<'a> {
    pub manifest: &'a Manifest,
    /// Directory of the kustomization, relative to the manifests directory
    /// ("" at the top).
    pub dir: String,
    pub namespace: Option<&'a str>,
    pub entries: Vec<Entry<'a>>,
}

/// Whether a manifest is a kustomization file.
pub fn is_kustomization(m: &Manifest) -> bool {
    let file = m.path.rsplit('/').next().unwrap_or(&m.path);
    matches!(file, "kustomization.yaml" | "kustomization.yml")
        || m.kind() == Some("Kustomization")
            && m.api_version()
                .is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
        || m.kind() == Some("Component")
            && m.api_version()
                .is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
}

impl<'a> Kustomization<'a> {
    pub fn read(manifest: &'a Manifest) -> Kustomization<'a> {
        let dir = manifest
            .path
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string());
        let node = &manifest.node;
        let mut k = Kustomization {
            manifest,
            dir,
            namespace: node.str_at(&["namespace"]),
            entries: Vec::new(),
        };
        for (field, used_as) in [
            ("resources", Use::Resource),
            ("crds", Use::Resource),
            ("components", Use::Component),
            ("patchesStrategicMerge", Use::Patch),
            ("generators", Use::Plugin),
            ("transformers", Use::Plugin),
            ("validators", Use::Plugin),
        ] {
            for item in seq(node.get(field)) {
                k.add_path(item, used_as);
            }
        }
        for field in ["patches", "patchesJson6902"] {
            for item in seq(node.get(field)) {
                if let Some(p) = item.get("path") {
                    k.add_path(p, Use::Patch);
                }
            }
        }
        for chart in seq(node.get("helmCharts")) {
            if let Some(v) = chart.get("valuesFile") {
                k.add_path(v, Use::Values);
            }
            for v in seq(chart.get("additionalValuesFiles")) {
                k.add_path(v, Use::Values);
            }
        }
        for field in ["configMapGenerator", "secretGenerator"] {
            for gen in seq(node.get(field)) {
                for f in seq(gen.get("files")) {
                    k.add_path(f, Use::GeneratorInput);
                }
                for f in seq(gen.get("envs")) {
                    k.add_path(f, Use::GeneratorInput);
                }
                if let Some(f) = gen.get("env") {
                    k.add_path(f, Use::GeneratorInput);
                }
            }
        }
        k
    }

    fn add_path(&mut self, node: &'a Node, used_as: Use) {
        let Some(raw) = node.as_str() else { return };
        // An inline patch or plugin configuration, not a path.
        if raw.contains('\n') {
            return;
        }
        // `key=path` in generator `files`.
        let path = match used_as {
            Use::GeneratorInput => raw.split_once('=').map_or(raw, |(_, p)| p),
            _ => raw,
        };
        self.entries.push(Entry {
            used_as,
            raw: raw.to_string(),
            node,
            target: resolve(&self.dir, path),
        });
    }

    /// The local files and directories this kustomization names.
    pub fn local(&self) -> impl Iterator<Item = (&Entry<'a>, &str)> {
        self.entries.iter().filter_map(|e| match &e.target {
            Target::Local(p) => Some((e, p.as_str())),
            _ => None,
        })
    }
}

fn seq(node: Option<&Node>) -> &[Node] {
    node.and_then(Node::as_seq).unwrap_or_default()
}

/// Resolves `path`, written in a kustomization in `dir`.
pub fn resolve(dir: &str, path: &str) -> Target {
    let path = path.trim();
    if path.contains("://") || path.starts_with("github.com/") || path.contains("?ref=") {
        return Target::Remote;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Target::Outside(path.to_string());
                }
            }
            p => parts.push(p),
        }
    }
    Target::Local(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_by_one_rule() {
        assert_eq!(resolve("db", "c.yaml"), Target::Local("db/c.yaml".into()));
        assert_eq!(resolve("db", "./c.yaml"), Target::Local("db/c.yaml".into()));
        assert_eq!(resolve("a/b", "../c/"), Target::Local("a/c".into()));
        assert_eq!(resolve("", "sub"), Target::Local("sub".into()));
        assert_eq!(resolve("a", "../../x"), Target::Outside("../../x".into()));
        assert_eq!(
            resolve("a", "https://github.com/x/y//base?ref=v1"),
            Target::Remote
        );
        assert_eq!(resolve("a", "github.com/x/y/base?ref=v1"), Target::Remote);
    }
}
