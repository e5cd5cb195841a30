//! The cluster of a drill, known only by its kubeconfig: checked before
//! anything (CNPG's and Argo CD's kinds served, the kit's namespaces not
//! there), the kit deployed into it as its docs say with the operator
//! player running, and what the drill created deleted at the end,
//! whatever happened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::kube::{Kube, Wrote};
use super::player::{Player, Setup};
use super::{Pace, APP, ARGOCD, CNPG};
use crate::cluster::HEALTHY;
use crate::run::{eventually, kit_application, kit_secrets, NS};

/// The cluster under test, through its API, with the player running and
/// what the drill created deleted when dropped.
pub struct Cluster<'a> {
    rt: tokio::runtime::Runtime,
    k: Kube,
    whose: String,
    pace: &'a Pace,
    kubeconfig: PathBuf,
    pub player: Player,
    /// Namespaces the drill created (deleted at the end).
    created: Vec<String>,
}

impl<'a> Cluster<'a> {
    /// Connects, and checks that the cluster serves CNPG's and Argo CD's
    /// kinds and has neither namespace yet.
    pub fn connect(kubeconfig: &Path, whose: &str, pace: &'a Pace) -> Cluster<'a> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut k = rt
            .block_on(Kube::connect(kubeconfig))
            .unwrap_or_else(|e| panic!("{whose}: {e}"));
        for (api, kind) in [
            (CNPG, "Cluster"),
            (CNPG, "Backup"),
            (CNPG, "ScheduledBackup"),
            (APP, "Application"),
        ] {
            if let Err(e) = rt.block_on(k.kind(api, kind)) {
                panic!(
                    "{whose}: the cluster does not serve {kind} ({api}): {e}; install the CRDs \
                     first: kubectl apply --server-side -f crds/cnpg -f crds/argocd"
                );
            }
        }
        for ns in [NS, ARGOCD] {
            match rt.block_on(k.get("v1", "Namespace", "", ns)) {
                Ok(None) => {}
                Ok(Some(_)) => panic!(
                    "{whose}: namespace {ns} exists; the drill creates it and deletes it at the \
                     end: run it on a cluster without it"
                ),
                Err(e) => panic!("{whose}: cannot read namespace {ns}: {e}"),
            }
        }
        Cluster {
            rt,
            k,
            whose: whose.to_string(),
            pace,
            kubeconfig: kubeconfig.to_path_buf(),
            player: Player::idle(),
            created: Vec::new(),
        }
    }

    pub fn get(&mut self, api: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        self.rt
            .block_on(self.k.get(api, kind, ns, name))
            .unwrap_or_else(|e| panic!("{}: get {kind} {ns}/{name}: {e}", self.whose))
    }

    fn create(&mut self, obj: &Value) {
        let done = self.rt.block_on(self.k.create(obj));
        assert!(
            matches!(done, Ok(Wrote::Done(_))),
            "{}: create {obj}: {done:?}",
            self.whose
        );
    }

    /// Polls an object until `ok` holds, within the pace's settle time.
    fn wait_for(
        &mut self,
        api: &str,
        kind: &str,
        name: &str,
        what: &str,
        ok: impl Fn(&Value) -> bool,
    ) {
        let limit = self.pace.settle;
        eventually(&format!("{kind} {name}: {what}"), limit, || {
            self.get(api, kind, NS, name).filter(|o| ok(o)).map(drop)
        });
    }

    /// The kit as its docs install it: namespaces, Secrets, the
    /// immich-database Application (which Argo CD syncs: a Cluster on
    /// -v1, the ScheduledBackup), and a completed base backup.
    pub fn deploy(&mut self, repo: &crate::common::Repo, remote: &Path) {
        for ns in [NS, ARGOCD] {
            self.create(
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            );
            self.created.push(ns.to_string());
        }
        self.player = Player::start(Setup {
            kubeconfig: self.kubeconfig.clone(),
            git_dir: remote.to_path_buf(),
            branch: "main".into(),
            cnpg_ns: NS.into(),
            argocd_ns: ARGOCD.into(),
            period: self.pace.period,
            git_cache: Duration::from_secs(180),
            self_heal: self.pace.self_heal,
            lifetime: self.pace.settle * 2 + self.pace.run,
        });
        for doc in serde_yaml::Deserializer::from_str(&kit_secrets()) {
            let v: Value = serde::Deserialize::deserialize(doc).unwrap();
            self.create(&v);
        }
        self.create(&kit_application(repo));
        let healthy = |o: &Value| o.pointer("/status/phase") == Some(&json!(HEALTHY));
        self.wait_for(CNPG, "Cluster", "immich-database", "healthy", healthy);
        self.create(&json!({"apiVersion": CNPG, "kind": "Backup",
            "metadata": {"name": "immich-database-20261124", "namespace": NS,
                "labels": {"cnpg.io/cluster": "immich-database"}},
            "spec": {"cluster": {"name": "immich-database"}}}));
        let completed = |o: &Value| o.pointer("/status/phase") == Some(&json!("completed"));
        self.wait_for(
            CNPG,
            "Backup",
            "immich-database-20261124",
            "completed",
            completed,
        );
    }
}

impl Drop for Cluster<'_> {
    /// Stops the player, then deletes the namespaces the drill created
    /// and waits (bounded) until they are gone; never panics.
    fn drop(&mut self) {
        self.player.stop();
        for ns in std::mem::take(&mut self.created) {
            if let Err(e) = self.rt.block_on(self.k.delete("v1", "Namespace", "", &ns)) {
                eprintln!("{}: could not delete namespace {ns}: {e}", self.whose);
                continue;
            }
            let end = Instant::now() + self.pace.settle;
            loop {
                match self.rt.block_on(self.k.get("v1", "Namespace", "", &ns)) {
                    Ok(None) => break,
                    _ if Instant::now() > end => {
                        eprintln!("{}: namespace {ns} is still terminating", self.whose);
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
    }
}
