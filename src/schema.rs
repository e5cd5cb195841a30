//! Validation against the OpenAPI v3 schemas of CustomResourceDefinitions
//! (and small built-in schemas for core kinds): types, required, enum,
//! pattern, min/max, unknown fields versus
//! `x-kubernetes-preserve-unknown-fields`, and int-or-string.
//! CEL rules (`x-kubernetes-validations`) are not evaluated.
//!
//! The same schemas say whether a field path exists in a kind
//! ([`Schemas::check_path`]), so that a runbook's `status.readyInstance`
//! typo is found by `docs check`, not at 3 a.m.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use regex::Regex;
use serde_json::{json, Value as J};

use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Location, Result};
use crate::yaml::path::Step;
use crate::yaml::{self, Node, Value};

/// Schemas by (group, version, kind). The core group is "".
#[derive(Default)]
pub struct Schemas {
    crds: HashMap<(String, String, String), J>,
    /// Groups that some CRD defines, to tell "unknown kind" from "no CRDs".
    groups: HashMap<String, Vec<String>>,
    regexes: Mutex<HashMap<String, Option<Regex>>>,
    /// Number of CRD files read.
    pub files: usize,
}

impl Schemas {
    /// Reads every CRD under each directory (or file). A YAML document that
    /// is not a CustomResourceDefinition is an error naming its file:line.
    pub fn load(paths: &[PathBuf], root: &Path) -> Result<Schemas> {
        let mut schemas = Schemas::default();
        for p in paths {
            let full = if p.is_absolute() {
                p.clone()
            } else {
                root.join(p)
            };
            let mut files = Vec::new();
            collect(&full, &mut files).map_err(|e| Error::io(p, "read the CRDs", e))?;
            if files.is_empty() {
                return Err(Error::at(
                    Location::file(p),
                    "no CRD files (.yaml, .yml, .json) here",
                ));
            }
            files.sort();
            for f in files {
                let shown = display(&f, root);
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| Error::io(&shown, "read the CRD", e))?;
                schemas.add(&text, &shown)?;
            }
        }
        Ok(schemas)
    }

    /// Adds CRDs fetched from a cluster (JSON, one per document).
    pub fn add_from_cluster(&mut self, crds: &[(PathBuf, String)]) -> Result<()> {
        for (shown, json) in crds {
            self.add(json, shown)?;
        }
        Ok(())
    }

    pub fn add(&mut self, text: &str, shown: &Path) -> Result<()> {
        let docs = yaml::parse(text).map_err(|e| {
            Error::at(
                Location::new(shown, e.line, e.col),
                format!("invalid YAML: {}", e.message),
            )
        })?;
        for doc in docs {
            let root = &doc.root;
            if root.str_at(&["kind"]) != Some("CustomResourceDefinition") {
                let what = root
                    .str_at(&["kind"])
                    .map_or("no kind".to_string(), |k| format!("kind `{k}`"));
                return Err(Error::at(
                    Location::new(shown, doc.line, 1),
                    format!("not a CustomResourceDefinition ({what}); --crds takes directories of CRD files"),
                ));
            }
            let group = root
                .str_at(&["spec", "group"])
                .unwrap_or_default()
                .to_string();
            let kind = root
                .str_at(&["spec", "names", "kind"])
                .unwrap_or_default()
                .to_string();
            for v in root
                .at(&["spec", "versions"])
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                if v.get("served")
                    .is_some_and(|s| s.value == Value::Bool(false))
                {
                    continue;
                }
                let (Some(name), Some(schema)) =
                    (v.str_at(&["name"]), v.at(&["schema", "openAPIV3Schema"]))
                else {
                    continue;
                };
                let schema = serde_json::to_value(schema.to_serde()).unwrap_or(J::Null);
                self.crds
                    .insert((group.clone(), name.to_string(), kind.clone()), schema);
            }
            self.groups.entry(group).or_default().push(kind);
        }
        self.files += 1;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.crds.is_empty()
    }

    /// Validates one object. `loc` turns a node into a location.
    pub fn validate(&self, obj: &Node, loc: &dyn Fn(&Node) -> Location, out: &mut Vec<Diagnostic>) {
        let (Some(api), Some(kind)) = (obj.str_at(&["apiVersion"]), obj.str_at(&["kind"])) else {
            return;
        };
        let (group, version) = split_api_version(api);
        let schema = match self.lookup(api, kind) {
            Lookup::Found(s) => s,
            Lookup::NoVersion => {
                out.push(Diagnostic::warning(
                    Code::SchemaMissing,
                    loc(obj.get("apiVersion").unwrap_or(obj)),
                    format!("`{kind}` has no served version `{version}` in the CRDs of `{group}`, so it was not validated"),
                ));
                return;
            }
            Lookup::NoKind(kinds) => {
                let mut d = Diagnostic::warning(
                    Code::SchemaMissing,
                    loc(obj.get("kind").unwrap_or(obj)),
                    format!("no CRD given defines `{kind}` of `{group}`, so it was not validated"),
                )
                .with_note(format!(
                    "the CRDs of `{group}` define: {}",
                    kinds.join(", ")
                ));
                if let Some(c) = crate::suggest::closest(kind, kinds.iter().map(String::as_str)) {
                    d = d.with_note(format!("did you mean `{c}`?"));
                }
                out.push(d);
                return;
            }
            Lookup::Unknown => return,
        };
        let mut v = Validator {
            schemas: self,
            loc,
            out,
        };
        v.object_meta(obj);
        v.node(obj, &schema, "", true);
    }

    fn lookup(&self, api_version: &str, kind: &str) -> Lookup<'_> {
        let (group, version) = split_api_version(api_version);
        if let Some(s) = self
            .crds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
        {
            return Lookup::Found(Cow::Borrowed(s));
        }
        if let Some(s) = builtin_schema(group, version, kind) {
            return Lookup::Found(Cow::Owned(s));
        }
        match self.groups.get(group) {
            Some(kinds) if kinds.iter().any(|k| k == kind) => Lookup::NoVersion,
            Some(kinds) => Lookup::NoKind(kinds.clone()),
            None => Lookup::Unknown,
        }
    }

    /// Whether `path` names a field of `kind` (`apiVersion` as in the
    /// object). `Ok(false)` when there is no schema to tell; an error says
    /// where the path leaves the schema and which fields exist there.
    pub fn check_path(&self, api_version: &str, kind: &str, path: &[Step]) -> Result<bool, String> {
        let Lookup::Found(schema) = self.lookup(api_version, kind) else {
            return Ok(false);
        };
        let mut cur: &J = &schema;
        for (i, step) in path.iter().enumerate() {
            let done = crate::yaml::path::render(&path[..i]);
            let at = if done.is_empty() {
                format!("`{kind}`")
            } else {
                format!("`{done}`")
            };
            if i == 0
                && matches!(step, Step::Key(k) if k == "metadata" || k == "apiVersion" || k == "kind")
            {
                // ObjectMeta is not in CRD schemas; any of its fields goes.
                return Ok(true);
            }
            if open_schema(cur) {
                return Ok(true);
            }
            cur = match step {
                Step::Key(k) => {
                    let props = cur.get("properties").and_then(J::as_object);
                    match (
                        props.and_then(|p| p.get(k)),
                        cur.get("additionalProperties"),
                    ) {
                        (Some(s), _) => s,
                        (None, Some(s @ J::Object(_))) => s,
                        (None, Some(J::Bool(true))) => return Ok(true),
                        _ => {
                            let known: Vec<&str> = props
                                .map(|p| p.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                            let hint = crate::suggest::closest(k, known.iter().copied())
                                .map(|c| format!("; did you mean `{c}`?"))
                                .unwrap_or_default();
                            return Err(format!(
                                "{at} has no field `{k}`{hint} (its fields: {})",
                                known.join(", ")
                            ));
                        }
                    }
                }
                Step::Index(_) | Step::Where(..) => {
                    let Some(items) = cur.get("items") else {
                        return Err(format!("{at} is not a list"));
                    };
                    if let Step::Where(k, _) = step {
                        let has = items
                            .get("properties")
                            .and_then(J::as_object)
                            .is_none_or(|p| p.contains_key(k));
                        if !has && !open_schema(items) {
                            return Err(format!("the items of {at} have no field `{k}`"));
                        }
                    }
                    items
                }
            };
        }
        Ok(true)
    }

    fn regex(&self, pattern: &str) -> Option<Regex> {
        let mut cache = self.regexes.lock().expect("regex cache");
        cache
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).ok())
            .clone()
    }
}

/// `postgresql.cnpg.io/v1` → (`postgresql.cnpg.io`, `v1`); `v1` → (``, `v1`).
fn split_api_version(api: &str) -> (&str, &str) {
    api.rsplit_once('/').unwrap_or(("", api))
}

enum Lookup<'a> {
    /// A CRD's schema, or a built-in one.
    Found(Cow<'a, J>),
    /// The kind is defined, but not in this version.
    NoVersion,
    /// The group is known, the kind is not (the group's kinds).
    NoKind(Vec<String>),
    /// Nothing is known of the group.
    Unknown,
}

/// A schema that accepts any field below it.
fn open_schema(s: &J) -> bool {
    s.get("x-kubernetes-preserve-unknown-fields") == Some(&J::Bool(true))
        || s.get("x-kubernetes-int-or-string") == Some(&J::Bool(true))
        || (s.get("type").and_then(J::as_str) == Some("object")
            && s.get("properties").is_none()
            && s.get("additionalProperties").is_none())
}

fn display(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if p.is_file() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(p)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
    Ok(())
}

struct Validator<'a> {
    schemas: &'a Schemas,
    loc: &'a dyn Fn(&Node) -> Location,
    out: &'a mut Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, node: &Node, path: &str, msg: String) {
        let at = if path.is_empty() {
            "the object".to_string()
        } else {
            format!("`{path}`")
        };
        self.out.push(Diagnostic::error(
            Code::Schema,
            (self.loc)(node),
            format!("{at}: {msg}"),
        ));
    }

    /// `metadata`: a name (or generateName) that Kubernetes accepts.
    fn object_meta(&mut self, obj: &Node) {
        let Some(meta) = obj.get("metadata") else {
            self.error(obj, "", "`metadata` is required".into());
            return;
        };
        match meta.get("name").or_else(|| meta.get("generateName")) {
            None => self.error(meta, "metadata", "`name` is required".into()),
            Some(n) => match n.as_str() {
                Some(s) if is_dns_subdomain(s) => {}
                Some(s) => self.error(n, "metadata.name", format!("\"{s}\" is not a valid name (lower case letters, digits, `-` and `.`, at most 253)")),
                None => self.error(n, "metadata.name", format!("must be a string, found {}", n.type_name())),
            },
        }
    }

    fn node(&mut self, node: &Node, schema: &J, path: &str, top: bool) {
        if node.value == Value::Null && schema.get("nullable") == Some(&J::Bool(true)) {
            return;
        }
        if schema.get("x-kubernetes-int-or-string") == Some(&J::Bool(true)) {
            if !matches!(node.value, Value::Int(_) | Value::Str(_)) {
                self.error(
                    node,
                    path,
                    format!("must be an integer or a string, found {}", node.type_name()),
                );
            }
            return;
        }
        if let Some(J::String(t)) = schema.get("type") {
            let ok = matches!(
                (t.as_str(), &node.value),
                ("object", Value::Map(_))
                    | ("array", Value::Seq(_))
                    | ("string", Value::Str(_))
                    | ("integer", Value::Int(_))
                    | ("number", Value::Int(_) | Value::Float(_))
                    | ("boolean", Value::Bool(_))
            );
            if !ok {
                let found = match &node.value {
                    Value::Str(s) => format!("the string \"{s}\""),
                    _ => node.type_name().to_string(),
                };
                let hint = if t == "string" && !matches!(node.value, Value::Map(_) | Value::Seq(_))
                {
                    " (quote it)"
                } else {
                    ""
                };
                self.error(
                    node,
                    path,
                    format!("must be {} {t}, found {found}{hint}", article(t)),
                );
                return;
            }
        }
        if let Some(J::Array(values)) = schema.get("enum") {
            let v = serde_json::to_value(node.to_serde()).unwrap_or(J::Null);
            if !values.contains(&v) {
                let allowed: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                self.error(
                    node,
                    path,
                    format!("{} is not one of {}", node.short(), allowed.join(", ")),
                );
            }
        }
        match &node.value {
            Value::Str(s) => self.string(node, s, schema, path),
            Value::Int(_) | Value::Float(_) => self.number(node, schema, path),
            Value::Seq(items) => {
                let len = items.len() as u64;
                self.bounds(
                    node,
                    schema,
                    path,
                    len,
                    ["minItems", "maxItems"],
                    |min| format!("needs at least {min} items, has {len}"),
                    |max| format!("allows at most {max} items, has {len}"),
                );
                if let Some(item) = schema.get("items") {
                    for (i, it) in items.iter().enumerate() {
                        self.node(it, item, &format!("{path}[{i}]"), false);
                    }
                }
            }
            Value::Map(pairs) => self.object(node, pairs, schema, path, top),
            _ => {}
        }
    }

    /// A length against the schema's `[min, max]` keywords.
    #[allow(clippy::too_many_arguments)]
    fn bounds(
        &mut self,
        node: &Node,
        schema: &J,
        path: &str,
        len: u64,
        [min_key, max_key]: [&str; 2],
        too_few: impl Fn(u64) -> String,
        too_many: impl Fn(u64) -> String,
    ) {
        if let Some(min) = schema.get(min_key).and_then(J::as_u64).filter(|m| len < *m) {
            self.error(node, path, too_few(min));
        }
        if let Some(max) = schema.get(max_key).and_then(J::as_u64).filter(|m| len > *m) {
            self.error(node, path, too_many(max));
        }
    }

    fn string(&mut self, node: &Node, s: &str, schema: &J, path: &str) {
        let len = s.chars().count() as u64;
        self.bounds(
            node,
            schema,
            path,
            len,
            ["minLength", "maxLength"],
            |min| format!("must be at least {min} characters"),
            |max| format!("must be at most {max} characters"),
        );
        if let Some(p) = schema.get("pattern").and_then(J::as_str) {
            if let Some(re) = self.schemas.regex(p) {
                if !re.is_match(s) {
                    self.error(
                        node,
                        path,
                        format!("\"{s}\" does not match the pattern `{p}`"),
                    );
                }
            }
        }
    }

    fn number(&mut self, node: &Node, schema: &J, path: &str) {
        let v = match node.value {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            _ => return,
        };
        let excl_min = schema.get("exclusiveMinimum") == Some(&J::Bool(true));
        let excl_max = schema.get("exclusiveMaximum") == Some(&J::Bool(true));
        if let Some(min) = schema.get("minimum").and_then(J::as_f64) {
            if v < min || (excl_min && v == min) {
                self.error(
                    node,
                    path,
                    format!(
                        "must be {} {min}",
                        if excl_min { "more than" } else { "at least" }
                    ),
                );
            }
        }
        if let Some(max) = schema.get("maximum").and_then(J::as_f64) {
            if v > max || (excl_max && v == max) {
                self.error(
                    node,
                    path,
                    format!(
                        "must be {} {max}",
                        if excl_max { "less than" } else { "at most" }
                    ),
                );
            }
        }
    }

    fn object(&mut self, node: &Node, pairs: &[(Node, Node)], schema: &J, path: &str, top: bool) {
        let props = schema.get("properties").and_then(J::as_object);
        if let Some(J::Array(req)) = schema.get("required") {
            for r in req.iter().filter_map(J::as_str) {
                if !pairs.iter().any(|(k, _)| k.as_str() == Some(r)) {
                    let at = if path.is_empty() {
                        r.to_string()
                    } else {
                        format!("{path}.{r}")
                    };
                    self.out.push(Diagnostic::error(
                        Code::Schema,
                        (self.loc)(node),
                        format!("`{at}` is required"),
                    ));
                }
            }
        }
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&J::Bool(true));
        let embedded = schema.get("x-kubernetes-embedded-resource") == Some(&J::Bool(true));
        let additional = schema.get("additionalProperties");
        for (k, v) in pairs {
            let key = k.as_str().unwrap_or_default();
            let child = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            // ObjectMeta is checked by `object_meta`; CRDs only say "object".
            if (top || embedded) && matches!(key, "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match props.and_then(|p| p.get(key)) {
                Some(s) => self.node(v, s, &child, false),
                None => match additional {
                    Some(s @ J::Object(_)) => self.node(v, s, &child, false),
                    Some(J::Bool(true)) => {}
                    // A free-form object (no properties declared) takes anything.
                    _ if preserve || props.is_none() => {}
                    _ => {
                        let known: Vec<&str> = props
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let hint = crate::suggest::closest(key, known.iter().copied())
                            .map(|c| format!("; did you mean `{c}`?"))
                            .unwrap_or_default();
                        self.out.push(Diagnostic::error(
                            Code::Schema,
                            (self.loc)(k),
                            format!("`{child}` is not a known field{hint}"),
                        ));
                    }
                },
            }
        }
    }
}

fn article(t: &str) -> &'static str {
    if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// RFC 1123 subdomain: what most Kubernetes object names must be.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `status.conditions` as Kubernetes kinds write them.
fn conditions() -> J {
    json!({"type": "array", "items": {"type": "object", "properties": {
        "type": {"type": "string"}, "status": {"type": "string"}, "reason": {"type": "string"},
        "message": {"type": "string"}, "lastTransitionTime": {"type": "string"},
        "lastProbeTime": {"type": "string"}}}})
}

/// Required fields and types of the core kinds the kit uses.
fn builtin_schema(group: &str, version: &str, kind: &str) -> Option<J> {
    let map_of_strings = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let quantity = json!({"x-kubernetes-int-or-string": true});
    Some(match (group, version, kind) {
        ("", "v1", "Secret") => json!({"type": "object", "properties": {
            "type": {"type": "string"}, "immutable": {"type": "boolean"},
            "data": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[A-Za-z0-9+/]*={0,2}$"}},
            "stringData": map_of_strings}}),
        ("", "v1", "ConfigMap") => json!({"type": "object", "properties": {
            "data": map_of_strings, "binaryData": map_of_strings, "immutable": {"type": "boolean"}}}),
        ("", "v1", "Namespace") => {
            json!({"type": "object", "properties": {"spec": {"type": "object"}}})
        }
        ("", "v1", "ServiceAccount") => json!({"type": "object", "properties": {
            "secrets": {"type": "array"}, "imagePullSecrets": {"type": "array"}, "automountServiceAccountToken": {"type": "boolean"}}}),
        ("", "v1", "PersistentVolumeClaim") => {
            json!({"type": "object", "required": ["spec"], "properties": {
            "spec": {"type": "object", "required": ["accessModes", "resources"], "properties": {
                "accessModes": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]}},
                "resources": {"type": "object", "required": ["requests"], "properties": {
                    "requests": {"type": "object", "required": ["storage"], "additionalProperties": quantity},
                    "limits": {"type": "object", "additionalProperties": quantity}}},
                "storageClassName": {"type": "string"}, "volumeMode": {"type": "string", "enum": ["Filesystem", "Block"]},
                "volumeName": {"type": "string"}, "selector": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "dataSource": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "dataSourceRef": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "volumeAttributesClassName": {"type": "string"}}},
            "status": {"type": "object", "properties": {
                "phase": {"type": "string"}, "conditions": conditions(),
                "capacity": {"type": "object", "additionalProperties": quantity},
                "accessModes": {"type": "array", "items": {"type": "string"}}}}}})
        }
        ("", "v1", "Service") => json!({"type": "object", "required": ["spec"], "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
                "ports": {"type": "array", "items": {"type": "object", "required": ["port"]}}}}}}),
        ("", "v1", "Pod") => json!({"type": "object", "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"type": "object", "properties": {
                "phase": {"type": "string"}, "message": {"type": "string"}, "reason": {"type": "string"},
                "podIP": {"type": "string"}, "startTime": {"type": "string"},
                "conditions": conditions(),
                "containerStatuses": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}),
        ("batch", "v1", "Job") => json!({"type": "object", "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"type": "object", "properties": {
                "active": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
                "startTime": {"type": "string"}, "completionTime": {"type": "string"},
                "conditions": conditions()}}}}),
        ("coordination.k8s.io", "v1", "Lease") => json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "holderIdentity": {"type": "string"}, "leaseDurationSeconds": {"type": "integer"},
                "acquireTime": {"type": "string"}, "renewTime": {"type": "string"},
                "leaseTransitions": {"type": "integer"}}}}}),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.org\nspec:\n  group: example.org\n  names:\n    kind: Thing\n  versions:\n    - name: v1\n      served: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            spec:\n              type: object\n              required: [size]\n              properties:\n                size:\n                  type: integer\n                  minimum: 1\n                mode:\n                  type: string\n                  enum: [fast, safe]\n                retention:\n                  type: string\n                  pattern: '^[1-9][0-9]*[dwm]$'\n                port:\n                  x-kubernetes-int-or-string: true\n                extra:\n                  type: object\n                  x-kubernetes-preserve-unknown-fields: true\n                labels:\n                  type: object\n                  additionalProperties:\n                    type: string\n";

    fn schemas() -> Schemas {
        let mut s = Schemas::default();
        s.add(CRD, Path::new("crds/thing.yaml")).unwrap();
        s
    }

    #[test]
    fn a_kind_without_a_schema_is_a_warning_not_an_error() {
        let node =
            crate::yaml::parse("apiVersion: example.org/v1\nkind: Thang\nmetadata:\n  name: t\n")
                .unwrap()
                .remove(0)
                .root;
        let mut out = Vec::new();
        schemas().validate(
            &node,
            &|n: &Node| Location::new("m.yaml", n.line, n.col),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, crate::diagnostic::Severity::Warning);
        assert_eq!(out[0].code, Code::SchemaMissing);
        assert!(
            out[0]
                .notes
                .iter()
                .any(|n| n.contains("did you mean `Thing`")),
            "{:?}",
            out[0]
        );
    }

    #[test]
    fn paths_are_checked_against_the_schema() {
        let s = schemas();
        let p = |t: &str| crate::yaml::path::parse(t).unwrap();
        assert_eq!(
            s.check_path("example.org/v1", "Thing", &p("spec.size")),
            Ok(true)
        );
        assert_eq!(
            s.check_path("example.org/v1", "Thing", &p("spec.extra.any.thing")),
            Ok(true)
        );
        assert_eq!(
            s.check_path("example.org/v1", "Thing", &p("spec.labels.x")),
            Ok(true)
        );
        assert_eq!(
            s.check_path(
                "example.org/v1",
                "Thing",
                &p("metadata.annotations[\"a/b\"]")
            ),
            Ok(true)
        );
        let e = s
            .check_path("example.org/v1", "Thing", &p("spec.sise"))
            .unwrap_err();
        assert!(
            e.contains("`spec` has no field `sise`; did you mean `size`?"),
            "{e}"
        );
        let e = s
            .check_path("example.org/v1", "Thing", &p("spec.size[0]"))
            .unwrap_err();
        assert!(e.contains("is not a list"), "{e}");
        assert_eq!(s.check_path("unknown.io/v1", "X", &p("a.b")), Ok(false));
        assert_eq!(
            s.check_path(
                "batch/v1",
                "Job",
                &p("status.conditions[type=Failed].status")
            ),
            Ok(true)
        );
        let e = s
            .check_path(
                "batch/v1",
                "Job",
                &p("status.conditions[kind=Failed].status"),
            )
            .unwrap_err();
        assert!(e.contains("have no field `kind`"), "{e}");
    }

    fn check(obj: &str) -> Vec<String> {
        let mut s = Schemas::default();
        s.add(CRD, Path::new("crds/thing.yaml")).unwrap();
        let node = crate::yaml::parse(obj).unwrap().remove(0).root;
        let mut out = Vec::new();
        s.validate(
            &node,
            &|n: &Node| Location::new("m.yaml", n.line, n.col),
            &mut out,
        );
        out.iter()
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect()
    }

    fn thing(spec: &str) -> String {
        format!("apiVersion: example.org/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n{spec}")
    }

    #[test]
    fn a_valid_object_passes() {
        assert!(check(&thing("  size: 3\n  mode: safe\n  retention: 14d\n  port: http\n  extra:\n    any: [1]\n  labels:\n    a: b\n")).is_empty());
    }

    #[test]
    fn types_required_enum_pattern_minimum_unknown_fields() {
        let errs = check(&thing("  size: \"3\"\n  mode: slow\n  retention: 14 days\n  port: [1]\n  labels:\n    a: 1\n  sise: 2\n"));
        assert_eq!(
            errs,
            [
                "m.yaml:6:9: `spec.size`: must be an integer, found the string \"3\"",
                "m.yaml:7:9: `spec.mode`: \"slow\" is not one of \"fast\", \"safe\"",
                "m.yaml:8:14: `spec.retention`: \"14 days\" does not match the pattern `^[1-9][0-9]*[dwm]$`",
                "m.yaml:9:9: `spec.port`: must be an integer or a string, found array",
                "m.yaml:11:8: `spec.labels.a`: must be a string, found integer (quote it)",
                "m.yaml:12:3: `spec.sise` is not a known field; did you mean `size`?",
            ]
        );
        let errs = check(&thing("  size: 0\n"));
        assert_eq!(errs, ["m.yaml:6:9: `spec.size`: must be at least 1"]);
        let errs = check(&thing("  mode: fast\n"));
        assert_eq!(errs, ["m.yaml:6:3: `spec.size` is required"]);
    }

    #[test]
    fn metadata_name_is_required_and_valid() {
        let errs = check("apiVersion: example.org/v1\nkind: Thing\nmetadata:\n  name: Bad_Name\nspec:\n  size: 1\n");
        assert!(
            errs[0].contains("\"Bad_Name\" is not a valid name"),
            "{errs:?}"
        );
    }

    #[test]
    fn unknown_kind_in_a_known_group_and_builtin_kinds() {
        let errs = check("apiVersion: example.org/v1\nkind: Thang\nmetadata:\n  name: t\n");
        assert!(
            errs[0]
                .contains("no CRD given defines `Thang` of `example.org`, so it was not validated"),
            "{errs:?}"
        );
        let errs = check("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: p\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests: {}\n");
        assert_eq!(
            errs,
            ["m.yaml:8:15: `spec.resources.requests.storage` is required"]
        );
        assert!(
            check("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  A: b\n")
                .is_empty()
        );
        assert!(
            check("apiVersion: unknown.io/v1\nkind: X\nmetadata:\n  name: x\n").is_empty(),
            "no schema, no opinion"
        );
    }

    #[test]
    fn a_file_that_is_not_a_crd_is_an_error() {
        let mut s = Schemas::default();
        let err = s
            .add("apiVersion: v1\nkind: Secret\n", Path::new("crds/x.yaml"))
            .unwrap_err();
        assert_eq!(err.to_string(), "crds/x.yaml:1:1: not a CustomResourceDefinition (kind `Secret`); --crds takes directories of CRD files");
    }
}
