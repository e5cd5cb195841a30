//! The operator player's and the drill's only way to a cluster: kube-rs
//! over the kubeconfig's current context, objects as JSON, kinds found by
//! discovery (scope, status subresource), and the answers a controller
//! expects from a busy API server (AlreadyExists, Conflict, NotFound)
//! told apart from real failures.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Scope;
use kube::{Api, Client, Config};
use serde_json::Value;

/// A kind as the cluster serves it.
#[derive(Clone, Debug)]
pub struct Kind {
    pub resource: ApiResource,
    pub namespaced: bool,
    /// Status is written through the `status` subresource.
    pub status: bool,
}

/// A client and the kinds it resolved so far.
pub struct Kube {
    pub client: Client,
    kinds: HashMap<(String, String), Kind>,
}

/// What a write came to, short of an error.
#[derive(Debug, PartialEq)]
pub enum Wrote {
    Done(Value),
    /// AlreadyExists (create), Conflict or NotFound (update): the world
    /// moved since it was read; a controller tries again next round.
    Stale,
}

pub type Result<T> = std::result::Result<T, kube::Error>;

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

pub fn is_not_found(e: &kube::Error) -> bool {
    code(e) == Some(404)
}

fn stale(r: Result<DynamicObject>) -> Result<Wrote> {
    match r {
        Ok(o) => Ok(Wrote::Done(json(&o))),
        Err(e) if matches!(code(&e), Some(404 | 409)) => Ok(Wrote::Stale),
        Err(e) => Err(e),
    }
}

fn json(o: &DynamicObject) -> Value {
    serde_json::to_value(o).expect("an object as JSON")
}

fn dynamic(v: &Value) -> DynamicObject {
    serde_json::from_value(v.clone()).expect("JSON as an object")
}

fn meta<'a>(v: &'a Value, field: &str) -> &'a str {
    v.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn type_of(v: &Value) -> (&str, &str) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    (s("apiVersion"), s("kind"))
}

impl Kube {
    /// A client for the current context of a kubeconfig.
    pub async fn connect(kubeconfig: &Path) -> std::result::Result<Kube, String> {
        let kc = Kubeconfig::read_from(kubeconfig)
            .map_err(|e| format!("{}: {e}", kubeconfig.display()))?;
        let mut cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| format!("{}: {e}", kubeconfig.display()))?;
        cfg.connect_timeout = Some(Duration::from_secs(10));
        cfg.read_timeout = Some(Duration::from_secs(30));
        let client = Client::try_from(cfg).map_err(|e| e.to_string())?;
        Ok(Kube {
            client,
            kinds: HashMap::new(),
        })
    }

    /// The kind of `apiVersion` + `kind`, by discovery (once).
    pub async fn kind(&mut self, api_version: &str, kind: &str) -> Result<Kind> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(k) = self.kinds.get(&key) {
            return Ok(k.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk).await?;
        let k = Kind {
            resource,
            namespaced: matches!(caps.scope, Scope::Namespaced),
            status: caps.subresources.iter().any(|(r, _)| r.plural == "status"),
        };
        self.kinds.insert(key, k.clone());
        Ok(k)
    }

    async fn api(&mut self, api_version: &str, kind: &str, ns: &str) -> Result<Api<DynamicObject>> {
        let k = self.kind(api_version, kind).await?;
        Ok(if k.namespaced {
            Api::namespaced_with(self.client.clone(), ns, &k.resource)
        } else {
            Api::all_with(self.client.clone(), &k.resource)
        })
    }

    async fn api_of(&mut self, obj: &Value) -> Result<Api<DynamicObject>> {
        let (api_version, kind) = type_of(obj);
        self.api(api_version, kind, meta(obj, "namespace")).await
    }

    pub async fn get(
        &mut self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Result<Option<Value>> {
        let api = self.api(api_version, kind, ns).await?;
        Ok(api.get_opt(name).await?.as_ref().map(json))
    }

    /// The objects of a kind in a namespace, with a label selector or not.
    pub async fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        ns: &str,
        selector: Option<&str>,
    ) -> Result<Vec<Value>> {
        let api = self.api(api_version, kind, ns).await?;
        let mut lp = ListParams::default();
        if let Some(s) = selector {
            lp = lp.labels(s);
        }
        let list = api.list(&lp).await?;
        // Items of a list carry no apiVersion and kind: give them theirs.
        Ok(list
            .items
            .iter()
            .map(|o| {
                let mut v = json(o);
                v["apiVersion"] = api_version.into();
                v["kind"] = kind.into();
                v
            })
            .collect())
    }

    pub async fn create(&mut self, obj: &Value) -> Result<Wrote> {
        let api = self.api_of(obj).await?;
        stale(api.create(&PostParams::default(), &dynamic(obj)).await)
    }

    /// PUT of the whole object, at the resourceVersion it carries.
    pub async fn replace(&mut self, obj: &Value) -> Result<Wrote> {
        let api = self.api_of(obj).await?;
        stale(
            api.replace(meta(obj, "name"), &PostParams::default(), &dynamic(obj))
                .await,
        )
    }

    /// Writes an object's status (at its resourceVersion): through the
    /// status subresource where the kind has one, like a controller.
    pub async fn replace_status(&mut self, obj: &Value) -> Result<Wrote> {
        let (api_version, kind) = type_of(obj);
        if !self.kind(api_version, kind).await?.status {
            return self.replace(obj).await;
        }
        let api = self.api_of(obj).await?;
        stale(
            api.replace_status(meta(obj, "name"), &PostParams::default(), &dynamic(obj))
                .await,
        )
    }

    /// Deletes an object (background propagation); false if it was gone.
    pub async fn delete(
        &mut self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Result<bool> {
        let api = self.api(api_version, kind, ns).await?;
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
