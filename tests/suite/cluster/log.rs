//! The request log, written when a request arrives (before any fault or
//! delay), so that tests can prove what a client sent: "created once",
//! "only dry-run", "never server-side apply for the recovery Cluster".

use std::time::SystemTime;

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without the leading `?`.
    pub query: String,
    /// Decoded query parameters, in order (empty pairs from `?&` dropped).
    pub params: Vec<(String, String)>,
    pub content_type: String,
    pub accept: String,
    pub user_agent: String,
    /// The body parsed as JSON (or YAML for apply patches), when it parses.
    pub body: Option<Value>,
    pub raw_body: String,
    pub time: SystemTime,
    /// The status code answered (0 while the request is being served).
    pub code: u16,
}

impl LoggedRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `dryRun=All` in the query or, for DELETE, in the body.
    pub fn dry_run(&self) -> bool {
        self.param("dryRun").is_some_and(|v| !v.is_empty())
            || self.body.as_ref().is_some_and(|b| {
                b.get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            })
    }

    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch"), Some("true" | "1"))
    }

    /// A write that is not a dry run.
    pub fn is_mutation(&self) -> bool {
        self.method != "GET" && self.method != "HEAD" && !self.dry_run()
    }

    /// A server-side apply (`application/apply-patch+yaml`).
    pub fn is_apply(&self) -> bool {
        self.method == "PATCH" && self.content_type.starts_with("application/apply-patch")
    }
}
