//! One runbook step, parsed from a runnable code block.
//!
//! ```` ```bash {run name=check-backups readonly} ```` — a shell script,
//! run with `bash -euo pipefail` from the repository root. `readonly` says
//! it changes nothing; `idempotent` that it changes things but running it
//! twice does no harm (it checks before it acts). Either way, resuming a
//! run that stopped inside it runs it again without asking; any other
//! shell step makes `--resume` ask the operator whether it took effect.
//!
//! ```` ```yaml {run action=VERB name=NAME [destructive] [wait=gone] [troubleshoot="#anchor"]} ````
//! — a Kubernetes action on the object the YAML names (`apiVersion`,
//! `kind`, `metadata.name`, `metadata.namespace`), or on a set of objects
//! (`selector:` with a label selector instead of a name):
//!
//! - `create`: POST the object (never apply: a recovery Cluster must be
//!   created, its bootstrap is read only then);
//! - `apply`: server-side apply, field manager `docs`;
//! - `delete`: delete it; with `wait=gone`, until it is really gone;
//! - `patch`: a JSON merge patch (the YAML, where `null` removes a key);
//! - `assert`: GET it and check `assert:` — a list of `path:` with
//!   `exists: true|false`, `equals: V`, `matches: REGEX` or `in: [V, …]`;
//!   over a `selector:` set, `count: N` or `min: N` (default `min: 1`)
//!   count the objects for which every check holds;
//! - `wait`: watch until `for:` holds — `condition=Ready` (`=False`…),
//!   `jsonpath={.status.phase}=completed`, or `delete` — within `timeout:`
//!   (default 5m), failing fast when a `fail-if:` item holds, on the waited
//!   object or on a related one (`apiVersion`, `kind`, `name` given).
//!
//! Paths are the paths of `select=` (`status.conditions[type=Ready].status`).

use std::time::Duration;

use serde_json::Value as J;

use crate::content::outline::CodeBlock;
use crate::content::Page;
use crate::error::Location;
use crate::yaml::path::{self, Step as PathStep};
use crate::yaml::{self, Node};

#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based, as the site numbers it.
    pub number: usize,
    pub name: String,
    /// Line of the fence in the page's file, and its indentation.
    pub line: usize,
    pub indent: usize,
    /// Deletes or replaces data: asks for confirmation.
    pub destructive: bool,
    /// The guide's section to read when it fails (`#anchor`).
    pub troubleshoot: Option<String>,
    /// The block's rendered text: what is shown, journaled and executed.
    pub text: String,
    /// The block is a template: its lines are generated, not the file's.
    pub templated: bool,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Shell {
        /// Changes nothing: safe to run again on resume.
        readonly: bool,
        /// Changes things, but running it again does no harm.
        idempotent: bool,
        timeout: Option<Duration>,
    },
    Kube(Box<Action>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Apply,
    Delete,
    Patch,
    Assert,
    Wait,
}

impl Verb {
    pub const ALL: [Verb; 6] = [
        Verb::Create,
        Verb::Apply,
        Verb::Delete,
        Verb::Patch,
        Verb::Assert,
        Verb::Wait,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Apply => "apply",
            Verb::Delete => "delete",
            Verb::Patch => "patch",
            Verb::Assert => "assert",
            Verb::Wait => "wait",
        }
    }

    pub fn parse(s: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the verb changes the cluster.
    pub fn mutating(self) -> bool {
        matches!(
            self,
            Verb::Create | Verb::Apply | Verb::Delete | Verb::Patch
        )
    }

    /// Whether the step's YAML is an object (validated against the schema).
    pub fn takes_object(self) -> bool {
        matches!(self, Verb::Create | Verb::Apply)
    }
}

/// Which object (or set of objects) an action addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// A label selector (`cnpg.io/cluster=immich-database`), instead of a name.
    pub selector: Option<String>,
}

impl Target {
    /// `Cluster cloudnative-pg/immich-database`, or
    /// `PersistentVolumeClaims in cloudnative-pg with cnpg.io/cluster=x`.
    pub fn describe(&self) -> String {
        let ns = self.namespace.as_deref();
        match (&self.name, &self.selector) {
            (Some(n), _) => match ns {
                Some(ns) => format!("{} {ns}/{n}", self.kind),
                None => format!("{} {n}", self.kind),
            },
            (None, sel) => {
                let mut s = format!("every {}", self.kind);
                if let Some(ns) = ns {
                    s.push_str(&format!(" in {ns}"));
                }
                if let Some(sel) = sel {
                    s.push_str(&format!(" with {sel}"));
                }
                s
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Action {
    pub verb: Verb,
    pub target: Target,
    /// What is sent: the object (create, apply), the merge patch (patch).
    pub body: J,
    /// The step's YAML with positions, for validation.
    pub node: Node,
    /// `delete` with `wait=gone`.
    pub wait_gone: bool,
    pub assertions: Vec<Assertion>,
    /// `count:` (exact) or `min:` for a selector.
    pub count: Option<Count>,
    pub wait_for: Option<WaitFor>,
    pub fail_if: Vec<FailIf>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(usize),
    AtLeast(usize),
}

#[derive(Debug, Clone)]
pub struct Assertion {
    pub path: Vec<PathStep>,
    pub test: Test,
    /// 1-based line of the item in the block.
    pub line: usize,
}

impl Assertion {
    pub fn path_text(&self) -> String {
        path::render(&self.path)
    }

    /// Whether the assertion holds on `object`; else what was found.
    pub fn check(&self, object: &J) -> Result<(), String> {
        let found = path::select_json(object, &self.path);
        let shown = |v: Option<&J>| v.map_or("nothing".to_string(), |v| v.to_string());
        let ok = match (&self.test, found) {
            (Test::Exists(want), f) => f.is_some_and(|v| !v.is_null()) == *want,
            (Test::Equals(want), Some(v)) => same(v, want),
            (Test::Matches(re), Some(v)) => {
                regex::Regex::new(re).is_ok_and(|r| r.is_match(&scalar_text(v)))
            }
            (Test::In(list), Some(v)) => list.iter().any(|w| same(v, w)),
            (_, None) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "`{}` {}, found {}",
                self.path_text(),
                self.test.describe(),
                shown(found)
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Exists(bool),
    Equals(J),
    Matches(String),
    In(Vec<J>),
}

impl Test {
    pub fn describe(&self) -> String {
        match self {
            Test::Exists(true) => "should exist".into(),
            Test::Exists(false) => "should not exist".into(),
            Test::Equals(v) => format!("should be {v}"),
            Test::Matches(r) => format!("should match /{r}/"),
            Test::In(l) => format!(
                "should be one of {}",
                l.iter().map(J::to_string).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Values compare as the YAML author means them: `"True"` is `True`, and
/// `1` is `1.0`.
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::String(s), J::Bool(v)) | (J::Bool(v), J::String(s)) => {
            s.eq_ignore_ascii_case(if *v { "true" } else { "false" })
        }
        (J::String(s), J::Number(n)) | (J::Number(n), J::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        _ => a == b,
    }
}

fn scalar_text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `condition=Ready` (status `True`), `condition=Ready=False`.
    Condition { type_: String, status: String },
    /// `jsonpath={.status.phase}=completed`; without a value, until it exists.
    Field {
        path: Vec<PathStep>,
        value: Option<String>,
    },
    /// `delete`: until the object (or every object of the set) is gone.
    Delete,
}

impl WaitFor {
    /// The condition as an assertion on the object (not for `Delete`).
    pub fn assertion(&self) -> Option<Assertion> {
        match self {
            WaitFor::Condition { type_, status } => Some(Assertion {
                path: vec![
                    PathStep::Key("status".into()),
                    PathStep::Key("conditions".into()),
                    PathStep::Where("type".into(), type_.clone()),
                    PathStep::Key("status".into()),
                ],
                test: Test::Equals(J::String(status.clone())),
                line: 0,
            }),
            WaitFor::Field { path, value } => Some(Assertion {
                path: path.clone(),
                test: match value {
                    Some(v) => Test::Equals(J::String(v.clone())),
                    None => Test::Exists(true),
                },
                line: 0,
            }),
            WaitFor::Delete => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            WaitFor::Condition { type_, status } if status == "True" => {
                format!("condition {type_}")
            }
            WaitFor::Condition { type_, status } => format!("condition {type_}={status}"),
            WaitFor::Field {
                path,
                value: Some(v),
            } => {
                format!("{} = {v}", path::render(path))
            }
            WaitFor::Field { path, value: None } => format!("{} to exist", path::render(path)),
            WaitFor::Delete => "deletion".into(),
        }
    }
}

/// A state that ends a wait at once, as a failure: on the waited object,
/// or on a related one (the restore Job of a recovering Cluster, say).
#[derive(Debug, Clone)]
pub struct FailIf {
    pub target: Target,
    /// Whether `target` is the waited object itself.
    pub same_object: bool,
    pub assertion: Assertion,
    /// Said when it holds, in the guide's words.
    pub message: Option<String>,
}

/// A step that does not parse, at its place in the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub location: Location,
    pub message: String,
}

impl StepError {
    pub fn at(page: &Page, line: usize, col: usize, message: String) -> StepError {
        StepError {
            location: Location::new(&page.file, line, col),
            message,
        }
    }
}

/// Keys of a kube step's YAML that are about the step, not the object.
const STEP_KEYS: &[&str] = &[
    "assert", "for", "timeout", "fail-if", "selector", "count", "min",
];

impl Step {
    /// The Kubernetes action of the step, if it is one.
    pub fn action(&self) -> Option<&Action> {
        match &self.kind {
            Kind::Kube(a) => Some(a),
            Kind::Shell { .. } => None,
        }
    }

    /// Whether running the step changes anything.
    pub fn mutating(&self) -> bool {
        match &self.kind {
            Kind::Shell { readonly, .. } => !readonly,
            Kind::Kube(a) => a.verb.mutating(),
        }
    }

    /// `shell`, or the action's verb.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Shell { .. } => "shell",
            Kind::Kube(a) => a.verb.as_str(),
        }
    }

    /// Parses a runnable block. Every problem is returned, each at its line.
    pub fn parse(page: &Page, block: &CodeBlock) -> Result<Step, Vec<StepError>> {
        let mut p = Parse {
            page,
            block,
            errors: Vec::new(),
        };
        let step = p.step();
        match step {
            Some(s) if p.errors.is_empty() => Ok(s),
            _ => Err(p.errors),
        }
    }
}

struct Parse<'a> {
    page: &'a Page,
    block: &'a CodeBlock,
    errors: Vec<StepError>,
}

impl Parse<'_> {
    fn fence_error(&mut self, message: String) {
        self.errors.push(StepError::at(
            self.page,
            self.block.line,
            self.block.indent + 1,
            message,
        ));
    }

    /// An error at a node of the block (at the fence for generated text).
    fn node_error(&mut self, node: &Node, message: String) {
        let (line, col) = if self.block.info.flag("template") {
            (self.block.line, self.block.indent + 1)
        } else {
            (self.block.line + node.line, self.block.indent + node.col)
        };
        self.errors
            .push(StepError::at(self.page, line, col, message));
    }

    fn step(&mut self) -> Option<Step> {
        let info = &self.block.info;
        let number = self.block.step?;
        let name = match info.get("name") {
            Some(n) if valid_name(n) => n.to_string(),
            Some(n) => {
                self.fence_error(format!(
                    "step name `{n}`: use lower-case letters, digits and `-` (it is typed in `docs run --only NAME`)"
                ));
                return None;
            }
            None => {
                self.fence_error(format!(
                    "step {number} has no `name=`: every step needs a unique name (`docs run --only NAME`)"
                ));
                return None;
            }
        };
        let troubleshoot = info.get("troubleshoot").map(str::to_string);
        if let Some(t) = &troubleshoot {
            if !t.starts_with('#') && !t.contains(".md") {
                self.fence_error(format!(
                    "`troubleshoot=\"{t}\"` must be an anchor of the page (`#section`) or a page (`other.md#section`)"
                ));
            }
        }
        let timeout = match info.get("timeout") {
            Some(t) => match parse_duration(t) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.fence_error(format!("`timeout={t}`: {e}"));
                    None
                }
            },
            None => None,
        };
        let lang = info.lang.to_ascii_lowercase();
        let kind = match (info.get("action"), lang.as_str()) {
            (None, "bash" | "sh" | "shell") => {
                if info.get("wait").is_some() {
                    self.fence_error("`wait=` is for `delete` steps, not shell steps".into());
                }
                Kind::Shell {
                    readonly: info.flag("readonly"),
                    idempotent: info.flag("idempotent"),
                    timeout,
                }
            }
            (None, other) => {
                self.fence_error(format!(
                    "a runnable `{}` block needs `action=` (one of: {}); shell steps are `bash` or `sh` blocks",
                    if other.is_empty() { "(no language)" } else { other },
                    verbs()
                ));
                return None;
            }
            (Some(a), _) => {
                let Some(verb) = Verb::parse(a) else {
                    let hint = crate::suggest::closest(a, Verb::ALL.iter().map(|v| v.as_str()))
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.fence_error(format!(
                        "unknown runbook action `{a}` (one of: {}){hint}",
                        verbs()
                    ));
                    return None;
                };
                if lang != "yaml" && lang != "yml" {
                    self.fence_error(format!(
                        "`action={a}` takes a yaml block, not `{}`",
                        info.lang
                    ));
                    return None;
                }
                if info.flag("readonly") {
                    self.fence_error(
                        "`readonly` is for shell steps; Kubernetes actions say what they change"
                            .into(),
                    );
                }
                Kind::Kube(Box::new(self.action(verb)?))
            }
        };
        let destructive =
            info.flag("destructive") || matches!(&kind, Kind::Kube(a) if a.verb == Verb::Delete);
        Some(Step {
            number,
            name,
            line: self.block.line,
            indent: self.block.indent,
            destructive,
            troubleshoot,
            text: self.block.code.clone(),
            templated: info.flag("template"),
            kind,
        })
    }

    fn action(&mut self, verb: Verb) -> Option<Action> {
        let docs = match yaml::parse(&self.block.code) {
            Ok(d) => d,
            Err(e) => {
                let line = e.line.clamp(1, self.block.code.lines().count().max(1));
                let at = Node {
                    value: yaml::Value::Null,
                    line,
                    col: e.col,
                    end_line: line + 1,
                    quoted: false,
                };
                self.node_error(
                    &at,
                    format!("the step's YAML does not parse: {}", e.message),
                );
                return None;
            }
        };
        let [doc] = docs.as_slice() else {
            self.fence_error(format!(
                "a `{}` step takes exactly one object, found {} YAML documents",
                verb.as_str(),
                docs.len()
            ));
            return None;
        };
        let node = doc.root.clone();
        let Some(pairs) = node.as_map() else {
            self.node_error(
                &node,
                "the step's YAML must be a mapping (an object)".into(),
            );
            return None;
        };
        let allowed: &[&str] = match verb {
            Verb::Create | Verb::Apply | Verb::Patch | Verb::Delete => &[],
            Verb::Assert => &["assert", "selector", "count", "min"],
            Verb::Wait => &["for", "timeout", "fail-if", "selector"],
        };
        let mut object = serde_json::Map::new();
        for (k, v) in pairs {
            let key = k.as_str().unwrap_or_default();
            if STEP_KEYS.contains(&key) {
                if !allowed.contains(&key) {
                    self.node_error(
                        k,
                        format!("`{key}:` is not part of a `{}` step", verb.as_str()),
                    );
                }
            } else {
                object.insert(key.to_string(), v.to_json());
            }
        }
        let target = self.target(&node, verb)?;
        let mut action = Action {
            verb,
            target,
            body: J::Object(object),
            node: node.clone(),
            wait_gone: false,
            assertions: Vec::new(),
            count: None,
            wait_for: None,
            fail_if: Vec::new(),
            timeout: None,
        };
        match self.block.info.get("wait") {
            Some("gone") if verb == Verb::Delete => action.wait_gone = true,
            Some(w) => self.fence_error(format!(
                "`wait={w}`: only `delete` steps take `wait=gone` (use `action=wait` to wait for a state)"
            )),
            None => {}
        }
        match verb {
            Verb::Assert => {
                match node.get("assert") {
                    Some(list) => action.assertions = self.assertions(list),
                    None if action.target.selector.is_some() => {}
                    None => self.fence_error(
                        "an `assert` step needs `assert:`, a list of `path:` checks".into(),
                    ),
                }
                action.count = self.count(&node);
            }
            Verb::Wait => {
                action.wait_for = self.wait_for(&node);
                action.timeout = match node.get("timeout") {
                    Some(t) => match scalar(t).as_deref().map(parse_duration) {
                        Some(Ok(d)) => Some(d),
                        Some(Err(e)) => {
                            self.node_error(t, format!("`timeout`: {e}"));
                            None
                        }
                        None => None,
                    },
                    None => None,
                };
                if let Some(list) = node.get("fail-if") {
                    action.fail_if = self.fail_if(list, &action.target);
                }
            }
            _ => {}
        }
        Some(action)
    }

    fn target(&mut self, node: &Node, verb: Verb) -> Option<Target> {
        let mut ok = true;
        let mut need = |this: &mut Self, path: &[&str]| -> Option<String> {
            match node.at(path) {
                Some(n) => match n.as_str() {
                    Some(s) if !s.is_empty() => Some(s.to_string()),
                    _ => {
                        this.node_error(n, format!("`{}` must be a string", path.join(".")));
                        ok = false;
                        None
                    }
                },
                None => None,
            }
        };
        let api_version = need(self, &["apiVersion"]);
        let kind = need(self, &["kind"]);
        let name = need(self, &["metadata", "name"]);
        let namespace = need(self, &["metadata", "namespace"]);
        let selector = need(self, &["selector"]);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            self.fence_error(format!(
                "a `{}` step must name its object: `apiVersion` and `kind` are required",
                verb.as_str()
            ));
            return None;
        };
        match (&name, &selector) {
            (Some(_), Some(_)) => self.fence_error(
                "name one object (`metadata.name`) or a set (`selector:`), not both".into(),
            ),
            (None, None) => self.fence_error(format!(
                "a `{}` step must name its object: `metadata.name` is missing{}",
                verb.as_str(),
                if matches!(verb, Verb::Assert | Verb::Wait) {
                    " (or give a `selector:` for a set)"
                } else {
                    ""
                }
            )),
            (None, Some(_)) if !matches!(verb, Verb::Assert | Verb::Wait) => {
                self.fence_error(format!(
                    "`selector:` addresses a set of objects, which only `assert` and `wait` steps take, not `{}`",
                    verb.as_str()
                ))
            }
            _ => {}
        }
        if let Some(sel) = &selector {
            if let Err(e) = check_selector(sel) {
                self.fence_error(format!("`selector: {sel}`: {e}"));
            }
        }
        ok.then_some(Target {
            api_version,
            kind,
            namespace,
            name,
            selector,
        })
    }

    fn assertions(&mut self, list: &Node) -> Vec<Assertion> {
        let Some(items) = list.as_seq() else {
            self.node_error(list, "`assert:` is a list of checks (`- path: …`)".into());
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| self.assertion(i, &[]))
            .collect()
    }

    /// `path:` and one test; `extra` keys are allowed besides them.
    fn assertion(&mut self, item: &Node, extra: &[&str]) -> Option<Assertion> {
        let Some(pairs) = item.as_map() else {
            self.node_error(
                item,
                "a check is a mapping: `path:` and one of `exists`, `equals`, `matches`, `in`"
                    .into(),
            );
            return None;
        };
        let mut path_steps = None;
        let mut test = None;
        for (k, v) in pairs {
            let key = k.as_str().unwrap_or_default();
            let t = match key {
                "path" => {
                    match scalar(v).map(|p| path::parse(&p)) {
                        Some(Ok(p)) if !p.is_empty() => path_steps = Some(p),
                        Some(Ok(_)) => self.node_error(v, "`path` is empty".into()),
                        Some(Err(e)) => self.node_error(v, format!("`path`: {e}")),
                        None => self.node_error(v, "`path` must be a string".into()),
                    }
                    continue;
                }
                "exists" => match v.value {
                    yaml::Value::Bool(b) => Test::Exists(b),
                    _ => {
                        self.node_error(v, "`exists` is `true` or `false`".into());
                        continue;
                    }
                },
                "equals" => Test::Equals(v.to_json()),
                "matches" => match scalar(v) {
                    Some(r) => match regex::Regex::new(&r) {
                        Ok(_) => Test::Matches(r),
                        Err(e) => {
                            self.node_error(v, format!("`matches`: not a regular expression: {e}"));
                            continue;
                        }
                    },
                    None => {
                        self.node_error(v, "`matches` takes a regular expression".into());
                        continue;
                    }
                },
                "in" => match v.as_seq() {
                    Some(list) => Test::In(list.iter().map(Node::to_json).collect()),
                    None => {
                        self.node_error(v, "`in` takes a list of values".into());
                        continue;
                    }
                },
                other if extra.contains(&other) => continue,
                other => {
                    let mut known = vec!["path", "exists", "equals", "matches", "in"];
                    known.extend_from_slice(extra);
                    let hint = crate::suggest::closest(other, known.iter().copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.node_error(k, format!("unknown key `{other}` in a check{hint}"));
                    continue;
                }
            };
            if test.is_some() {
                self.node_error(
                    k,
                    "one test per check: `exists`, `equals`, `matches` or `in`".into(),
                );
            }
            test = Some(t);
        }
        match (path_steps, test) {
            (Some(path), Some(test)) => Some(Assertion {
                path,
                test,
                line: item.line,
            }),
            (None, _) => {
                self.node_error(item, "a check needs `path:`".into());
                None
            }
            (_, None) => {
                self.node_error(
                    item,
                    "a check needs a test: `exists`, `equals`, `matches` or `in`".into(),
                );
                None
            }
        }
    }

    fn count(&mut self, node: &Node) -> Option<Count> {
        let get = |this: &mut Self, key: &str| -> Option<usize> {
            let n = node.get(key)?;
            match n.value {
                yaml::Value::Int(i) if i >= 0 => Some(i as usize),
                _ => {
                    this.node_error(n, format!("`{key}` is a number of objects"));
                    None
                }
            }
        };
        let (exact, min) = (get(self, "count"), get(self, "min"));
        let has_selector = node.get("selector").is_some();
        if (exact.is_some() || min.is_some()) && !has_selector {
            self.fence_error("`count`/`min` count the objects of a `selector:`".into());
        }
        match (exact, min) {
            (Some(_), Some(_)) => {
                self.fence_error("give `count` (exactly) or `min` (at least), not both".into());
                None
            }
            (Some(n), None) => Some(Count::Exactly(n)),
            (None, Some(n)) => Some(Count::AtLeast(n)),
            (None, None) => has_selector.then_some(Count::AtLeast(1)),
        }
    }

    fn wait_for(&mut self, node: &Node) -> Option<WaitFor> {
        let Some(f) = node.get("for") else {
            self.fence_error("a `wait` step needs `for:` (`condition=Ready`, `jsonpath={.status.phase}=completed` or `delete`)".into());
            return None;
        };
        let Some(text) = scalar(f) else {
            self.node_error(f, "`for` is text such as `condition=Ready`".into());
            return None;
        };
        match parse_wait_for(&text) {
            Ok(w) => Some(w),
            Err(e) => {
                self.node_error(f, format!("`for: {text}`: {e}"));
                None
            }
        }
    }

    fn fail_if(&mut self, list: &Node, waited: &Target) -> Vec<FailIf> {
        let Some(items) = list.as_seq() else {
            self.node_error(list, "`fail-if:` is a list of checks".into());
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(assertion) = self.assertion(
                item,
                &["apiVersion", "kind", "name", "namespace", "message"],
            ) else {
                continue;
            };
            let s = |k: &str| item.str_at(&[k]).map(str::to_string);
            let related = s("kind").is_some() || s("name").is_some();
            let target = if related {
                match (s("apiVersion"), s("kind"), s("name")) {
                    (Some(api_version), Some(kind), Some(name)) => Target {
                        api_version,
                        kind,
                        namespace: s("namespace").or_else(|| waited.namespace.clone()),
                        name: Some(name),
                        selector: None,
                    },
                    _ => {
                        self.node_error(
                            item,
                            "a related object needs `apiVersion`, `kind` and `name`".into(),
                        );
                        continue;
                    }
                }
            } else {
                waited.clone()
            };
            out.push(FailIf {
                target,
                same_object: !related,
                assertion,
                message: s("message"),
            });
        }
        out
    }
}

fn verbs() -> String {
    Verb::ALL
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !n.starts_with('-')
        && !n.bytes().all(|b| b.is_ascii_digit())
}

/// A scalar as text (`5m`, `condition=Ready`, `true`).
fn scalar(n: &Node) -> Option<String> {
    match &n.value {
        yaml::Value::Str(s) => Some(s.clone()),
        yaml::Value::Int(i) => Some(i.to_string()),
        yaml::Value::Float(f) => Some(f.to_string()),
        yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `condition=Ready`, `condition=Ready=False`, `jsonpath={.status.phase}=x`,
/// `delete` — kubectl wait's `--for` forms.
pub fn parse_wait_for(text: &str) -> Result<WaitFor, String> {
    let text = text.trim();
    if text == "delete" {
        return Ok(WaitFor::Delete);
    }
    if let Some(c) = text.strip_prefix("condition=") {
        let (type_, status) = c.split_once('=').unwrap_or((c, "True"));
        if type_.is_empty() || status.is_empty() {
            return Err("expected `condition=TYPE` or `condition=TYPE=STATUS`".into());
        }
        return Ok(WaitFor::Condition {
            type_: type_.to_string(),
            status: status.to_string(),
        });
    }
    if let Some(j) = text.strip_prefix("jsonpath=") {
        let j = j
            .strip_prefix('{')
            .ok_or("expected `jsonpath={.path}=value`")?;
        let close = j.find('}').ok_or("`{` without `}`")?;
        let p = j[..close].trim_start_matches('.');
        let rest = &j[close + 1..];
        let value = match rest.strip_prefix('=') {
            Some(v) => Some(v.trim_matches(['"', '\'']).to_string()),
            None if rest.is_empty() => None,
            None => return Err(format!("unexpected `{rest}` after the path")),
        };
        let path = path::parse(p)?;
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        return Ok(WaitFor::Field { path, value });
    }
    Err("expected `condition=TYPE`, `jsonpath={.path}=value` or `delete`".into())
}

/// `30s`, `5m`, `2h`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("`{t}` is not a duration (like `30s`, `5m`, `2h`, `1h30m`)");
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(d);
    }
    Ok(total)
}

/// A label selector as the API takes it: `k=v`, `k==v`, `k!=v`,
/// `k in (a,b)`, `k notin (a)`, `k`, `!k`, separated by commas.
pub fn check_selector(sel: &str) -> Result<(), String> {
    let key_ok = |k: &str| {
        let k = k.trim();
        !k.is_empty()
            && k.len() <= 317
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    };
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in sel.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&sel[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&sel[start..]);
    for part in parts {
        let p = part.trim();
        let ok = if let Some((k, _)) = p
            .split_once("!=")
            .or_else(|| p.split_once("=="))
            .or_else(|| p.split_once('='))
        {
            key_ok(k)
        } else if let Some((k, _)) = p.split_once(" notin ").or_else(|| p.split_once(" in ")) {
            key_ok(k)
        } else {
            key_ok(p.strip_prefix('!').unwrap_or(p))
        };
        if !ok {
            return Err(format!(
                "`{p}` is not a label requirement (`key=value`, `key in (a,b)`, `key`, `!key`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::outline::Outline;
    use crate::content::{parse_page, Expanded};

    fn steps(body: &str) -> Vec<Result<Step, Vec<StepError>>> {
        let page = parse_page(
            format!("---\nrunbook: true\n---\n{body}").into_bytes(),
            "dr.md",
            "content/dr.md".into(),
        )
        .unwrap();
        let outline = Outline::of(&page, &Expanded::unexpanded(&page.body)).unwrap();
        outline
            .blocks
            .iter()
            .filter(|b| b.step.is_some())
            .map(|b| Step::parse(&page, b))
            .collect()
    }

    fn one(body: &str) -> Step {
        steps(body).remove(0).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn errors(body: &str) -> Vec<String> {
        match steps(body).remove(0) {
            Ok(s) => panic!("parsed: {s:?}"),
            Err(e) => e
                .iter()
                .map(|e| format!("{}: {}", e.location, e.message))
                .collect(),
        }
    }

    #[test]
    fn shell_steps() {
        let s =
            one("```bash {run name=check-backups readonly timeout=5m}\nkubectl get backups\n```\n");
        assert_eq!(s.name, "check-backups");
        assert_eq!(s.kind_name(), "shell");
        assert!(!s.mutating() && !s.destructive);
        assert!(
            matches!(s.kind, Kind::Shell { readonly: true, idempotent: false, timeout: Some(t) } if t == Duration::from_secs(300))
        );
        let s = one("```sh {run name=commit}\ngit push\n```\n");
        assert!(s.mutating(), "shell steps change things unless readonly");
    }

    #[test]
    fn create_delete_patch_take_one_named_object() {
        let s = one("```yaml {run action=create name=make destructive}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ns\ndata:\n  a: b\n```\n");
        let a = s.action().unwrap();
        assert_eq!(a.verb, Verb::Create);
        assert!(s.destructive && s.mutating());
        assert_eq!(a.target.describe(), "ConfigMap ns/c");
        assert_eq!(a.body["data"]["a"], "b");
        let s = one("```yaml {run action=delete wait=gone name=del}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n```\n");
        assert!(s.destructive, "delete is destructive");
        assert!(s.action().unwrap().wait_gone);
        let s = one("```yaml {run action=patch name=p}\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  annotations:\n    x: null\n```\n");
        assert_eq!(
            s.action().unwrap().body["metadata"]["annotations"]["x"],
            J::Null
        );
    }

    #[test]
    fn assert_and_wait_with_selectors_conditions_and_fail_if() {
        let s = one("```yaml {run action=assert name=a}\napiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  namespace: db\nselector: cnpg.io/cluster=x\nmin: 1\nassert:\n  - path: status.phase\n    equals: completed\n  - path: metadata.labels[\"cnpg.io/cluster\"]\n    exists: true\n```\n");
        let a = s.action().unwrap();
        assert_eq!(a.count, Some(Count::AtLeast(1)));
        assert_eq!(a.assertions.len(), 2);
        assert_eq!(a.target.selector.as_deref(), Some("cnpg.io/cluster=x"));
        assert!(
            !a.body.as_object().unwrap().contains_key("assert"),
            "step keys are not the object"
        );
        let ok = serde_json::json!({"status": {"phase": "completed"}, "metadata": {"labels": {"cnpg.io/cluster": "x"}}});
        assert!(a.assertions.iter().all(|x| x.check(&ok).is_ok()));
        let e = a.assertions[0]
            .check(&serde_json::json!({"status": {"phase": "failed"}}))
            .unwrap_err();
        assert_eq!(
            e,
            "`status.phase` should be \"completed\", found \"failed\""
        );

        let s = one("```yaml {run action=wait name=w}\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\nfor: condition=Ready\ntimeout: 2h\nfail-if:\n  - path: status.phase\n    equals: Cluster is unrecoverable and needs manual intervention\n  - apiVersion: batch/v1\n    kind: Job\n    name: db-1-full-recovery\n    path: status.conditions[type=Failed].status\n    equals: \"True\"\n    message: the restore job failed\n```\n");
        let a = s.action().unwrap();
        assert_eq!(a.timeout, Some(Duration::from_secs(7200)));
        assert_eq!(
            a.wait_for,
            Some(WaitFor::Condition {
                type_: "Ready".into(),
                status: "True".into()
            })
        );
        assert!(a.fail_if[0].same_object);
        assert_eq!(a.fail_if[1].target.describe(), "Job ns/db-1-full-recovery");
        assert_eq!(
            a.fail_if[1].message.as_deref(),
            Some("the restore job failed")
        );
        let ready =
            serde_json::json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(a
            .wait_for
            .as_ref()
            .unwrap()
            .assertion()
            .unwrap()
            .check(&ready)
            .is_ok());
    }

    #[test]
    fn mistakes_are_located_errors() {
        let e = errors("```yaml {run action=crate name=x}\na: 1\n```\n");
        assert!(
            e[0].contains("unknown runbook action `crate`")
                && e[0].contains("did you mean `create`?"),
            "{e:?}"
        );
        assert!(e[0].starts_with("content/dr.md:4:1"), "{e:?}");
        let e = errors("```bash {run}\nls\n```\n");
        assert!(e[0].contains("has no `name=`"), "{e:?}");
        let e = errors("```yaml {run action=wait name=w}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nfor: condition\n```\n");
        assert!(
            e.iter()
                .any(|m| m.starts_with("content/dr.md:9:6") && m.contains("`for: condition`")),
            "{e:?}"
        );
        let e = errors("```yaml {run action=assert name=a}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nassert:\n  - path: status.phase\n    equal: Running\n```\n");
        assert!(
            e.iter()
                .any(|m| m.contains("unknown key `equal`") && m.contains("did you mean `equals`?")),
            "{e:?}"
        );
        let e = errors("```yaml {run action=delete name=d}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nfor: delete\n```\n");
        assert!(
            e.iter()
                .any(|m| m.contains("`for:` is not part of a `delete` step")),
            "{e:?}"
        );
        let e = errors("```yaml {run action=create name=c}\n---\na: 1\n---\nb: 2\n```\n");
        assert!(e[0].contains("exactly one object, found 2"), "{e:?}");
        let e = errors("```yaml {run action=delete name=d}\napiVersion: v1\nkind: Pod\nmetadata:\n  namespace: x\nselector: a=b\n```\n");
        assert!(
            e.iter().any(|m| m.contains("only `assert` and `wait`")),
            "{e:?}"
        );
    }

    #[test]
    fn wait_for_forms_durations_and_selectors() {
        assert_eq!(parse_wait_for("delete"), Ok(WaitFor::Delete));
        assert_eq!(
            parse_wait_for("condition=Ready=False"),
            Ok(WaitFor::Condition {
                type_: "Ready".into(),
                status: "False".into()
            })
        );
        match parse_wait_for("jsonpath={.status.phase}=completed").unwrap() {
            WaitFor::Field { path, value } => {
                assert_eq!(path::render(&path), "status.phase");
                assert_eq!(value.as_deref(), Some("completed"));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_wait_for("ready").is_err());
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("m").is_err());
        assert!(check_selector("cnpg.io/cluster=x,app in (a, b),!gone").is_ok());
        assert!(check_selector("a b").is_err());
    }
}
