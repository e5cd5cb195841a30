//! The cluster as the executor sees it: one session per run, with two
//! clients — reads may retry transient failures, mutating requests never
//! do (a retried POST could create twice) — kinds resolved by discovery
//! (CRDs included; the executor keeps no list of kinds), and every
//! failure typed as a [`ClusterError`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
};
use kube::config::Kubeconfig;
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use kube::Client;
use serde_json::Value as J;

use crate::cluster::{self, ClusterError, Target};

/// The field manager of `docs` for server-side apply and creations.
pub const FIELD_MANAGER: &str = "docs";

/// The annotation that marks what a run created: `<run id>/<step name>`.
/// Resume uses it to tell "created by this run" from "recreated by
/// someone else" (Argo CD, say).
pub const CREATED_BY: &str = "docs-run/created-by";

/// The annotation that marks the last patch or apply of a run's step: a
/// patch whose effect a controller consumed (`refresh: hard`) is still
/// known to have arrived.
pub const CHANGED_BY: &str = "docs-run/changed-by";

pub struct Session {
    reader: Client,
    writer: Client,
    pub server: String,
    pub context: String,
    pub user: String,
    /// The kubeconfig with only the chosen context, for shell steps.
    pub pinned: Kubeconfig,
    /// Credentials of the kubeconfig (tokens, keys), to redact.
    pub credentials: Vec<String>,
    kinds: Mutex<HashMap<(String, String), (ApiResource, bool)>>,
}

/// One object, as a step addresses it.
#[derive(Debug, Clone)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl Session {
    /// Connects to the context of `target` (kubectl's rules; never
    /// in-cluster credentials).
    pub async fn connect(target: &Target) -> Result<Session, ClusterError> {
        let kubeconfig = cluster::kubeconfig(target)?;
        let context = target
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .ok_or_else(|| {
                ClusterError::Config(
                    "the kubeconfig has no current context: pass --context NAME".into(),
                )
            })?;
        let named = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)
            .ok_or_else(|| {
                let names: Vec<&str> = kubeconfig
                    .contexts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                ClusterError::Config(format!(
                    "the kubeconfig has no context `{context}` (contexts: {})",
                    names.join(", ")
                ))
            })?;
        let user = named
            .context
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        let pinned = pin(&kubeconfig, &context);
        let credentials = credentials(&pinned);
        let reader_cfg =
            cluster::config_from(kubeconfig.clone(), Some(context.clone()), true).await?;
        let writer_cfg = cluster::config_from(kubeconfig, Some(context.clone()), false).await?;
        let (reader, server) = cluster::client(reader_cfg)?;
        let (writer, _) = cluster::client(writer_cfg)?;
        Ok(Session {
            reader,
            writer,
            server,
            context,
            user,
            pinned,
            credentials,
            kinds: Mutex::new(HashMap::new()),
        })
    }

    fn err(&self, e: kube::Error, what: &str) -> ClusterError {
        ClusterError::from_kube(&e, &self.server, what)
    }

    /// The API server's version: proves it answers.
    pub async fn version(&self) -> Result<String, ClusterError> {
        let info = self
            .reader
            .apiserver_version()
            .await
            .map_err(|e| self.err(e, "read the server version"))?;
        Ok(info.git_version)
    }

    /// The resource of `kind` in `api_version`, by discovery, and whether
    /// it is namespaced.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, bool), ClusterError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.lock().expect("kinds").get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (res, caps): (ApiResource, ApiCapabilities) =
            kube::discovery::pinned_kind(&self.reader, &gvk)
                .await
                .map_err(|e| match self.err(e, &format!("discover {kind}")) {
                    ClusterError::NotFound { .. } | ClusterError::Protocol(_) => ClusterError::NotFound {
                        message: format!(
                            "the cluster does not serve `{kind}` in `{api_version}` (is its CRD installed?)"
                        ),
                    },
                    other => other,
                })?;
        let namespaced = caps.scope == Scope::Namespaced;
        self.kinds
            .lock()
            .expect("kinds")
            .insert(key, (res.clone(), namespaced));
        Ok((res, namespaced))
    }

    async fn api(
        &self,
        write: bool,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, ClusterError> {
        let (res, namespaced) = self.resolve(api_version, kind).await?;
        let client = if write { &self.writer } else { &self.reader }.clone();
        Ok(match (namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(client, ns, &res),
            (true, None) => Api::default_namespaced_with(client, &res),
            (false, _) => Api::all_with(client, &res),
        })
    }

    /// A reading API for `kind` (for watches too).
    pub async fn reader(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, ClusterError> {
        self.api(false, api_version, kind, namespace).await
    }

    pub async fn get(&self, key: &ObjectKey) -> Result<Option<J>, ClusterError> {
        let api = self
            .api(false, &key.api_version, &key.kind, key.namespace.as_deref())
            .await?;
        match api.get_opt(&key.name).await {
            Ok(found) => Ok(found.map(to_json)),
            Err(e) => Err(self.err(e, &format!("get {} {}", key.kind, key.name))),
        }
    }

    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<J>, ClusterError> {
        let api = self.api(false, api_version, kind, namespace).await?;
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| self.err(e, &format!("list {kind} with {selector}")))?;
        Ok(list.items.into_iter().map(to_json).collect())
    }

    pub async fn create(
        &self,
        key: &ObjectKey,
        body: &J,
        dry_run: bool,
    ) -> Result<J, ClusterError> {
        let api = self
            .api(true, &key.api_version, &key.kind, key.namespace.as_deref())
            .await?;
        let obj: DynamicObject = from_json(body)?;
        let pp = PostParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.into()),
        };
        api.create(&pp, &obj)
            .await
            .map(to_json)
            .map_err(|e| self.err(e, &format!("create {} {}", key.kind, key.name)))
    }

    /// Server-side apply, field manager `docs`.
    pub async fn apply(&self, key: &ObjectKey, body: &J, dry_run: bool) -> Result<J, ClusterError> {
        let mut pp = PatchParams::apply(FIELD_MANAGER);
        pp.dry_run = dry_run;
        self.patch(key, &pp, &Patch::Apply(body), "apply").await
    }

    /// A JSON merge patch (`null` removes a key).
    pub async fn merge_patch(
        &self,
        key: &ObjectKey,
        body: &J,
        dry_run: bool,
    ) -> Result<J, ClusterError> {
        let pp = PatchParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        self.patch(key, &pp, &Patch::Merge(body), "patch").await
    }

    async fn patch(
        &self,
        key: &ObjectKey,
        pp: &PatchParams,
        patch: &Patch<&J>,
        verb: &str,
    ) -> Result<J, ClusterError> {
        let api = self
            .api(true, &key.api_version, &key.kind, key.namespace.as_deref())
            .await?;
        api.patch(&key.name, pp, patch)
            .await
            .map(to_json)
            .map_err(|e| self.err(e, &format!("{verb} {} {}", key.kind, key.name)))
    }

    /// Deletes, with a uid precondition when the run knows which object it
    /// means. Returns the object as the server answered (or nothing).
    pub async fn delete(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
        dry_run: bool,
    ) -> Result<(), ClusterError> {
        let api = self
            .api(true, &key.api_version, &key.kind, key.namespace.as_deref())
            .await?;
        let dp = DeleteParams {
            dry_run,
            preconditions: uid.map(|u| Preconditions {
                uid: Some(u.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        api.delete(&key.name, &dp)
            .await
            .map(|_| ())
            .map_err(|e| self.err(e, &format!("delete {} {}", key.kind, key.name)))
    }

    /// A Secret's data, to redact its values; `None` when it does not
    /// exist or cannot be read.
    pub async fn secret(&self, namespace: &str, name: &str) -> Result<Option<J>, ClusterError> {
        self.get(&ObjectKey {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        })
        .await
    }

    /// Writes the pinned kubeconfig (mode 0600) for shell steps.
    pub fn write_pinned(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = serde_yaml::to_string(&self.pinned).map_err(std::io::Error::other)?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    }
}

/// The kubeconfig reduced to one context (its cluster and user), which is
/// also the current one: whatever the user's current context says, a
/// shell step's `kubectl` talks to the cluster the run talks to.
pub fn pin(kubeconfig: &Kubeconfig, context: &str) -> Kubeconfig {
    let mut out = Kubeconfig {
        preferences: kubeconfig.preferences.clone(),
        api_version: kubeconfig.api_version.clone().or(Some("v1".into())),
        kind: kubeconfig.kind.clone().or(Some("Config".into())),
        current_context: Some(context.to_string()),
        ..Kubeconfig::default()
    };
    if let Some(ctx) = kubeconfig.contexts.iter().find(|c| c.name == context) {
        let (cluster, user) = ctx
            .context
            .as_ref()
            .map(|c| (c.cluster.clone(), c.user.clone()))
            .unwrap_or_default();
        out.contexts.push(ctx.clone());
        out.clusters.extend(
            kubeconfig
                .clusters
                .iter()
                .filter(|c| c.name == cluster)
                .cloned(),
        );
        out.auth_infos.extend(
            kubeconfig
                .auth_infos
                .iter()
                .filter(|a| Some(&a.name) == user.as_ref())
                .cloned(),
        );
    }
    out
}

/// Bearer tokens, passwords and inline keys of a kubeconfig.
fn credentials(kubeconfig: &Kubeconfig) -> Vec<String> {
    use secrecy::ExposeSecret;
    let mut out = Vec::new();
    for a in &kubeconfig.auth_infos {
        let Some(info) = &a.auth_info else { continue };
        if let Some(t) = &info.token {
            out.push(t.expose_secret().to_string());
        }
        if let Some(p) = &info.password {
            out.push(p.expose_secret().to_string());
        }
        if let Some(k) = &info.client_key_data {
            out.push(k.expose_secret().to_string());
        }
    }
    out
}

fn to_json(obj: DynamicObject) -> J {
    serde_json::to_value(obj).unwrap_or(J::Null)
}

fn from_json(body: &J) -> Result<DynamicObject, ClusterError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        ClusterError::Protocol(format!("the step's object is not a Kubernetes object: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_keeps_one_context_with_its_cluster_and_user() {
        let text = "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: a\n  cluster:\n    server: https://a\n- name: b\n  cluster:\n    server: https://b\ncontexts:\n- name: prod\n  context:\n    cluster: a\n    user: ua\n- name: test\n  context:\n    cluster: b\n    user: ub\nusers:\n- name: ua\n  user:\n    token: tok-a\n- name: ub\n  user:\n    token: tok-b\n";
        let k: Kubeconfig = serde_yaml::from_str(text).unwrap();
        let p = pin(&k, "test");
        assert_eq!(p.current_context.as_deref(), Some("test"));
        assert_eq!(p.contexts.len(), 1);
        assert_eq!(p.clusters.len(), 1);
        assert_eq!(p.clusters[0].name, "b");
        assert_eq!(p.auth_infos.len(), 1);
        assert_eq!(credentials(&p), ["tok-b"]);
        let yaml = serde_yaml::to_string(&p).unwrap();
        assert!(
            yaml.contains("https://b") && !yaml.contains("https://a"),
            "{yaml}"
        );
    }
}
