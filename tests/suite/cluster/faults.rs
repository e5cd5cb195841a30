//! Faults a test switches on while the server runs: RBAC refusals, 500s,
//! slow answers, and (in the server) refused connections, dropped watches
//! and a forced 410 Gone. A rule names a verb (`get`, `list`, `watch`,
//! `create`, `update`, `patch`, `delete`, `deletecollection`) and a
//! resource (plural, e.g. `clusters`), `*` matching any.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Rule {
    pub verb: String,
    pub resource: String,
}

impl Rule {
    pub fn new(verb: &str, resource: &str) -> Rule {
        Rule {
            verb: verb.into(),
            resource: resource.into(),
        }
    }

    pub fn matches(&self, verb: &str, resource: &str) -> bool {
        (self.verb == "*" || self.verb == verb)
            && (self.resource == "*" || self.resource == resource)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub forbidden: Vec<Rule>,
    /// 500s: the rule and how many more (None: until cleared).
    pub errors: Vec<(Rule, Option<u32>)>,
    /// 503 Service Unavailable (what clients retry): rule and how many.
    pub unavailable: Vec<(Rule, Option<u32>)>,
    pub latency: Vec<(Rule, Duration)>,
    /// The next watch request gets an ERROR event 410 Expired.
    pub expire_next_watch: bool,
}

impl Faults {
    pub fn is_forbidden(&self, verb: &str, resource: &str) -> bool {
        self.forbidden.iter().any(|r| r.matches(verb, resource))
    }

    /// The injected error to answer (500 or 503), counting the request
    /// against its rule.
    pub fn take_error(&mut self, verb: &str, resource: &str) -> Option<u16> {
        for (list, code) in [(&mut self.errors, 500), (&mut self.unavailable, 503)] {
            let Some(i) = list.iter().position(|(r, _)| r.matches(verb, resource)) else {
                continue;
            };
            if let Some(n) = &mut list[i].1 {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    list.remove(i);
                }
            }
            return Some(code);
        }
        None
    }

    pub fn delay(&self, verb: &str, resource: &str) -> Duration {
        self.latency
            .iter()
            .filter(|(r, _)| r.matches(verb, resource))
            .map(|(_, d)| *d)
            .max()
            .unwrap_or_default()
    }
}
