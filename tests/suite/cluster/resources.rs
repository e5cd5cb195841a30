//! The kinds the server serves: built-in kinds (Namespace, Secret, Pod...)
//! and every kind of the CRDs it was given, with the names kubectl resolves
//! (plural, singular, short names, `plural.group`) and whether the kind has
//! a status subresource.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Resource {
    pub group: String,
    /// Served versions, the storage (preferred) version first.
    pub versions: Vec<String>,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    /// Has a `status` subresource: status is written only through it.
    pub status: bool,
    /// Extra subresources (e.g. `exec`, `log` for pods).
    pub subresources: Vec<String>,
    /// The CRD's additionalPrinterColumns (of its storage version).
    pub printer_columns: Vec<Value>,
}

impl Resource {
    /// `clusters.postgresql.cnpg.io`, or `pods` for the core group.
    pub fn gr(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn api_version(&self) -> String {
        self.api_version_of(&self.versions[0])
    }

    pub fn api_version_of(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// kubectl's resolution: kind, plural, singular, short name, or any of
    /// them followed by `.group` (case-insensitive).
    pub fn answers_to(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let (base, group) = match name.split_once('.') {
            Some((b, g)) => (b.to_string(), Some(g.to_string())),
            None => (name.clone(), None),
        };
        if let Some(g) = group {
            // `backups.postgresql.cnpg.io`, or `jobs.v1.batch` forms.
            let g = g
                .split_once('.')
                .filter(|(v, _)| self.versions.iter().any(|x| x == v))
                .map_or(g.clone(), |(_, rest)| rest.to_string());
            if g != self.group {
                return false;
            }
        }
        base == self.kind.to_ascii_lowercase()
            || base == self.plural
            || base == self.singular
            || self.short_names.contains(&base)
    }
}

fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short: &[&str],
    namespaced: bool,
    status: bool,
) -> Resource {
    Resource {
        group: group.into(),
        versions: vec![version.into()],
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_ascii_lowercase(),
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: Vec::new(),
        namespaced,
        status,
        subresources: Vec::new(),
        printer_columns: Vec::new(),
    }
}

/// The built-in kinds this server knows.
pub fn builtins() -> Vec<Resource> {
    let mut pod = builtin("", "v1", "Pod", "pods", &["po"], true, true);
    pod.subresources = vec!["exec".into(), "log".into()];
    pod.categories = vec!["all".into()];
    let mut job = builtin("batch", "v1", "Job", "jobs", &[], true, true);
    job.categories = vec!["all".into()];
    let mut deployment = builtin(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        &["deploy"],
        true,
        true,
    );
    deployment.categories = vec!["all".into()];
    let mut crd = builtin(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        &["crd", "crds"],
        false,
        true,
    );
    crd.singular = "customresourcedefinition".into();
    vec![
        builtin("", "v1", "Namespace", "namespaces", &["ns"], false, true),
        builtin("", "v1", "Secret", "secrets", &[], true, false),
        builtin("", "v1", "ConfigMap", "configmaps", &["cm"], true, false),
        builtin(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            &["pvc"],
            true,
            true,
        ),
        pod,
        job,
        deployment,
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            &[],
            true,
            false,
        ),
        crd,
    ]
}

/// The kind a CRD defines (served versions only).
pub fn from_crd(crd: &Value) -> Option<Resource> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut versions = Vec::new();
    let mut status = false;
    let mut printer_columns = Vec::new();
    for v in spec.get("versions")?.as_array()? {
        if v.get("served") == Some(&Value::Bool(false)) {
            continue;
        }
        let name = v.get("name")?.as_str()?.to_string();
        if v.pointer("/subresources/status").is_some() {
            status = true;
        }
        if v.get("storage") == Some(&Value::Bool(true)) {
            printer_columns = v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            versions.insert(0, name);
        } else {
            versions.push(name);
        }
    }
    if versions.is_empty() {
        return None;
    }
    let kind = names.get("kind")?.as_str()?.to_string();
    Some(Resource {
        group: spec.get("group")?.as_str()?.to_string(),
        versions,
        plural: names.get("plural")?.as_str()?.to_string(),
        singular: names
            .get("singular")
            .and_then(Value::as_str)
            .map_or_else(|| kind.to_ascii_lowercase(), String::from),
        kind,
        short_names: strs(names.get("shortNames")),
        categories: strs(names.get("categories")),
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        status,
        subresources: Vec::new(),
        printer_columns,
    })
}

/// Every CRD document (as JSON) in the YAML files under `dir`.
pub fn load_crds(dir: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let Ok(v) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                continue;
            };
            let Ok(json) = serde_json::to_value(v) else {
                continue;
            };
            if json.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition") {
                out.push(json);
            }
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, files);
        } else if p
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            files.push(p);
        }
    }
}
