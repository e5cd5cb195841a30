//! The operator player: CloudNativePG and Argo CD played in a thread of
//! the test, through the cluster's API only (kube-rs, the drill's
//! kubeconfig), for a cluster that has their CRDs and no operator. Rounds
//! of bounded polling, a fixed period apart, until stopped or its
//! lifetime ends. Only the namespaces it is given are read or written.
//!
//! An API error that a controller would not shrug off (anything but a
//! lost race, see kube.rs) is kept, and the drill asserts there was none:
//! a player that a real API server refuses fails the test instead of
//! leaving it to time out.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::argocd::Argo;
use super::cnpg::Cnpg;
use super::kube::Kube;
use crate::cluster::argocd::Git;

/// What the player plays, where, and how fast.
pub struct Setup {
    pub kubeconfig: PathBuf,
    /// The bare repository Argo CD reads, and its branch.
    pub git_dir: PathBuf,
    pub branch: String,
    /// The database's namespace (CNPG) and Argo CD's.
    pub cnpg_ns: String,
    pub argocd_ns: String,
    /// Time between rounds.
    pub period: Duration,
    pub git_cache: Duration,
    pub self_heal: Duration,
    /// The thread ends by itself after this long.
    pub lifetime: Duration,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    rounds: AtomicU64,
    errors: Mutex<Vec<String>>,
}

pub struct Player {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Player {
    pub fn start(setup: Setup) -> Player {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(play(setup, &s));
        });
        Player {
            shared,
            thread: Some(thread),
        }
    }

    /// A player not started (stopping it does nothing).
    pub fn idle() -> Player {
        Player {
            shared: Arc::new(Shared::default()),
            thread: None,
        }
    }

    /// Rounds played so far.
    pub fn rounds(&self) -> u64 {
        self.shared.rounds.load(Ordering::SeqCst)
    }

    /// Waits until `n` more rounds were played (to show that something
    /// did NOT happen within a number of rounds, not of seconds).
    pub fn wait_rounds(&self, n: u64, limit: Duration) {
        let start = self.rounds();
        crate::run::eventually(&format!("{n} rounds of the player"), limit, || {
            (self.rounds() >= start + n).then_some(())
        });
    }

    pub fn errors(&self) -> Vec<String> {
        self.shared.errors.lock().expect("errors").clone()
    }

    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn play(setup: Setup, shared: &Shared) {
    let fail = |e: String| shared.errors.lock().expect("errors").push(e);
    let mut k = match Kube::connect(&setup.kubeconfig).await {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let git = Git::Bare {
        git_dir: setup.git_dir.clone(),
        branch: setup.branch.clone(),
    };
    let mut cnpg = Cnpg::default();
    let mut argo = Argo::new(
        git,
        setup.git_cache,
        setup.self_heal,
        &[&setup.cnpg_ns, &setup.argocd_ns],
    );
    let end = Instant::now() + setup.lifetime;
    let mut reported = 0;
    while !shared.stop.load(Ordering::SeqCst) && Instant::now() < end {
        if let Err(e) = cnpg.round(&mut k, &setup.cnpg_ns).await {
            fail(format!("CloudNativePG: {e}"));
        }
        if let Err(e) = argo.round(&mut k, &setup.argocd_ns).await {
            fail(format!("Argo CD: {e}"));
        }
        for what in &argo.refused[reported..] {
            fail(format!(
                "Argo CD: git names {what}, outside the drill's namespaces"
            ));
        }
        reported = argo.refused.len();
        shared.rounds.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(setup.period).await;
    }
}
