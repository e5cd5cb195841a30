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
        self.delete_with(key, uid, None, dry_run).await
    }

    /// A delete only if the object still has this uid and resourceVersion.
    pub async fn delete_if(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
        resource_version: Option<&str>,
    ) -> Result<(), ClusterError> {
        self.delete_with(key, uid, resource_version, false).await
    }

    async fn delete_with(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
        resource_version: Option<&str>,
        dry_run: bool,
    ) -> Result<(), ClusterError> {
        let api = self
            .api(true, &key.api_version, &key.kind, key.namespace.as_deref())
            .await?;
        let dp = DeleteParams {
            dry_run,
            preconditions: (uid.is_some() || resource_version.is_some()).then(|| Preconditions {
                uid: uid.map(str::to_string),
                resource_version: resource_version.map(str::to_string),
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

/// Every credential of a kubeconfig, to redact: bearer tokens (inline or
/// in a token file), passwords, client keys (inline, base64 and decoded,
/// or in a key file), the tokens and client secrets of an `auth-provider`
/// (OIDC's `id-token`, `refresh-token`, `client-secret`; GCP's
/// `access-token`), and the credentials an `exec` plugin gets in its
/// environment.
fn credentials(kubeconfig: &Kubeconfig) -> Vec<String> {
    use base64::Engine;
    use secrecy::ExposeSecret;
    let mut out = Vec::new();
    let read = |path: &str| std::fs::read_to_string(path).ok();
    for a in &kubeconfig.auth_infos {
        let Some(info) = &a.auth_info else { continue };
        out.extend(info.token.iter().map(|t| t.expose_secret().to_string()));
        out.extend(info.password.iter().map(|p| p.expose_secret().to_string()));
        out.extend(info.token_file.as_deref().and_then(read));
        out.extend(info.client_key.as_deref().and_then(read));
        if let Some(k) = &info.client_key_data {
            let k = k.expose_secret();
            out.push(k.to_string());
            let decoded = base64::engine::general_purpose::STANDARD.decode(k.trim());
            out.extend(decoded.ok().and_then(|b| String::from_utf8(b).ok()));
        }
        if let Some(provider) = &info.auth_provider {
            out.extend(
                provider
                    .config
                    .iter()
                    .filter(|(k, _)| is_provider_secret(k))
                    .map(|(_, v)| v.clone()),
            );
        }
        for env in info.exec.iter().flat_map(|e| e.env.iter().flatten()) {
            let (Some(name), Some(value)) = (env.get("name"), env.get("value")) else {
                continue;
            };
            if super::redact::is_credential_key(name) || looks_opaque(value) {
                out.push(value.clone());
            }
        }
    }
    out.retain(|v| !v.trim().is_empty());
    out
}

/// The secrets of an auth-provider's config: its tokens and client
/// secret, not its issuer URL, client id or the jsonpath of a key
/// (`token-key: '{.access_token}'`).
fn is_provider_secret(key: &str) -> bool {
    key.ends_with("token") || key.contains("secret") || key.contains("password")
}

/// A long string without spaces: what an API key looks like, not a
/// region or a profile name (which, masked, would garble the output).
fn looks_opaque(value: &str) -> bool {
    value.len() >= 16 && !value.contains(char::is_whitespace)
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

    #[test]
    fn every_credential_of_a_kubeconfig_is_found() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "file-token-7a1\n").unwrap();
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPlantedKeyLine1\nAwEHoUQDQgPlantedKeyLine2\n-----END EC PRIVATE KEY-----\n";
        let key_data = base64::engine::general_purpose::STANDARD.encode(pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\nclusters:\n- name: k\n  cluster:\n    server: https://k\nusers:\n- name: u\n  user:\n    username: admin\n    password: planted-password\n    tokenFile: {}\n    client-key-data: {key_data}\n    auth-provider:\n      name: oidc\n      config:\n        client-id: kubernetes\n        idp-issuer-url: https://issuer.example\n        client-secret: planted-client-secret\n        id-token: planted-id-token\n        refresh-token: planted-refresh-token\n        access-token: planted-access-token\n        token-key: '{{.access_token}}'\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      env:\n      - name: AWS_PROFILE\n        value: default\n      - name: AWS_SECRET_ACCESS_KEY\n        value: planted-aws-secret\n      - name: VENDOR_API\n        value: sk_live_0123456789abcdef\n",
            token_file.display()
        );
        let k: Kubeconfig = serde_yaml::from_str(&text).unwrap();
        let found = credentials(&pin(&k, "c"));
        for planted in [
            "planted-password",
            "file-token-7a1\n",
            key_data.as_str(),
            pem,
            "planted-client-secret",
            "planted-id-token",
            "planted-refresh-token",
            "planted-access-token",
            "planted-aws-secret",
            "sk_live_0123456789abcdef",
        ] {
            assert!(
                found.iter().any(|f| f == planted),
                "{planted:?} not in {found:?}"
            );
        }
        for public in [
            "admin",
            "kubernetes",
            "https://issuer.example",
            "default",
            "{.access_token}",
        ] {
            assert!(
                !found.iter().any(|f| f == public),
                "{public:?} is no credential"
            );
        }
        // And the redactor masks each line of the decoded key.
        let mut r = super::super::redact::Redactor::default();
        found.iter().for_each(|c| r.add(c));
        assert_eq!(r.apply("x MHcCAQEEIPlantedKeyLine1 y"), "x [redacted] y");
    }
}
