//! The DR drill against a cluster known only by its kubeconfig (issue
//! #11, "Real clusters"): CNPG's and Argo CD's CRDs installed, no
//! operator, so the test plays both through the API (player.rs), and
//! asserts only what the API, the journal and git show.
//!
//! With `DOCS_TEST_KUBECONFIG` naming a kubeconfig, the drill runs
//! against that cluster's current context; without, that test says it
//! is skipped. The very same drill always runs against the suite's own
//! test API server with its simulated controllers switched off, used
//! through its kubeconfig alone (no store access, no request log, no
//! bucket): the player and the remote mode are proven in CI, and a real
//! cluster differs only by the kubeconfig.
//!
//! The drill creates the namespaces `cloudnative-pg` and `argocd` (they
//! must not exist), deploys the kit into them as its docs say, and
//! deletes them at the end, whatever happened.

mod argocd;
mod cnpg;
mod kube;
mod player;
mod process;
mod remote;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::{
    docs_run, git, journal, kdir, kit_checkout, newest_run, states, step_names, NS, PLANTED_KEY,
    PLANTED_SECRET,
};
use crate::cluster::{Options, TestCluster, HEALTHY};
use remote::Cluster;

const DR: &str = "cnpg-disaster-recovery";
const ARGOCD: &str = "argocd";
const CNPG: &str = "postgresql.cnpg.io/v1";
const APP: &str = "argoproj.io/v1alpha1";
const VAR: &str = "DOCS_TEST_KUBECONFIG";

/// The runbook's steps that need more than an API server, and why they
/// are not run here (the kit's own test cluster runs them all: drill.rs).
const NOT_PLAYED: &[(&str, &str)] = &[
    (
        "list-object-store",
        "starts a Pod that runs barman-cloud-backup-list against the bucket: needs a kubelet, the image and the object store",
    ),
    (
        "archive-last-wal",
        "runs psql in the primary's Pod through kubectl exec: without an operator there is no Pod",
    ),
    (
        "verify-data",
        "runs psql in the recovered primary's Pod through kubectl exec",
    ),
    (
        "restart-immich",
        "rolls out the Deployments of the immich namespace: they are not the test's on a real cluster, and no rollout ends without a kubelet",
    ),
];

/// How fast the drill may expect the cluster to move.
struct Pace {
    /// The player's period.
    period: Duration,
    self_heal: Duration,
    /// Setting up the kit, and each wait of the test itself.
    settle: Duration,
    /// The whole `docs run`.
    run: Duration,
}

const LOCAL: Pace = Pace {
    period: Duration::from_millis(20),
    self_heal: Duration::from_millis(100),
    settle: Duration::from_secs(30),
    run: Duration::from_secs(120),
};

const REMOTE: Pace = Pace {
    period: Duration::from_millis(250),
    self_heal: Duration::from_secs(1),
    settle: Duration::from_secs(180),
    run: Duration::from_secs(900),
};

#[test]
fn the_drill_runs_through_the_api_alone_on_the_suites_server_without_its_controllers() {
    let server = TestCluster::start_with(Options {
        git: None,
        ..Options::default()
    });
    server.set_controllers(false, false);
    let dir = kdir();
    let kubeconfig = server.kubeconfig(dir.path());
    drill(&kubeconfig, "the suite's test API server", &LOCAL);
}

#[test]
fn the_drill_runs_against_the_cluster_of_docs_test_kubeconfig() {
    let Some(path) = std::env::var_os(VAR).filter(|p| !p.is_empty()) else {
        eprintln!(
            "skipped: set {VAR}=/path/to/kubeconfig to run the drill against a real cluster \
             (CNPG and Argo CD CRDs installed, no operator; its namespaces cloudnative-pg and \
             argocd must not exist: the drill creates and deletes them)"
        );
        return;
    };
    drill(Path::new(&path), VAR, &REMOTE);
}

/// The drill: deploy the kit, run the runbook's steps that need no more
/// than the API, check the end state.
fn drill(kubeconfig: &Path, whose: &str, pace: &Pace) {
    let (repo, remote) = kit_checkout("real-drill");
    let mut c = Cluster::connect(kubeconfig, whose, pace);
    c.deploy(&repo, &remote);
    let old_uid = c.get(CNPG, "Cluster", NS, "immich-database").unwrap()["metadata"]["uid"].clone();

    let names = step_names(DR);
    let mut args = vec![DR, "--yes"];
    for name in &names {
        match NOT_PLAYED.iter().find(|(n, _)| n == name) {
            Some((_, why)) => eprintln!("{DR}: not played here: {name}: {why}"),
            None => args.extend(["--only", name.as_str()]),
        }
    }
    for (n, _) in NOT_PLAYED {
        assert!(names.iter().any(|x| x == n), "no step {n} in {names:?}");
    }
    let run = process::run_bounded(docs_run(&repo.root, kubeconfig, &args), pace.run);
    run.code(0);

    // The journal: every step played is done, the others skipped.
    let j = journal(&repo.root, DR);
    assert_eq!(j["state"], "done", "{j:#}");
    for (name, state) in states(&j) {
        let played = !NOT_PLAYED.iter().any(|(n, _)| *n == name);
        assert_eq!(
            state,
            if played { "done" } else { "skipped" },
            "step {name}"
        );
    }
    // A new Cluster, bootstrapped from -v1, archiving to -v2, healthy.
    let cl = c.get(CNPG, "Cluster", NS, "immich-database").unwrap();
    let uid = cl["metadata"]["uid"].clone();
    assert_ne!(uid, old_uid, "the Cluster was recreated");
    assert_recovery(&cl);
    assert_eq!(cl.pointer("/status/phase").unwrap(), HEALTHY, "{cl:#}");
    // Its volumes are new: the old ones went with the old Cluster.
    for pvc in ["immich-database-1", "immich-database-1-wal"] {
        let p = c.get("v1", "PersistentVolumeClaim", NS, pvc).unwrap();
        assert_eq!(p["metadata"]["ownerReferences"][0]["uid"], uid, "{p:#}");
    }
    let b = c
        .get(CNPG, "Backup", NS, "immich-database-v2-first")
        .unwrap();
    assert_eq!(b.pointer("/status/phase").unwrap(), "completed", "{b:#}");
    assert_eq!(
        b.pointer("/status/serverName").unwrap(),
        "immich-database-v2"
    );
    // Git says -v2, on the remote, in both places.
    let pushed = git(
        &remote,
        &[
            "show",
            "main:manifests/infrastructure/database/cnpg/immich/cluster.yaml",
        ],
    );
    assert_eq!(
        pushed.matches("serverName: immich-database-v2").count(),
        2,
        "{pushed}"
    );
    // Argo CD resumed, refreshed, on the pushed commit, Synced...
    let app = c
        .get(APP, "Application", ARGOCD, "immich-database")
        .unwrap();
    let annotations = app["metadata"]["annotations"].clone();
    assert!(
        annotations["argocd.argoproj.io/skip-reconcile"].is_null(),
        "{app:#}"
    );
    assert!(
        annotations["argocd.argoproj.io/refresh"].is_null(),
        "{app:#}"
    );
    assert_eq!(
        app.pointer("/status/sync/revision").unwrap(),
        &json!(git(&remote, &["rev-parse", "main"]))
    );
    assert_eq!(app.pointer("/status/sync/status").unwrap(), "Synced");
    // ...and, rounds later, it has left the recovered Cluster as it is.
    c.player.wait_rounds(20, pace.settle);
    let cl = c.get(CNPG, "Cluster", NS, "immich-database").unwrap();
    assert_eq!(cl["metadata"]["uid"], uid);
    assert_recovery(&cl);
    // Nothing secret in the output, the journal or the transcript.
    let transcript =
        std::fs::read_to_string(newest_run(&repo.root, DR).join("transcript.md")).unwrap();
    for text in [&run.stdout, &run.stderr, &transcript, &j.to_string()] {
        for planted in [PLANTED_KEY, PLANTED_SECRET, "planted-db-password-77"] {
            assert!(!text.contains(planted), "{planted} leaked");
        }
    }
    assert_eq!(
        c.player.errors(),
        Vec::<String>::new(),
        "the API refused the player"
    );
}

/// The recovery Cluster as the runbook creates it.
#[track_caller]
fn assert_recovery(cl: &Value) {
    assert!(cl.pointer("/spec/bootstrap/initdb").is_none(), "{cl:#}");
    let s = |p: &str| cl.pointer(p).and_then(Value::as_str).unwrap_or_default();
    assert_eq!(
        s("/spec/bootstrap/recovery/source"),
        "immich-database-backup"
    );
    assert_eq!(
        s("/spec/externalClusters/0/barmanObjectStore/serverName"),
        "immich-database-v1"
    );
    assert_eq!(
        s("/spec/backup/barmanObjectStore/serverName"),
        "immich-database-v2"
    );
}
