//! Talking to the cluster of a kubeconfig context, with kubectl's
//! conventions: `--kubeconfig` (else `KUBECONFIG`, else ~/.kube/config)
//! and `--context` (else the current context) — and never a silent fall
//! back to in-cluster credentials (`Config::infer` does that).
//!
//! Errors are typed at this boundary ([`ClusterError`]), from kube's error
//! variants and the API's `Status` reason, so that callers branch on what
//! happened (unreachable, forbidden, not found, conflict, timeout) instead
//! of searching messages; each is phrased for a person by `Display`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Which cluster to talk to.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// What went wrong talking to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    /// No usable kubeconfig or context.
    Config(String),
    /// The API server did not answer (refused, unresolvable, TLS failure).
    Unreachable { server: String, detail: String },
    /// The server did not answer in time.
    Timeout { server: String, what: String },
    /// 401: the credentials were not accepted.
    Unauthorized { server: String, message: String },
    /// 403: RBAC refused the request.
    Forbidden { message: String },
    /// 404.
    NotFound { message: String },
    /// 409: `AlreadyExists`, or `Conflict` (a precondition or a
    /// resourceVersion did not match, a field manager conflict).
    Conflict { reason: String, message: String },
    /// 422: the object was rejected (schema, admission).
    Invalid { message: String },
    /// Anything else the server answered.
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    /// The answer could not be read.
    Protocol(String),
}

impl ClusterError {
    /// Classifies a kube error; `server` and `what` (e.g. "list CRDs") are
    /// for messages.
    pub fn from_kube(err: &kube::Error, server: &str, what: &str) -> ClusterError {
        match err {
            kube::Error::Api(status) => {
                let message = status.message.clone();
                match (status.code, status.reason.as_str()) {
                    (401, _) => ClusterError::Unauthorized {
                        server: server.into(),
                        message,
                    },
                    (403, _) => ClusterError::Forbidden { message },
                    (404, _) => ClusterError::NotFound { message },
                    (409, reason) => ClusterError::Conflict {
                        reason: if reason.is_empty() {
                            "Conflict".into()
                        } else {
                            reason.into()
                        },
                        message,
                    },
                    (422, _) => ClusterError::Invalid { message },
                    (504, _) | (_, "Timeout") => ClusterError::Timeout {
                        server: server.into(),
                        what: what.into(),
                    },
                    (code, reason) => ClusterError::Api {
                        code,
                        reason: reason.into(),
                        message,
                    },
                }
            }
            kube::Error::SerdeError(e) => ClusterError::Protocol(e.to_string()),
            kube::Error::FromUtf8(e) => ClusterError::Protocol(e.to_string()),
            kube::Error::LinesCodecMaxLineLengthExceeded => {
                ClusterError::Protocol("an answer line is too long".into())
            }
            kube::Error::InferConfig(e) => ClusterError::Config(e.to_string()),
            kube::Error::InferKubeconfig(e) => ClusterError::Config(e.to_string()),
            kube::Error::Auth(e) => ClusterError::Config(e.to_string()),
            other => {
                if io_kind(other) == Some(std::io::ErrorKind::TimedOut) {
                    ClusterError::Timeout {
                        server: server.into(),
                        what: what.into(),
                    }
                } else {
                    ClusterError::Unreachable {
                        server: server.into(),
                        detail: innermost(other),
                    }
                }
            }
        }
    }

    /// A short name of the kind of failure, for journals and JSON events.
    pub fn kind(&self) -> &'static str {
        match self {
            ClusterError::Config(_) => "config",
            ClusterError::Unreachable { .. } => "unreachable",
            ClusterError::Timeout { .. } => "timeout",
            ClusterError::Unauthorized { .. } => "unauthorized",
            ClusterError::Forbidden { .. } => "forbidden",
            ClusterError::NotFound { .. } => "not-found",
            ClusterError::Conflict { .. } => "conflict",
            ClusterError::Invalid { .. } => "invalid",
            ClusterError::Api { .. } => "api",
            ClusterError::Protocol(_) => "protocol",
        }
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Config(m) => write!(f, "{m}"),
            ClusterError::Unreachable { server, detail } => {
                write!(f, "the cluster at {server} is unreachable ({detail})")
            }
            ClusterError::Timeout { server, what } => {
                write!(
                    f,
                    "the cluster at {server} did not answer in time when trying to {what}"
                )
            }
            ClusterError::Unauthorized { server, message } => write!(
                f,
                "the cluster at {server} did not accept our credentials (401 Unauthorized){}",
                colon(message)
            ),
            ClusterError::Forbidden { message } => {
                write!(f, "refused by RBAC (403 Forbidden): {message}")
            }
            ClusterError::NotFound { message } => write!(f, "not found (404){}", colon(message)),
            ClusterError::Conflict { reason, message } => {
                write!(f, "{reason} (409){}", colon(message))
            }
            ClusterError::Invalid { message } => {
                write!(f, "the object was rejected (422 Invalid): {message}")
            }
            ClusterError::Api {
                code,
                reason,
                message,
            } => write!(f, "the API answered {code} {reason}{}", colon(message)),
            ClusterError::Protocol(m) => write!(f, "could not read the API's answer: {m}"),
        }
    }
}

fn colon(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The kind of the first I/O error in a chain of sources.
fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = e.source();
    }
    None
}

/// The message of the deepest source: "Connection refused (os error 111)"
/// rather than layers of wrapping.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The kubeconfig of `target`, read as kubectl reads it.
pub fn kubeconfig(target: &Target) -> Result<Kubeconfig, ClusterError> {
    match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(|e| {
            ClusterError::Config(format!("cannot read kubeconfig {}: {e}", path.display()))
        }),
        None => Kubeconfig::read().map_err(|e| {
            ClusterError::Config(format!(
                "no kubeconfig (set KUBECONFIG or pass --kubeconfig): {e}"
            ))
        }),
    }
}

/// The client configuration of `target`, with timeouts. `retry` turns
/// kube's retries of 429/503/504 on or off: reads may retry, mutating
/// requests never do (a retried POST could create twice).
pub async fn config(target: &Target, retry: bool) -> Result<Config, ClusterError> {
    let kubeconfig = kubeconfig(target)?;
    config_from(kubeconfig, target.context.clone(), retry).await
}

pub async fn config_from(
    kubeconfig: Kubeconfig,
    context: Option<String>,
    retry: bool,
) -> Result<Config, ClusterError> {
    let options = KubeConfigOptions {
        context: context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            let which = context
                .as_deref()
                .map(|c| format!("context `{c}`"))
                .unwrap_or_else(|| "the current context".into());
            ClusterError::Config(format!("cannot use {which} of the kubeconfig: {e}"))
        })?;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    config.write_timeout = Some(Duration::from_secs(60));
    config.default_retry = retry;
    Ok(config)
}

/// A client for `config`, and the server it talks to (for messages).
pub fn client(config: Config) -> Result<(Client, String), ClusterError> {
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config)
        .map_err(|e| ClusterError::Config(format!("cannot set up a client for {server}: {e}")))?;
    Ok((client, server))
}

/// Every CustomResourceDefinition of the cluster, as JSON documents with a
/// shown name (`<server>crds/<name>`), for schema validation.
pub async fn crds(target: &Target) -> Result<Vec<(PathBuf, String)>, ClusterError> {
    let (client, server) = client(config(target, true).await?)?;
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let what = "list CustomResourceDefinitions";
    let list = tokio::time::timeout(Duration::from_secs(90), api.list(&ListParams::default()))
        .await
        .map_err(|_| ClusterError::Timeout {
            server: server.clone(),
            what: what.into(),
        })?
        .map_err(|e| ClusterError::from_kube(&e, &server, what))?;
    list.items
        .iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let json = serde_json::to_string(crd)
                .map_err(|e| ClusterError::Protocol(format!("CRD {name}: {e}")))?;
            Ok((PathBuf::from(format!("{server}crds/{name}")), json))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.into(),
            message: "m".into(),
            ..Default::default()
        }))
    }

    #[test]
    fn statuses_are_classified_by_code_and_reason() {
        let c = |e| ClusterError::from_kube(&e, "https://x/", "do it");
        assert!(matches!(
            c(api(403, "Forbidden")),
            ClusterError::Forbidden { .. }
        ));
        assert!(matches!(
            c(api(404, "NotFound")),
            ClusterError::NotFound { .. }
        ));
        assert_eq!(
            c(api(409, "AlreadyExists")),
            ClusterError::Conflict {
                reason: "AlreadyExists".into(),
                message: "m".into()
            }
        );
        assert!(matches!(
            c(api(422, "Invalid")),
            ClusterError::Invalid { .. }
        ));
        assert!(matches!(
            c(api(504, "Timeout")),
            ClusterError::Timeout { .. }
        ));
        assert!(matches!(
            c(api(503, "ServiceUnavailable")),
            ClusterError::Api { code: 503, .. }
        ));
    }

    #[test]
    fn io_errors_are_unreachable_or_timeout_by_kind() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = ClusterError::from_kube(&kube::Error::ReadEvents(refused), "s", "w");
        assert!(matches!(e, ClusterError::Unreachable { .. }), "{e:?}");
        let slow = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        let e = ClusterError::from_kube(&kube::Error::ReadEvents(slow), "s", "w");
        assert!(matches!(e, ClusterError::Timeout { .. }), "{e:?}");
    }
}
