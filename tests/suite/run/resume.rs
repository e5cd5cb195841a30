//! Resume and the lease under the interleavings a hostile review found:
//! a delete whose answer was lost while something recreated its object,
//! two `--resume` of one run, a lease taken over mid-run, an old run
//! superseded by a newer one, a step the operator skipped, another
//! cluster behind the same context name. Each would have repeated or
//! misplaced a change.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;

const SETTINGS: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n";

fn deletes(c: &crate::cluster::TestCluster, name: &str) -> usize {
    c.requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.ends_with(&format!("/configmaps/{name}")))
        .filter(|r| !r.user_agent.contains("kubectl"))
        .count()
}

fn settings(mode: &str, finalizer: bool) -> Value {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "ns"}, "data": {"mode": mode}});
    if finalizer {
        obj["metadata"]["finalizers"] = json!(["example.com/hold"]);
    }
    obj
}

fn uid(v: &Value) -> String {
    v["metadata"]["uid"].as_str().unwrap().to_string()
}

/// Killed after its DELETE arrived but before the answer: Argo CD (say)
/// recreates the object. Resume must see the journaled uid is gone and
/// leave the new object alone — before, it sent a second, unconditional
/// DELETE that removed it.
#[test]
fn a_delete_killed_before_its_answer_never_deletes_the_namesake_made_since() {
    let body = format!("```yaml {{run action=delete name=drop}}\n{SETTINGS}```\n");
    let bed = Bed::small("resume-delete-namesake", &body, false);
    let c = &bed.cluster;
    let old = c.create(settings("old", false)).unwrap();
    c.delay("delete", "configmaps", Duration::from_secs(30));
    let mut child = bed.spawn(&["rb", "--yes"]);
    eventually("the DELETE to arrive", Duration::from_secs(20), || {
        c.get("configmap", "ns", "settings").is_none().then_some(())
    });
    child.kill().unwrap();
    let _ = child.wait();
    c.clear_faults();
    let new = c.create(settings("recreated", false)).unwrap();
    assert_ne!(uid(&old), uid(&new));
    let journal = bed.journal("rb");
    assert_eq!(journal["steps"][0]["state"], "started");
    assert_eq!(journal["steps"][0]["target_uid"], uid(&old).as_str());

    bed.run(&["rb", "--resume", "--yes"])
        .code(0)
        .says("is a new object of the same name");
    let live = c.get("configmap", "ns", "settings").expect("left alone");
    assert_eq!(uid(&live), uid(&new));
    assert_eq!(deletes(c, "settings"), 1, "the DELETE was sent once");
}

/// A delete whose wait failed after the DELETE was accepted is `failed`:
/// resume checks the cluster before sending anything again.
#[test]
fn a_failed_delete_is_reconciled_on_resume_not_sent_again() {
    let body = format!("```yaml {{run action=delete wait=gone name=drop}}\n{SETTINGS}```\n");
    let bed = Bed::small("resume-failed-delete", &body, false);
    let c = &bed.cluster;
    let old = c.create(settings("old", true)).unwrap();
    // The DELETE is accepted (the finalizer keeps the object), then the
    // wait for it to go is refused.
    c.forbid("list", "configmaps");
    c.forbid("watch", "configmaps");
    bed.run(&["rb", "--yes"]).code(1);
    assert_eq!(states(&bed.journal("rb"))[0].1, "failed");
    assert_eq!(deletes(c, "settings"), 1);
    c.clear_faults();
    // Meanwhile the finalizer is done and the object recreated.
    c.patch(
        "configmap",
        "ns",
        "settings",
        json!({"metadata": {"finalizers": null}}),
    )
    .unwrap();
    c.wait_until("the old object to go", Duration::from_secs(10), |c| {
        c.get("configmap", "ns", "settings").is_none().then_some(())
    });
    let new = c.create(settings("recreated", false)).unwrap();
    bed.run(&["rb", "--resume", "--yes"])
        .code(0)
        .says("is a new object of the same name");
    assert_eq!(deletes(c, "settings"), 1, "not sent again");
    assert_eq!(
        uid(&c.get("configmap", "ns", "settings").unwrap()),
        uid(&new)
    );
    assert_ne!(uid(&old), uid(&new));
}

const SLOW: &str = "```bash {run name=slow readonly}\ntouch started-$$\nsleep 30\n```\n\n```yaml {run action=create name=make}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\n  namespace: ns\n```\n";

fn started(bed: &Bed) -> usize {
    std::fs::read_dir(&bed.repo.root)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("started-")
        })
        .count()
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Two `--resume` of one run (a second terminal, a pane thought frozen)
/// never run side by side: the lease names the run, but its live holder
/// still renews it.
#[test]
fn a_second_resume_of_a_run_is_refused_while_the_first_lives() {
    let bed = Bed::small("resume-twice", SLOW, false);
    let first = bed.spawn(&["rb", "--yes"]);
    eventually("the first run's step", Duration::from_secs(20), || {
        (started(&bed) == 1).then_some(())
    });
    stop(first);
    // The killed run's lease is taken over at once: its process is gone.
    let second = bed.spawn(&["rb", "--resume", "--yes"]);
    eventually("the resumed step", Duration::from_secs(20), || {
        (started(&bed) == 2).then_some(())
    });
    let third = bed.run(&["rb", "--resume", "--yes"]);
    third
        .code(2)
        .says("another run of this runbook holds the cluster's lease");
    assert_eq!(started(&bed), 2, "the step did not run a third time");
    stop(second);
}

/// A run whose lease was taken over stops before its next change.
#[test]
fn a_run_that_lost_its_lease_stops_before_its_next_change() {
    let body = SLOW.replace("sleep 30", "sleep 14");
    let bed = Bed::small("resume-lease-lost", &body, false);
    let c = &bed.cluster;
    let child = bed.spawn(&["rb", "--yes"]);
    eventually("the first step", Duration::from_secs(20), || {
        (started(&bed) == 1).then_some(())
    });
    let lease = c
        .list("leases", Some("ns"))
        .into_iter()
        .next()
        .expect("the run's lease");
    let name = lease["metadata"]["name"].as_str().unwrap().to_string();
    c.patch(
        "leases",
        "ns",
        &name,
        json!({"spec": {"holderIdentity": "another-run someone@elsewhere pid 1"}}),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("the run's lease on the cluster was lost"),
        "{stdout}\n{stderr}"
    );
    assert!(
        c.get("configmap", "ns", "made").is_none(),
        "no change after the loss"
    );
    let lease = c
        .get("leases", "ns", &name)
        .expect("not deleted by the loser");
    assert_eq!(
        lease["spec"]["holderIdentity"],
        "another-run someone@elsewhere pid 1"
    );
}

const FLAG: &str = "```yaml {run action=assert name=flag}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flag\n  namespace: ns\nassert:\n  - path: data.ok\n    equals: \"yes\"\n```\n\n```yaml {run action=create name=make}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\n  namespace: ns\n```\n";

/// Only the newest run can be resumed: an older unfinished one was
/// superseded by a newer run, and its steps were rendered back then.
#[test]
fn an_older_unfinished_run_is_not_resumed_after_a_newer_one_finished() {
    let bed = Bed::small("resume-newest", FLAG, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "ns"}, "data": {"ok": "no"}})).unwrap();
    bed.run(&["rb", "--yes"]).code(1);
    c.patch("configmap", "ns", "flag", json!({"data": {"ok": "yes"}}))
        .unwrap();
    bed.run(&["rb", "--yes", "--force"]).code(0);
    c.delete("configmap", "ns", "made").unwrap();
    c.clear_log();
    bed.run(&["rb", "--resume", "--yes"])
        .code(2)
        .says("only the newest run can be resumed");
    assert!(c.mutations().iter().all(|r| r.path.contains("/leases")));
}

/// A step the operator skipped when it failed stays skipped on resume
/// (with `--yes`, it would otherwise run unconfirmed).
#[test]
fn a_step_the_operator_skipped_is_not_run_by_resume() {
    let body = format!("```yaml {{run action=delete name=drop}}\n{SETTINGS}```\n\n```yaml {{run action=assert name=flag}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flag\n  namespace: ns\nassert:\n  - path: data.ok\n    equals: \"yes\"\n```\n");
    let bed = Bed::small("resume-skipped", &body, false);
    let c = &bed.cluster;
    c.create(settings("keep", false)).unwrap();
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "ns"}, "data": {"ok": "no"}})).unwrap();
    c.forbid("delete", "configmaps");
    let mut t = Pty::spawn(&bed, &["rb"]);
    t.expect("Type the context name");
    t.type_line("test");
    t.expect("[a]bort?");
    t.type_line("s");
    t.expect("[a]bort?");
    t.type_line("a");
    assert_eq!(t.finish().0, 1);
    assert_eq!(states(&bed.journal("rb"))[0].1, "skipped-by-operator");
    c.clear_faults();
    c.patch("configmap", "ns", "flag", json!({"data": {"ok": "yes"}}))
        .unwrap();
    bed.run(&["rb", "--resume", "--yes"])
        .code(0)
        .says("skipped earlier by the operator");
    assert!(
        c.get("configmap", "ns", "settings").is_some(),
        "not deleted"
    );
    assert_eq!(deletes(c, "settings"), 1, "only the forbidden attempt");
}

/// Context names repeat across clusters: a resume against another server
/// behind the same context name needs --force.
#[test]
fn a_resume_against_another_server_of_the_same_context_name_is_refused() {
    let bed = Bed::small("resume-server", FLAG, false);
    bed.cluster.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "ns"}, "data": {"ok": "no"}})).unwrap();
    bed.run(&["rb", "--yes"]).code(1);
    let other = crate::cluster::TestCluster::start();
    other.seed_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = other.kubeconfig(dir.path());
    let out = docs_run(&bed.repo.root, &kubeconfig, &["rb", "--resume", "--yes"])
        .output()
        .unwrap();
    let ran = Ran::from(out);
    ran.code(2).says("was against the server");
    assert!(
        other.mutations().is_empty(),
        "nothing sent to the other cluster"
    );
}

/// A secret variable given with --var is not journaled: resume needs it
/// again instead of silently running with its default.
#[test]
fn a_secret_given_with_var_is_asked_for_again_on_resume() {
    let bed = Bed::small("resume-secret", "", false);
    bed.repo.write(
        "content/rb.md",
        "---\ntitle: T\nrunbook: true\nvariables:\n  password:\n    description: a secret\n    default: fallback\n    secret: true\n---\n```bash {run name=use template}\ntest -f ready\necho {{ vars.password }} > used.txt\n```\n",
    );
    bed.run(&["rb", "--var", "password=s3cret-value"]).code(1);
    bed.repo.write("ready", "");
    bed.run(&["rb", "--resume"])
        .code(2)
        .says("the variables differ from the journaled run (password)");
    assert!(!bed.repo.exists("used.txt"), "not run with the default");
    bed.run(&["rb", "--resume", "--var", "password=s3cret-value"])
        .code(0);
    assert_eq!(bed.repo.read("used.txt"), "s3cret-value\n");
    let journal =
        std::fs::read_to_string(newest_run(&bed.repo.root, "rb").join("journal.json")).unwrap();
    assert!(!journal.contains("s3cret-value"), "{journal}");
}
