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
use crate::yaml::Node;

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
        super::parse::step(page, block)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::content::outline::Outline;
    use crate::content::{parse_page, Expanded};

    pub fn steps(body: &str) -> Vec<Result<Step, Vec<StepError>>> {
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

    pub fn one(body: &str) -> Step {
        steps(body).remove(0).unwrap_or_else(|e| panic!("{e:?}"))
    }

    pub fn errors(body: &str) -> Vec<String> {
        match steps(body).remove(0) {
            Ok(s) => panic!("parsed: {s:?}"),
            Err(e) => e
                .iter()
                .map(|e| format!("{}: {}", e.location, e.message))
                .collect(),
        }
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
}
