//! The DR drill: the repository's real runbooks, executed by the real
//! binary against the test cluster, with real kubectl and git.

use std::time::Duration;

use super::*;

const DR: &str = "cnpg-disaster-recovery";

#[test]
fn the_disaster_recovery_runbook_recovers_onto_the_next_lineage() {
    let bed = Bed::kit("drill-happy");
    let c = &bed.cluster;
    let old_uid = c.get("cluster", NS, "immich-database").unwrap()["metadata"]["uid"].clone();
    let run = bed.run(&[DR, "--yes"]);
    run.code(0);
    // Every step ran, in order, and the journal says so.
    let journal = bed.journal(DR);
    assert_eq!(journal["state"], "done", "{journal:#}");
    for (name, state) in states(&journal) {
        assert_eq!(state, "done", "step {name}");
    }
    // A new Cluster, bootstrapped from -v1, archiving to -v2.
    let cl = wait_phase(c, "immich-database", HEALTHY);
    assert_ne!(cl["metadata"]["uid"], old_uid, "the Cluster was recreated");
    assert!(cl.pointer("/spec/bootstrap/initdb").is_none(), "{cl:#}");
    assert_eq!(
        cl.pointer("/spec/bootstrap/recovery/source").unwrap(),
        "immich-database-backup"
    );
    assert_eq!(
        cl.pointer("/spec/externalClusters/0/barmanObjectStore/serverName")
            .unwrap(),
        "immich-database-v1"
    );
    assert_eq!(
        cl.pointer("/spec/backup/barmanObjectStore/serverName")
            .unwrap(),
        "immich-database-v2"
    );
    let v2 = c.lineage("immich-database-v2");
    assert!(!v2.base_backups.is_empty(), "a base backup on -v2");
    assert!(!v2.wal.is_empty(), "WAL archived to -v2");
    // The data came back.
    let contents = c.contents(NS, "immich-database").unwrap();
    assert!(
        contents.tables.iter().any(|(t, n)| t == "assets" && *n > 0),
        "{contents:?}"
    );
    // Git says -v2, on the remote.
    let remote = bed.remote.as_ref().unwrap();
    let pushed = git(
        remote,
        &[
            "show",
            "main:manifests/infrastructure/database/cnpg/immich/cluster.yaml",
        ],
    );
    assert!(
        pushed.contains("serverName: immich-database-v2"),
        "{pushed}"
    );
    // Argo CD is resumed and did not put initdb back.
    let app = c.get("applications", "argocd", "immich-database").unwrap();
    assert!(
        app.pointer("/metadata/annotations/argocd.argoproj.io~1skip-reconcile")
            .is_none(),
        "{app:#}"
    );
    c.wait_ticks(20);
    let cl = c.get("cluster", NS, "immich-database").unwrap();
    assert!(cl.pointer("/spec/bootstrap/initdb").is_none(), "{cl:#}");
    assert_eq!(
        cl.pointer("/spec/backup/barmanObjectStore/serverName")
            .unwrap(),
        "immich-database-v2"
    );
    // Nothing secret leaked anywhere.
    let transcript = bed.transcript(DR);
    for text in [&run.stdout, &run.stderr, &transcript, &journal.to_string()] {
        for planted in [PLANTED_KEY, PLANTED_SECRET, &c.token()] {
            assert!(!text.contains(planted), "{planted} leaked");
        }
    }
    let _ = Duration::ZERO;
}
