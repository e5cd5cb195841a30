//! Parsing a runnable code block into a [`Step`]: the fence attributes,
//! the shell script or the Kubernetes action's YAML, every problem
//! reported at its line (the fence line for generated, templated text).

use super::step::{
    Action, Assertion, Count, FailIf, Kind, Step, StepError, Target, Test, Verb, WaitFor,
};
use super::syntax::{check_selector, parse_duration, parse_wait_for};
use crate::content::outline::CodeBlock;
use crate::content::Page;
use crate::yaml::path;
use crate::yaml::{self, Node};
use serde_json::Value as J;

/// Keys of a kube step's YAML that are about the step, not the object.
const STEP_KEYS: &[&str] = &[
    "assert", "for", "timeout", "fail-if", "selector", "count", "min",
];

/// Parses a runnable block. Every problem is returned, each at its line.
pub fn step(page: &Page, block: &CodeBlock) -> Result<Step, Vec<StepError>> {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::step::tests::{errors, one};
    use super::*;

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
}
