//! Talking to the cluster of the current kubeconfig context, with kubectl's
//! conventions: `--kubeconfig` (else `KUBECONFIG`, else ~/.kube/config) and
//! `--context` (else the current context). Every failure is phrased for a
//! person: no context, unreachable server, RBAC refusal, timeout.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::error::{Error, Result};

/// Which cluster to talk to.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A client for the target, and the server it talks to (for messages).
pub async fn client(target: &Target) -> Result<(Client, String)> {
    let kubeconfig = match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| Error::new(format!("cannot read kubeconfig {}: {e}", path.display())))?,
        None => Kubeconfig::read().map_err(|e| {
            Error::new(format!(
                "no kubeconfig (set KUBECONFIG or pass --kubeconfig): {e}"
            ))
        })?,
    };
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            let which = target
                .context
                .as_deref()
                .map(|c| format!("context `{c}`"))
                .unwrap_or_else(|| "the current context".into());
            Error::new(format!("cannot use {which} of the kubeconfig: {e}"))
        })?;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    config.write_timeout = Some(Duration::from_secs(60));
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config)
        .map_err(|e| Error::new(format!("cannot set up a client for {server}: {e}")))?;
    Ok((client, server))
}

/// Phrases a kube error for a person.
pub fn describe(err: &kube::Error, server: &str, what: &str) -> Error {
    let msg = match err {
        kube::Error::Api(status) if status.code == 403 => {
            format!(
                "the cluster at {server} refused to {what} (RBAC, 403 Forbidden): {}",
                status.message
            )
        }
        kube::Error::Api(status) if status.code == 401 => {
            format!("the cluster at {server} did not accept our credentials (401 Unauthorized) when trying to {what}")
        }
        kube::Error::Api(status) => format!(
            "the cluster at {server} answered {} when trying to {what}: {}",
            status.code, status.message
        ),
        other => {
            let text = other.to_string();
            let hint = if text.contains("timed out") || text.contains("elapsed") {
                "timed out"
            } else {
                "unreachable"
            };
            format!("cannot {what}: the cluster at {server} is {hint} ({text})")
        }
    };
    Error::new(msg)
}

/// Every CustomResourceDefinition of the cluster, as JSON documents with a
/// display name (`<cluster>/crds/<name>`), for schema validation.
pub fn crds(target: &Target) -> Result<Vec<(PathBuf, String)>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let (client, server) = client(target).await?;
        let api: Api<CustomResourceDefinition> = Api::all(client);
        let list = tokio::time::timeout(Duration::from_secs(90), api.list(&ListParams::default()))
            .await
            .map_err(|_| {
                Error::new(format!(
                    "cannot list CustomResourceDefinitions: the cluster at {server} timed out"
                ))
            })?
            .map_err(|e| describe(&e, &server, "list CustomResourceDefinitions"))?;
        list.items
            .iter()
            .map(|crd| {
                let name = crd.metadata.name.clone().unwrap_or_default();
                let json = serde_json::to_string(crd)
                    .map_err(|e| Error::new(format!("CRD {name}: {e}")))?;
                Ok((PathBuf::from(format!("{server}crds/{name}")), json))
            })
            .collect()
    })
}
