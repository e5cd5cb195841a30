//! The DR drill: the repository's real runbooks, executed by the real
//! binary against the test cluster, with real kubectl and git — the happy
//! path, Argo CD winning the race, kills at every step boundary and in the
//! middle of the long steps, Ctrl-C, faults, a dry run, and the
//! point-in-time runbook.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use super::*;

const DR: &str = "cnpg-disaster-recovery";
const PITR: &str = "cnpg-point-in-time-recovery";

/// The end state of a successful recovery.
fn assert_recovered(bed: &Bed, old_uid: &Value) {
    let c = &bed.cluster;
    let journal = bed.journal(DR);
    assert_eq!(journal["state"], "done", "{journal:#}");
    for (name, state) in states(&journal) {
        assert_eq!(state, "done", "step {name}");
    }
    // A new Cluster, bootstrapped from -v1, archiving to -v2.
    let cl = wait_phase(c, "immich-database", HEALTHY);
    assert_ne!(&cl["metadata"]["uid"], old_uid, "the Cluster was recreated");
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
    let contents = c.contents(NS, "immich-database").unwrap();
    assert!(
        contents.tables.iter().any(|(t, n)| t == "assets" && *n > 0),
        "the data came back: {contents:?}"
    );
    // Git says -v2, on the remote, in both places.
    let remote = bed.remote.as_ref().unwrap();
    let pushed = git(
        remote,
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
    // Argo CD is resumed, on the pushed commit, and did not put initdb back.
    let app = c.get("applications", "argocd", "immich-database").unwrap();
    assert!(
        app.pointer("/metadata/annotations/argocd.argoproj.io~1skip-reconcile")
            .is_none(),
        "{app:#}"
    );
    assert_eq!(
        app.pointer("/status/sync/revision").unwrap(),
        &json!(git(remote, &["rev-parse", "main"]))
    );
    c.wait_ticks(20);
    let cl = c.get("cluster", NS, "immich-database").unwrap();
    assert!(cl.pointer("/spec/bootstrap/initdb").is_none(), "{cl:#}");
    assert_eq!(
        cl.pointer("/spec/backup/barmanObjectStore/serverName")
            .unwrap(),
        "immich-database-v2"
    );
}

/// Mutating requests `docs` itself sent (not kubectl's, not the lease's)
/// that the server carried out (a refused one changed nothing), with how
/// many times each identical one was.
fn docs_mutations(bed: &Bed) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in bed.cluster.requests() {
        if !r.is_mutation() || r.user_agent.contains("kubectl") || r.path.contains("/leases") {
            continue;
        }
        // 0: still being answered when the client went away (carried out).
        if r.code != 0 && !(200..300).contains(&r.code) {
            continue;
        }
        let key = format!("{} {} {}", r.method, r.path, r.raw_body);
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[track_caller]
fn assert_none_repeated(bed: &Bed) {
    let m = docs_mutations(bed);
    let repeated: Vec<_> = m.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "mutating requests sent twice: {repeated:#?}"
    );
}

fn uid_of(bed: &Bed) -> Value {
    bed.cluster.get("cluster", NS, "immich-database").unwrap()["metadata"]["uid"].clone()
}

#[test]
fn the_disaster_recovery_runbook_recovers_onto_the_next_lineage() {
    let bed = Bed::kit("drill-happy");
    let c = &bed.cluster;
    let old_uid = uid_of(&bed);
    let run = bed.run(&[DR, "--yes"]);
    run.code(0);
    assert_recovered(&bed, &old_uid);
    assert_none_repeated(&bed);
    // The recovery Cluster was created (a POST), never applied.
    assert!(!c
        .requests()
        .iter()
        .any(|r| r.is_apply() && r.path.contains("/clusters")));
    assert_eq!(
        c.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/clusters") && !r.dry_run())
            .count(),
        1
    );
    // Nothing secret leaked anywhere.
    let transcript = bed.transcript(DR);
    let journal = bed.journal(DR).to_string();
    for text in [&run.stdout, &run.stderr, &transcript, &journal] {
        for planted in [
            PLANTED_KEY,
            PLANTED_SECRET,
            &c.token(),
            "planted-db-password-77",
        ] {
            assert!(!text.contains(planted), "{planted} leaked");
        }
    }
    assert!(
        transcript.contains("## Step 9: create-recovery-cluster (create)"),
        "{transcript}"
    );
}

#[test]
fn argo_cd_wins_the_race_when_the_pause_is_skipped() {
    let bed = Bed::kit("drill-race");
    let c = &bed.cluster;
    c.set_speeds(|s| s.self_heal = Duration::from_millis(50));
    let list = bed.run(&[DR, "--list"]);
    let names: Vec<String> = list
        .stdout
        .lines()
        .filter_map(|l| {
            l.split_once("] ")
                .map(|(_, r)| r.split_whitespace().next().unwrap().to_string())
        })
        .collect();
    let mut args: Vec<&str> = vec![DR, "--yes"];
    for n in &names {
        if n != "pause-argocd" && n != "confirm-paused" {
            args.extend(["--only", n]);
        }
    }
    let run = bed.run(&args);
    run.code(1).says("see: “Argo CD wins the race");
    assert!(!run.stderr.contains("done  (journal"), "{}", run.stderr);
    let journal = bed.journal(DR);
    assert_eq!(journal["state"], "failed");
    // Self-heal brought back an empty initdb Cluster; the run did not go on.
    let cl = c.get("cluster", NS, "immich-database").unwrap();
    assert!(cl.pointer("/spec/bootstrap/initdb").is_some());
    let states = states(&journal);
    let create = states
        .iter()
        .find(|(n, _)| n == "create-recovery-cluster")
        .unwrap();
    assert_ne!(create.1, "done", "{states:?}");
}

#[test]
fn a_dry_run_of_the_whole_runbook_changes_nothing() {
    let bed = Bed::kit("drill-dry");
    let c = &bed.cluster;
    c.wait_ticks(5);
    let before = c.get("cluster", NS, "immich-database").unwrap();
    let head = git(&bed.repo.root, &["rev-parse", "HEAD"]);
    c.clear_log();
    let run = bed.run(&[DR, "--dry-run"]);
    run.code(0)
        .says("dry run done: every step would be accepted")
        .says("list-backups … 1 object checked, 1 check hold (checked now)")
        .says("confirm-recovery-bootstrap … not evaluated (dry run");
    assert!(
        docs_mutations(&bed).is_empty(),
        "{:#?}",
        docs_mutations(&bed)
    );
    assert!(
        !c.requests().iter().any(|r| r.is_mutation()),
        "zero objects changed (kubectl included)"
    );
    let after = c.get("cluster", NS, "immich-database").unwrap();
    assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
    assert_eq!(
        before.pointer("/spec/backup"),
        after.pointer("/spec/backup")
    );
    assert_eq!(
        git(&bed.repo.root, &["rev-parse", "HEAD"]),
        head,
        "git untouched"
    );
    assert!(
        c.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/clusters") && r.dry_run()),
        "the recovery Cluster went to the API server as a dry run"
    );
}

/// Starts the DR run with JSON events, and kills it (SIGKILL) when
/// `when(event)` says so. Returns the events seen.
fn kill_when(bed: &Bed, args: &[&str], mut when: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut all = vec![DR, "--yes", "--output", "json"];
    all.extend_from_slice(args);
    let mut child = bed.spawn(&all);
    let dog = Watchdog::start(&child, RUN_LIMIT);
    let stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let stop = when(&event);
        seen.push(event);
        if stop {
            child.kill().unwrap();
            break;
        }
    }
    let _ = child.wait();
    let out = child.wait_with_output().expect("the killed run's output");
    dog.check(&format!("docs run {}", all.join(" ")), &out);
    seen
}

/// Resumes until done (a resume may itself need another resume only if
/// the kill left a step that must be retried; at most three).
fn resume_to_the_end(bed: &Bed) {
    let run = bed.run(&[DR, "--yes", "--resume"]);
    run.code(0).says("done");
}

#[test]
fn killed_at_every_step_boundary_resume_finishes_without_repeating_a_mutation() {
    let names = step_names(DR);
    assert!(names.len() >= 15, "{names:?}");
    // One bed per boundary: kill just after step k is reported done.
    for (k, name) in names.iter().enumerate().take(names.len() - 1) {
        let bed = Bed::kit(&format!("drill-kill-{k}"));
        let old_uid = uid_of(&bed);
        let events = kill_when(&bed, &[], |e| {
            e["event"] == "step" && e["state"] == "done" && e["name"] == name.as_str()
        });
        assert!(
            events
                .iter()
                .any(|e| e["name"] == name.as_str() && e["state"] == "done"),
            "killed after {name}: {events:?}"
        );
        resume_to_the_end(&bed);
        assert_recovered(&bed, &old_uid);
        assert_none_repeated(&bed);
    }
}

#[test]
fn killed_in_the_middle_of_a_create_a_delete_a_wait_and_a_backup() {
    // The creates (the recovery Cluster, the first Backup on the new
    // lineage): the POST arrives and is stored; its answer is late.
    for (step, resource) in [
        ("create-recovery-cluster", "clusters"),
        ("backup-new-lineage", "backups"),
    ] {
        let bed = Bed::kit(&format!("drill-mid-{step}"));
        let old_uid = uid_of(&bed);
        let c = &bed.cluster;
        c.delay("create", resource, Duration::from_secs(30));
        kill_when(&bed, &[], |e| {
            e["event"] == "step" && e["state"] == "started" && e["name"] == step && {
                eventually("the POST", Duration::from_secs(20), || {
                    c.requests()
                        .iter()
                        .any(|r| {
                            r.method == "POST"
                                && r.path.ends_with(&format!("/{resource}"))
                                && !r.user_agent.contains("kubectl")
                        })
                        .then_some(())
                });
                true
            }
        });
        c.clear_faults();
        let j = bed.journal(DR);
        assert!(
            states(&j).contains(&(step.to_string(), "started".to_string())),
            "{j:#}"
        );
        let resumed = bed.run(&[DR, "--yes", "--resume"]);
        resumed.code(0).says("created (found on resume)");
        assert_recovered(&bed, &old_uid);
        assert_none_repeated(&bed);
    }

    // The delete: a finalizer holds the Cluster; killed while waiting.
    let bed = Bed::kit("drill-mid-delete");
    let old_uid = uid_of(&bed);
    bed.cluster
        .set_speeds(|s| s.cluster_finalizer = Some(Duration::from_secs(3)));
    kill_when(&bed, &[], |e| {
        e["event"] == "step" && e["state"] == "started" && e["name"] == "delete-cluster" && {
            eventually("the DELETE", Duration::from_secs(20), || {
                bed.cluster
                    .requests()
                    .iter()
                    .any(|r| r.method == "DELETE" && r.path.contains("/clusters/"))
                    .then_some(())
            });
            true
        }
    });
    bed.run(&[DR, "--yes", "--resume"]).code(0);
    assert_recovered(&bed, &old_uid);
    assert_none_repeated(&bed);

    // The long wait, and the backup's wait: slow phases, killed inside.
    for step in ["wait-ready", "wait-backup"] {
        let bed = Bed::kit(&format!("drill-mid-{step}"));
        let old_uid = uid_of(&bed);
        bed.cluster.set_speeds(|s| {
            s.phase = Duration::from_millis(1500);
            s.backup_step = Duration::from_millis(1500);
        });
        kill_when(&bed, &[], |e| {
            e["event"] == "step" && e["state"] == "started" && e["name"] == step
        });
        bed.cluster.set_speeds(|s| {
            s.phase = Duration::from_millis(50);
            s.backup_step = Duration::from_millis(50);
        });
        bed.run(&[DR, "--yes", "--resume"]).code(0);
        assert_recovered(&bed, &old_uid);
        assert_none_repeated(&bed);
    }
}

#[test]
fn ctrl_c_during_the_long_wait_then_resume() {
    let bed = Bed::kit("drill-ctrl-c");
    let old_uid = uid_of(&bed);
    bed.cluster.set_speeds(|s| s.phase = Duration::from_secs(2));
    let mut child = bed.spawn(&[DR, "--yes", "--output", "json"]);
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap_or(json!({}));
        if event["name"] == "wait-ready" && event["state"] == "started" {
            // SAFETY: a signal to our own child.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGINT);
            }
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = bed.journal(DR);
    assert_eq!(j["state"], "interrupted");
    assert!(states(&j).contains(&("wait-ready".to_string(), "interrupted".to_string())));
    bed.cluster
        .set_speeds(|s| s.phase = Duration::from_millis(50));
    resume_to_the_end(&bed);
    assert_recovered(&bed, &old_uid);
    assert_none_repeated(&bed);
}

#[test]
fn faults_rbac_on_the_delete_unreachable_preflight_dropped_watches_and_410() {
    // 403 on the delete: exit 1 with the RBAC words; fixed, resume ends it.
    let bed = Bed::kit("drill-403");
    let old_uid = uid_of(&bed);
    bed.cluster.forbid("delete", "clusters");
    bed.run(&[DR, "--yes"])
        .code(1)
        .says("refused by RBAC (403 Forbidden)")
        .says("--resume");
    assert_eq!(uid_of(&bed), old_uid, "nothing deleted");
    bed.cluster.clear_faults();
    resume_to_the_end(&bed);
    assert_recovered(&bed, &old_uid);
    assert_none_repeated(&bed);

    // The API unreachable at preflight: exit 2, nothing journaled.
    let bed = Bed::kit("drill-unreachable");
    bed.cluster.refuse_connections(true);
    bed.run(&[DR, "--yes"])
        .code(2)
        .says("preflight:")
        .says("unreachable");
    assert!(
        !bed.repo.path(".docs/runs").exists()
            || std::fs::read_dir(bed.repo.path(&format!(".docs/runs/{DR}")))
                .map_or(true, |d| d.count() == 0)
    );
    bed.cluster.refuse_connections(false);

    // Dropped watches and 410 Gone during the long wait: it still ends.
    let bed = Bed::kit("drill-watch-faults");
    let old_uid = uid_of(&bed);
    bed.cluster
        .set_speeds(|s| s.phase = Duration::from_millis(1500));
    let mut child = bed.spawn(&[DR, "--yes", "--output", "json"]);
    let stdout = child.stdout.take().unwrap();
    let c = &bed.cluster;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap_or(json!({}));
        if event["name"] == "wait-ready" && event["state"] == "started" {
            break;
        }
    }
    eventually("the wait's watch", Duration::from_secs(20), || {
        c.requests()
            .iter()
            .any(|r| r.is_watch() && r.path.contains("/clusters"))
            .then_some(())
    });
    c.drop_watches();
    c.expire_next_watch();
    c.drop_watches();
    for _ in lines.by_ref() {}
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_recovered(&bed, &old_uid);
}

#[test]
fn a_changed_runbook_is_noticed_on_resume() {
    let bed = Bed::kit("drill-changed");
    let old_uid = uid_of(&bed);
    kill_when(&bed, &[], |e| {
        e["state"] == "done" && e["name"] == "pause-argocd"
    });
    let page = bed.repo.read("content/cnpg-disaster-recovery.md");
    bed.repo.write(
        "content/cnpg-disaster-recovery.md",
        &page.replacen("timeout: 2h", "timeout: 3h", 1),
    );
    bed.run(&[DR, "--yes", "--resume"])
        .code(2)
        .says("the runbook changed since the run of");
    // A new run is refused while this one is unfinished...
    bed.run(&[DR, "--yes"])
        .code(2)
        .says("continue it with --resume");
    // ...and --force continues the journaled run with the new text.
    bed.run(&[DR, "--yes", "--resume", "--force"]).code(0);
    assert_recovered(&bed, &old_uid);
    assert_none_repeated(&bed);
}

#[test]
fn the_point_in_time_runbook_restores_beside_the_live_database() {
    let bed = Bed::kit("drill-pitr");
    let c = &bed.cluster;
    let live_uid = uid_of(&bed);
    std::thread::sleep(Duration::from_millis(1100));
    let target = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    std::thread::sleep(Duration::from_millis(1100));
    let v1_before = c.lineage("immich-database-v1");
    let var = format!("target_time={target}");
    let run = bed.run(&[PITR, "--yes", "--var", &var, "--to", "compare-data"]);
    run.code(0)
        .says("delete-side-cluster … skipped (not selected)");
    let side = wait_phase(c, "immich-database-pitr", HEALTHY);
    assert_eq!(
        side.pointer("/spec/bootstrap/recovery/recoveryTarget/targetTime")
            .unwrap(),
        &json!(target)
    );
    assert!(
        side.pointer("/spec/backup").is_none(),
        "the side cluster writes no backups"
    );
    assert_eq!(uid_of(&bed), live_uid, "the live Cluster is untouched");
    assert_eq!(
        c.get("cluster", NS, "immich-database")
            .unwrap()
            .pointer("/status/phase")
            .unwrap(),
        HEALTHY
    );
    let v1_after = c.lineage("immich-database-v1");
    assert_eq!(v1_after.base_backups.len(), v1_before.base_backups.len());
    assert!(c
        .contents(NS, "immich-database-pitr")
        .unwrap()
        .tables
        .iter()
        .any(|(t, _)| t == "assets"));
    assert!(
        !c.requests()
            .iter()
            .any(|r| r.path.contains("/applications") && r.is_mutation()),
        "Argo CD not touched"
    );
    // Later, the side Cluster alone goes; the live one stays.
    bed.run(&[
        PITR,
        "--yes",
        "--var",
        &var,
        "--only",
        "delete-side-cluster",
        "--force",
    ])
    .code(0)
    .says("delete-side-cluster … deleted, gone");
    assert!(c.get("cluster", NS, "immich-database-pitr").is_none());
    assert_eq!(uid_of(&bed), live_uid);
    // Without the variable it refuses to start.
    bed.run(&[PITR, "--yes"]).code(2).says("--var target_time=");
}
