//! Each step kind and option of `docs run`, on small runbooks against the
//! test cluster (its controllers off unless a test needs them: the test
//! plays the operator by patching status).

use std::time::Duration;

use serde_json::json;

use super::*;

const CM: &str = "```yaml {run action=create name=make-config}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\ndata:\n  mode: safe\n```\n";

fn mutations(c: &crate::cluster::TestCluster) -> Vec<String> {
    c.mutations()
        .iter()
        .filter(|r| !r.path.contains("/leases"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn shell_create_patch_assert_apply_and_delete_run_in_order() {
    let body = format!(
        "{CM}\n```bash {{run name=show readonly}}\nkubectl -n ns get configmap settings -o jsonpath='{{.data.mode}}'; echo\n```\n\n```yaml {{run action=patch name=tune}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n  annotations:\n    drop-me: \"x\"\ndata:\n  mode: fast\n```\n\n```yaml {{run action=patch name=untune}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n  annotations:\n    drop-me: null\n```\n\n```yaml {{run action=assert name=check}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\nassert:\n  - path: data.mode\n    equals: fast\n  - path: metadata.annotations[\"drop-me\"]\n    exists: false\n  - path: data.mode\n    matches: '^f'\n  - path: data.mode\n    in: [fast, safe]\n```\n\n```yaml {{run action=apply name=apply-other}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: ns\ndata:\n  a: b\n```\n\n```yaml {{run action=delete wait=gone name=drop}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n```\n"
    );
    let bed = Bed::small("run-kinds", &body, false);
    let run = bed.run(&["rb", "--yes"]);
    run.code(0)
        .says("[1/7] make-config … created")
        .says("│ safe")
        .says("[3/7] tune … patched")
        .says("[5/7] check … 1 object checked, 4 checks hold")
        .says("[6/7] apply-other … applied")
        .says("[7/7] drop … deleted, gone");
    let c = &bed.cluster;
    assert!(c.get("configmap", "ns", "settings").is_none());
    let other = c.get("configmap", "ns", "other").unwrap();
    assert_eq!(other["data"]["a"], "b");
    // The create is a POST, the apply a server-side apply by `docs`.
    let log = c.requests();
    let create = log
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/configmaps"))
        .unwrap();
    assert_eq!(
        create.body.as_ref().unwrap()["metadata"]["annotations"]["docs-run/created-by"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(1),
        Some("make-config")
    );
    let apply = log.iter().find(|r| r.is_apply()).unwrap();
    assert_eq!(apply.param("fieldManager"), Some("docs"));
    assert!(apply.path.ends_with("/configmaps/other"));
    let journal = bed.journal("rb");
    assert_eq!(journal["state"], "done");
    assert!(states(&journal).iter().all(|(_, s)| s == "done"));
}

#[test]
fn waits_use_a_watch_report_progress_and_fail_fast() {
    let body = "```yaml {run action=wait name=ready}\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\nfor: condition=Ready\ntimeout: 30s\nfail-if:\n  - path: status.phase\n    equals: Cluster is unrecoverable and needs manual intervention\n  - apiVersion: batch/v1\n    kind: Job\n    name: db-1-full-recovery\n    path: status.conditions[type=Failed].status\n    equals: \"True\"\n    message: the restore Job failed\n```\n";
    let bed = Bed::small("run-wait", body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "db", "namespace": "ns"}, "spec": {"instances": 1, "storage": {"size": "1Gi"}}})).unwrap();
    // Ready comes while the run waits: it returns, having watched.
    let child = bed.spawn(&["rb", "--yes"]);
    eventually("the run's watch", Duration::from_secs(20), || {
        c.requests()
            .iter()
            .any(|r| r.is_watch() && r.path.contains("/clusters"))
            .then_some(())
    });
    c.patch("cluster", "ns", "db", json!({"status": {"phase": "Setting up primary", "conditions": [{"type": "Ready", "status": "False", "message": "restoring"}]}})).unwrap();
    c.patch("cluster", "ns", "db", json!({"status": {"phase": "Cluster in healthy state", "conditions": [{"type": "Ready", "status": "True"}]}})).unwrap();
    let run = Ran::from(child.wait_with_output().unwrap());
    run.code(0)
        .says("Ready=False (restoring)")
        .says("[1/1] ready … condition Ready after");
    assert!(
        !c.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.ends_with("/clusters/db") && !r.is_watch()),
        "no polling GETs: a list and a watch"
    );
    // A condition that already holds returns at once.
    bed.run(&["rb", "--yes", "--force"]).code(0);
    // The related Job fails: the wait fails fast, with the guide's words.
    c.patch("cluster", "ns", "db", json!({"status": {"phase": "Setting up primary", "conditions": [{"type": "Ready", "status": "False"}]}})).unwrap();
    c.create(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "db-1-full-recovery", "namespace": "ns"}, "spec": {"template": {}}, "status": {"conditions": [{"type": "Failed", "status": "True"}]}})).unwrap();
    c.patch(
        "job",
        "ns",
        "db-1-full-recovery",
        json!({"status": {"conditions": [{"type": "Failed", "status": "True"}]}}),
    )
    .unwrap();
    let run = bed.run(&["rb", "--yes", "--force"]);
    run.code(1).says("the restore Job failed");
}

#[test]
fn a_wait_times_out_with_the_last_state_and_survives_dropped_watches() {
    let body = "```yaml {run action=wait name=done}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flag\n  namespace: ns\nfor: jsonpath={.data.state}=done\ntimeout: 3s\n```\n";
    let bed = Bed::small("run-timeout", body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "ns"}, "data": {"state": "working"}})).unwrap();
    let run = bed.run(&["rb"]);
    run.code(1)
        .says("timed out after 3.0 s waiting for data.state = done of ConfigMap ns/flag")
        .says("last seen: data.state = \"working\"");
    // Dropped watches and a 410 Gone: the wait re-lists and still sees it.
    let child = bed.spawn(&["rb", "--force"]);
    eventually("the watch", Duration::from_secs(20), || {
        c.requests()
            .iter()
            .filter(|r| r.is_watch())
            .count()
            .gt(&1)
            .then_some(())
    });
    c.expire_next_watch();
    c.drop_watches();
    c.patch(
        "configmap",
        "ns",
        "flag",
        json!({"data": {"state": "done"}}),
    )
    .unwrap();
    let run = Ran::from(child.wait_with_output().unwrap());
    run.code(0).says("[1/1] done … data.state = done");
}

#[test]
fn selectors_count_and_wait_for_sets() {
    let body = "```yaml {run action=assert name=two}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: ns\nselector: app=kit\ncount: 2\nassert:\n  - path: data.ok\n    equals: \"yes\"\n```\n\n```yaml {run action=wait name=all-gone}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: ns\nselector: app=kit\nfor: delete\ntimeout: 20s\n```\n";
    let bed = Bed::small("run-selector", body, false);
    let c = &bed.cluster;
    for n in ["a", "b"] {
        c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "ns", "labels": {"app": "kit"}}, "data": {"ok": "yes"}})).unwrap();
    }
    let child = bed.spawn(&["rb"]);
    eventually("the set's watch", Duration::from_secs(20), || {
        c.requests()
            .iter()
            .any(|r| r.is_watch() && r.query.contains("labelSelector"))
            .then_some(())
    });
    c.delete("configmap", "ns", "a").unwrap();
    c.delete("configmap", "ns", "b").unwrap();
    let run = Ran::from(child.wait_with_output().unwrap());
    run.code(0)
        .says("[1/2] two … 2 objects checked, 2 checks hold")
        .says("[2/2] all-gone … gone");
    // With one object, `count: 2` fails and says what it found.
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns", "labels": {"app": "kit"}}, "data": {"ok": "no"}})).unwrap();
    let run = bed.run(&["rb", "--only", "two"]);
    run.code(1)
        .says("1 object matches `app=kit`, 0 pass the checks; expected exactly 2")
        .says("`data.ok` should be \"yes\", found \"no\"");
}

#[test]
fn list_only_from_to_and_variables() {
    let body = "```bash {run name=one readonly}\necho one {{ vars.who }}\n```\n\n```bash {run name=two readonly template}\necho two {{ vars.who }}\n```\n\n```bash {run name=three readonly}\necho three\n```\n";
    let bed = Bed::small("run-select", body, false);
    bed.repo.write(
        "content/rb.md",
        &format!("---\ntitle: Test runbook\nrunbook: true\nvariables:\n  who:\n    description: who to greet\n    default: world\n---\n{body}"),
    );
    let list = bed.run(&["rb", "--list"]);
    list.code(0);
    assert!(
        list.stdout.contains("[1/3] one") && list.stdout.contains("[3/3] three"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("who (default: world): who to greet"),
        "{}",
        list.stdout
    );
    assert!(
        bed.cluster.requests().is_empty(),
        "--list talks to no cluster"
    );
    let run = bed.run(&["rb", "--only", "two", "--var", "who=operator"]);
    run.code(0)
        .says("[1/3] one … skipped (not selected)")
        .says("│ two operator")
        .says("[3/3] three … skipped (not selected)");
    assert_eq!(states(&bed.journal("rb"))[0].1, "skipped");
    let run = bed.run(&["rb", "--from", "2", "--to", "two"]);
    run.code(0).says("│ two world");
    bed.run(&["rb", "--only", "tow"])
        .code(2)
        .says("did you mean `two`?");
    bed.run(&["rb", "--var", "wh=x"])
        .code(2)
        .says("did you mean `who`?");
    bed.run(&["rbx", "--list"])
        .code(2)
        .says("did you mean `rb`?")
        .says("runbooks: rb");
}

#[test]
fn a_dry_run_changes_nothing_and_reports_what_would_happen() {
    let body = format!(
        "{CM}\n```yaml {{run action=delete name=drop-old}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: ns\n```\n\n```yaml {{run action=create destructive name=recreate-old}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: ns\ndata:\n  v: \"2\"\n```\n\n```bash {{run name=touch}}\ntouch should-not-exist\n```\n"
    );
    let bed = Bed::small("run-dry", &body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "ns"}, "data": {"v": "1"}})).unwrap();
    let rv = c.resource_version();
    c.clear_log();
    let run = bed.run(&["rb", "--dry-run"]);
    run.code(0)
        .says("make-config … would be created")
        .says("drop-old … would be deleted")
        .says("recreate-old … would be created once an earlier step has deleted the existing one")
        .says("touch … not run (dry run")
        .says("dry run done: every step would be accepted");
    assert_eq!(c.resource_version(), rv, "nothing persisted");
    assert!(!bed.repo.exists("should-not-exist"));
    let writes: Vec<_> = c
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(!writes.is_empty());
    assert!(
        writes.iter().all(|r| r.dry_run()),
        "only dry-run requests: {writes:?}"
    );
    assert!(
        !c.requests().iter().any(|r| r.path.contains("/leases")),
        "a dry run takes no lease"
    );
    // The API server's verdict counts: an invalid object is not accepted.
    bed.repo.write("content/rb.md", "---\ntitle: T\nrunbook: true\n---\n```yaml {run action=create name=bad}\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\nspec:\n  instances: many\n```\n");
    bed.run(&["rb", "--dry-run"]).code(1).says("422 Invalid");
    assert_eq!(c.resource_version(), rv);
    // A check before anything would change reads the cluster as it is: the
    // dry run fails now where the run would.
    bed.repo.write("content/rb.md", "---\ntitle: T\nrunbook: true\n---\n```yaml {run action=assert name=backups}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: missing\n  namespace: ns\nassert:\n  - path: data\n    exists: true\n```\n");
    bed.run(&["rb", "--dry-run"])
        .code(1)
        .says("ConfigMap ns/missing does not exist");
}

#[test]
fn destructive_steps_need_a_terminal_or_yes() {
    let body = format!("{CM}\n```yaml {{run action=delete name=drop}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n```\n");
    let bed = Bed::small("run-refuse", &body, false);
    let run = bed.run(&["rb"]);
    run.code(2)
        .says("step 2 `drop` is destructive and there is no terminal to confirm it on");
    assert!(
        mutations(&bed.cluster).is_empty(),
        "nothing ran: {:?}",
        mutations(&bed.cluster)
    );
    assert!(bed.cluster.get("configmap", "ns", "settings").is_none());
}

#[test]
fn cluster_errors_are_said_in_plain_words() {
    let body = "```yaml {run action=delete name=drop}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n```\n\n## \"AlreadyExists\" when creating\n\nWhat to do.\n";
    let bed = Bed::small("run-errors", body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ns"}})).unwrap();
    c.forbid("delete", "configmaps");
    bed.run(&["rb", "--yes"])
        .code(1)
        .says("refused by RBAC (403 Forbidden)")
        .says("cannot delete resource \"configmaps\"")
        .says("The user `test` may not do this");
    c.clear_faults();
    bed.run(&["rb", "--yes", "--force"]).code(0).says("deleted");
    // 409: a create of something that exists points at the guide's section.
    bed.repo.write("content/rb.md", &format!("---\ntitle: T\nrunbook: true\n---\n{CM}\n## \"AlreadyExists\" when creating\n\nWhat to do.\n"));
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ns"}})).unwrap();
    bed.run(&["rb", "--yes", "--force"])
        .code(1)
        .says("AlreadyExists (409)")
        .says("not by this run")
        .says("see: “\"AlreadyExists\" when creating” — content/rb.md#alreadyexists-when-creating");
    // Unreachable at preflight: exit 2, nothing journaled as started.
    c.refuse_connections(true);
    bed.run(&["rb", "--yes", "--force"])
        .code(2)
        .says("preflight:")
        .says("unreachable");
    c.refuse_connections(false);
    // A kind the cluster does not serve.
    bed.repo.write("content/rb.md", "---\ntitle: T\nrunbook: true\n---\n```yaml {run action=assert name=x}\napiVersion: example.org/v1\nkind: Thing\nmetadata:\n  name: t\n  namespace: ns\nassert:\n  - path: spec.a\n    exists: true\n```\n");
    bed.run(&["rb"])
        .code(2)
        .says("does not serve `Thing` in `example.org/v1`");
    // 404 on an assert: the object is named.
    bed.repo.write("content/rb.md", "---\ntitle: T\nrunbook: true\n---\n```yaml {run action=assert name=x}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: missing\n  namespace: ns\nassert:\n  - path: data\n    exists: true\n```\n");
    bed.run(&["rb", "--force"])
        .code(1)
        .says("ConfigMap ns/missing does not exist");
}

#[test]
fn secrets_and_tokens_are_redacted_everywhere() {
    let body = "```yaml {run action=create name=make}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n    - name: c\n      image: busybox\n      env:\n        - name: KEY\n          valueFrom:\n            secretKeyRef:\n              name: creds\n              key: KEY\n```\n\n```bash {run name=leak}\nkubectl -n ns get secret creds -o yaml\nkubectl -n ns get secret creds -o jsonpath='{.data.KEY}' | base64 -d; echo\necho \"token: $(kubectl config view --raw -o jsonpath='{.users[0].user.token}')\"\necho \"var: {{ vars.password }}\"\n```\n";
    let bed = Bed::small("run-redact", body, false);
    bed.repo.write(
        "content/rb.md",
        &format!("---\ntitle: T\nrunbook: true\nvariables:\n  password:\n    description: a secret\n    secret: true\n---\n{}", body.replace("```bash {run name=leak}", "```bash {run name=leak template}")),
    );
    let c = &bed.cluster;
    c.seed_yaml(&format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: ns\nstringData:\n  KEY: {PLANTED_SECRET}\n"));
    let run = bed.run(&["rb", "--yes", "--var", "password=hunter2-planted"]);
    run.code(0)
        .says("token: [redacted]")
        .says("var: [redacted]")
        .says("creds (present)");
    let transcript = bed.transcript("rb");
    let journal = bed.journal("rb").to_string();
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(PLANTED_SECRET)
    };
    for text in [&run.stdout, &run.stderr, &transcript, &journal] {
        for planted in [PLANTED_SECRET, b64.as_str(), &c.token(), "hunter2-planted"] {
            assert!(!text.contains(planted), "{planted} leaked into\n{text}");
        }
    }
    assert!(transcript.contains("[redacted]"), "{transcript}");
    // A Secret that a touched object references must exist.
    c.delete("secret", "ns", "creds").unwrap();
    c.delete("pod", "ns", "p").unwrap();
    bed.run(&["rb", "--yes", "--force", "--var", "password=x"])
        .code(2)
        .says("needs the Secret `creds` in namespace `ns`, which does not exist");
}

#[test]
fn one_run_at_a_time_and_json_events() {
    let body = "```bash {run name=slow readonly}\nsleep 30\n```\n";
    let bed = Bed::small("run-lease", body, false);
    let mut first = bed.spawn(&["rb"]);
    let c = &bed.cluster;
    eventually("the lease", Duration::from_secs(20), || {
        c.get("lease", "ns", "docs-run-rb")
            .or_else(|| c.list("lease", None).into_iter().next())
    });
    let second = bed.run(&["rb", "--force"]);
    second
        .code(2)
        .says("another run of this runbook holds the cluster's lease");
    first.kill().unwrap();
    let _ = first.wait();
    // A stale lease (its holder died) is reported and taken over.
    let lease = c.list("lease", None).into_iter().next().unwrap();
    let ns = lease["metadata"]["namespace"].as_str().unwrap().to_string();
    c.patch(
        "lease",
        &ns,
        "docs-run-rb",
        json!({"spec": {"renewTime": "2020-01-01T00:00:00.000000Z"}}),
    )
    .unwrap();
    bed.repo.write(
        "content/rb.md",
        "---\ntitle: T\nrunbook: true\n---\n```bash {run name=quick readonly}\necho hi\n```\n",
    );
    let run = bed.run(&["rb", "--force", "--output", "json"]);
    run.code(0).says("took over a stale lease");
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "preflight");
    assert!(events
        .iter()
        .any(|e| e["event"] == "step" && e["state"] == "done" && e["name"] == "quick"));
    assert_eq!(events.last().unwrap()["event"], "run");
    assert_eq!(events.last().unwrap()["exit"], 0);
    assert!(c.list("lease", None).is_empty(), "released at the end");
}

#[test]
fn on_a_terminal_the_first_destructive_step_asks_for_the_context_name() {
    let body = format!("{CM}\n```yaml {{run action=delete name=drop}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n```\n\n```yaml {{run action=create destructive name=again}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n```\n");
    let bed = Bed::small("run-pty", &body, false);
    let c = &bed.cluster;
    // A wrong name stops before anything is deleted.
    let mut t = Pty::spawn(&bed, &["rb"]);
    t.expect("Type the context name to continue:");
    t.type_line("prod");
    t.expect("That is not the context name.");
    t.type_line("");
    let (code, screen) = t.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Not confirmed: stopping here"), "{screen}");
    assert!(
        c.get("configmap", "ns", "settings").is_some(),
        "not deleted"
    );
    // The context name, then y for the next destructive step.
    let mut t = Pty::spawn(&bed, &["rb", "--resume"]);
    t.expect("destructive: delete ConfigMap ns/settings");
    t.expect("Type the context name to continue:");
    t.type_line("test");
    t.expect("destructive: create ConfigMap ns/settings");
    t.expect("Run this step? [y/N]");
    t.type_line("y");
    let (code, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("again … created"), "{screen}");
}

#[test]
fn on_a_terminal_a_failed_step_offers_retry_skip_abort() {
    let body = "```yaml {run action=assert name=flag}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flag\n  namespace: ns\nassert:\n  - path: data.ok\n    equals: \"yes\"\n```\n\n```bash {run name=after readonly}\necho after-ran\n```\n";
    let bed = Bed::small("run-retry", body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flag", "namespace": "ns"}, "data": {"ok": "no"}})).unwrap();
    let mut t = Pty::spawn(&bed, &["rb"]);
    t.expect("[r]etry, [s]kip this step, or [a]bort?");
    // Fixed meanwhile: retry succeeds and the run goes on.
    c.patch("configmap", "ns", "flag", json!({"data": {"ok": "yes"}}))
        .unwrap();
    t.type_line("r");
    t.expect("after-ran");
    let (code, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    // Broken again: skip goes on, abort stops with 1.
    c.patch("configmap", "ns", "flag", json!({"data": {"ok": "no"}}))
        .unwrap();
    let mut t = Pty::spawn(&bed, &["rb"]);
    t.expect("[a]bort?");
    t.type_line("s");
    t.expect("after-ran");
    assert_eq!(t.finish().0, 0);
    assert_eq!(states(&bed.journal("rb"))[0].1, "skipped");
    let mut t = Pty::spawn(&bed, &["rb"]);
    t.expect("[a]bort?");
    t.type_line("a");
    let (code, screen) = t.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(!screen.contains("after-ran"), "{screen}");
}

#[test]
fn a_shell_step_cut_short_is_never_repeated_silently() {
    let body = "```bash {run name=append}\necho line >> ledger.txt\nsleep 30\n```\n";
    let bed = Bed::small("run-shell-resume", body, false);
    let mut child = bed.spawn(&["rb", "--yes"]);
    eventually("the step's first effect", Duration::from_secs(20), || {
        bed.repo.exists("ledger.txt").then_some(())
    });
    child.kill().unwrap();
    let _ = child.wait();
    // Without a terminal: refuse, do not run it again.
    bed.run(&["rb", "--resume"])
        .code(2)
        .says("only a person can tell whether it took effect");
    assert_eq!(bed.repo.read("ledger.txt"), "line\n");
    // On a terminal: the operator says it completed; it is not run again.
    let mut t = Pty::spawn(&bed, &["rb", "--resume"]);
    t.expect("Did it complete (mark it done without running it again)? [y/N]");
    t.type_line("y");
    let (code, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(bed.repo.read("ledger.txt"), "line\n");
    assert_eq!(bed.journal("rb")["state"], "done");
}

#[test]
fn ctrl_c_stops_the_step_and_a_second_one_exits_at_once() {
    // The script ignores SIGTERM: stopping it takes the grace period.
    let body = "```bash {run name=stubborn}\ntrap '' TERM\necho started\nsleep 30\n```\n";
    let bed = Bed::small("run-ctrl-c", body, false);
    let child = bed.spawn(&["rb"]);
    let pid = child.id() as i32;
    eventually("the step", Duration::from_secs(20), || {
        bed.repo
            .path(".docs/runs/rb")
            .read_dir()
            .ok()?
            .next()
            .map(|_| ())
    });
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals to our own child.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    std::thread::sleep(Duration::from_millis(100));
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The second Ctrl-C did not wait for the cleanup: the journal still
    // says started (resume will reconcile it), not interrupted.
    let j = bed.journal("rb");
    assert_eq!(states(&j)[0].1, "started", "{j:#}");
    // One Ctrl-C: the group is stopped, the step journaled interrupted.
    bed.repo.write(
        "content/rb.md",
        "---\ntitle: T\nrunbook: true\n---\n```bash {run name=slow}\necho started\nsleep 30\n```\n",
    );
    let child = bed.spawn(&["rb", "--force"]);
    let pid = child.id() as i32;
    std::thread::sleep(Duration::from_millis(800));
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first run's lease was left behind; its process is gone.
    assert!(String::from_utf8_lossy(&out.stderr).contains("that process is gone from this machine"));
    let j = bed.journal("rb");
    assert_eq!(j["state"], "interrupted");
    assert_eq!(states(&j)[0].1, "interrupted");
}

#[test]
fn a_corrupt_journal_is_reported_and_kept() {
    let bed = Bed::small(
        "run-corrupt",
        "```bash {run name=a readonly}\necho a\n```\n",
        false,
    );
    let mut child = bed.spawn(&["rb"]);
    child.kill().unwrap();
    let _ = child.wait();
    let base = bed.repo.path(".docs/runs/rb");
    std::fs::create_dir_all(base.join("20991231T000000.000Z-1")).unwrap();
    let path = base.join("20991231T000000.000Z-1/journal.json");
    std::fs::write(&path, "{\"version\": 1, \"run_id\": \"x\", \"steps\": [").unwrap();
    bed.run(&["rb", "--resume"])
        .code(2)
        .says("the journal is corrupt")
        .says("journal.json:1:");
    assert!(path.exists(), "kept as it is");
}

#[test]
fn shell_steps_talk_to_the_runs_context_whatever_the_current_one_is() {
    let body = "```bash {run name=which readonly}\nkubectl config current-context\nkubectl get namespace ns -o jsonpath='{.metadata.name}'; echo\n```\n";
    let bed = Bed::small("run-context", body, false);
    // The user's kubeconfig points elsewhere by default.
    let text = std::fs::read_to_string(&bed.kubeconfig).unwrap();
    std::fs::write(
        &bed.kubeconfig,
        text.replace("current-context: test", "current-context: other"),
    )
    .unwrap();
    bed.run(&["rb"])
        .code(2)
        .says("preflight:")
        .says("unreachable");
    let run = bed.run(&["rb", "--context", "test", "--force"]);
    run.code(0).says("│ test").says("│ ns");
    assert_eq!(
        std::fs::read_to_string(&bed.kubeconfig)
            .unwrap()
            .matches("current-context: other")
            .count(),
        1,
        "the user's kubeconfig is not changed"
    );
}

#[test]
fn a_delete_never_removes_another_object_of_the_same_name() {
    let body = "```yaml {run action=assert name=look}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\nassert:\n  - path: data.mode\n    exists: true\n```\n\n```bash {run name=meanwhile readonly}\nkubectl -n ns delete configmap settings\nkubectl -n ns create configmap settings --from-literal=mode=new\n```\n\n```yaml {run action=delete name=drop}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n```\n";
    let bed = Bed::small("run-uid", body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ns"}, "data": {"mode": "old"}})).unwrap();
    let run = bed.run(&["rb", "--yes"]);
    run.code(1)
        .says("is not the object this run saw")
        .says("Not deleting it.");
    assert_eq!(
        c.get("configmap", "ns", "settings").unwrap()["data"]["mode"],
        "new"
    );
    let delete = c
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE" && !r.user_agent.contains("kubectl"))
        .unwrap();
    assert!(
        delete.raw_body.contains("\"uid\""),
        "a uid precondition: {}",
        delete.raw_body
    );
}

#[test]
fn mutating_requests_are_never_retried_reads_may_be() {
    let bed = Bed::small("run-retry-policy", CM, false);
    let c = &bed.cluster;
    // A 503 on the create: kube would retry it by default; we must not.
    c.unavailable("create", "configmaps", Some(1));
    bed.run(&["rb", "--yes"]).code(1).says("503");
    let posts = c
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/configmaps"))
        .count();
    assert_eq!(posts, 1, "sent once");
    // A 503 on a read is retried.
    bed.repo.write("content/rb.md", "---\ntitle: T\nrunbook: true\n---\n```yaml {run action=assert name=look}\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\nassert:\n  - path: metadata.name\n    equals: ns\n```\n");
    c.clear_log();
    c.unavailable("get", "namespaces", Some(1));
    bed.run(&["rb", "--force"]).code(0);
    let gets = c
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/namespaces/ns"))
        .count();
    assert_eq!(gets, 2, "retried once");
}

#[test]
fn journals_go_where_asked_and_the_default_is_git_ignored() {
    let bed = Bed::small(
        "run-journal-dir",
        "```bash {run name=a readonly}\necho a\n```\n",
        false,
    );
    bed.run(&["rb", "--journal", "ops/runs"]).code(0);
    let runs: Vec<_> = std::fs::read_dir(bed.repo.path("ops/runs"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1);
    let dir = runs[0].as_ref().unwrap().path();
    assert!(dir.join("journal.json").is_file() && dir.join("transcript.md").is_file());
    bed.run(&["rb"]).code(0);
    assert_eq!(bed.repo.read(".docs/.gitignore").lines().last(), Some("*"));
}

/// Issue #13: the run journal goes through the output guard like the
/// site: never into the sources, the site, `.git` or over the repository.
#[test]
fn a_journal_directory_in_the_sources_is_refused_before_anything_runs() {
    let bed = Bed::small(
        "run-journal-guard",
        "```bash {run name=a readonly}\necho a > touched\n```\n",
        false,
    );
    let before = crate::common::snapshot(&bed.repo.path("content"));
    for (dir, says) in [
        ("content", "it is the content directory"),
        ("content/runs", "it lies inside the content directory"),
        (".git/runs", ".git"),
        (".", "repository root"),
    ] {
        bed.run(&["rb", "--journal", dir])
            .code(2)
            .says("refusing to write the run journal here")
            .says(says);
    }
    assert_eq!(crate::common::snapshot(&bed.repo.path("content")), before);
    assert!(!bed.repo.path("touched").exists(), "no step ran");
    assert!(
        bed.cluster.requests().is_empty(),
        "nothing was asked of the cluster"
    );
}

#[test]
fn the_lease_lives_in_the_runbooks_namespace_or_default_when_it_is_gone() {
    let body = "```yaml {run action=assert name=look}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: lost\nassert:\n  - path: data\n    exists: true\n```\n";
    let bed = Bed::small("run-lease-ns", body, false);
    let run = bed.run(&["rb"]);
    run.code(1)
        .says("namespace lost does not exist: the run's lease goes to `default`")
        .says("ConfigMap lost/x does not exist");
    let c = &bed.cluster;
    assert!(c.requests().iter().any(|r| r.method == "POST"
        && r.path == "/apis/coordination.k8s.io/v1/namespaces/default/leases"));
    // With the namespace there, the lease is taken in it.
    c.seed_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: lost\n");
    c.clear_log();
    bed.run(&["rb", "--force"]).code(1);
    assert!(c
        .requests()
        .iter()
        .any(|r| r.method == "POST"
            && r.path == "/apis/coordination.k8s.io/v1/namespaces/lost/leases"));
}
