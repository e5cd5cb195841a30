//! `docs check` end to end on copies of this repository, mutated.

use crate::common::Repo;

const CLUSTER: &str = "manifests/infrastructure/database/cnpg/immich/cluster.yaml";
const SCHEDULE: &str = "manifests/infrastructure/database/cnpg/immich/scheduled-backup.yaml";

fn crds() -> String {
    format!("{}/crds", env!("CARGO_MANIFEST_DIR"))
}

fn edit(repo: &Repo, rel: &str, from: &str, to: &str) {
    let text = repo.read(rel);
    assert!(text.contains(from), "{rel} has no {from:?}");
    repo.write(rel, &text.replacen(from, to, 1));
}

/// The JSON diagnostics of `docs check`.
fn diagnostics(repo: &Repo, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let run = repo.docs(&args);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let diags = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (run.code, diags)
}

/// The first error with `code`.
fn the_error<'a>(diags: &'a [serde_json::Value], code: &str) -> &'a serde_json::Value {
    diags
        .iter()
        .find(|d| d["severity"] == "error" && d["code"] == code)
        .unwrap_or_else(|| panic!("no {code} error in {diags:#?}"))
}

fn errors(diags: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    diags.iter().filter(|d| d["severity"] == "error").collect()
}

/// 1-based line of the first line of `rel` containing `needle`.
fn line_of(repo: &Repo, rel: &str, needle: &str) -> usize {
    repo.read(rel)
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {rel}"))
        + 1
}

/// Asserts that `d` points at the first line of `rel` containing `needle`.
#[track_caller]
fn assert_at(repo: &Repo, d: &serde_json::Value, rel: &str, needle: &str) {
    assert_eq!(
        at(d),
        format!("{rel}:{}", line_of(repo, rel, needle)),
        "{d}"
    );
}

/// The same for the first related location (the manifest side).
#[track_caller]
fn assert_related(repo: &Repo, d: &serde_json::Value, rel: &str, needle: &str) {
    assert_eq!(
        related(d),
        format!("{rel}:{}", line_of(repo, rel, needle)),
        "{d}"
    );
}

fn at(d: &serde_json::Value) -> String {
    format!("{}:{}", d["file"].as_str().unwrap(), d["line"])
}

fn related(d: &serde_json::Value) -> String {
    format!(
        "{}:{}",
        d["related"][0]["file"].as_str().unwrap(),
        d["related"][0]["line"]
    )
}

#[test]
fn the_repository_passes_with_the_real_crds() {
    let repo = Repo::copy_of_project("check-clean");
    // docs.toml names the repository's own crds/: no flag needed.
    let run = repo.docs(&["check", "--deny", "warnings"]);
    run.ok();
    assert!(
        run.stderr
            .contains("validated against 6 CRDs: 0 errors, 0 warnings"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("note[placeholder]"),
        "placeholders are listed"
    );
}

#[test]
fn a_changed_retention_is_drift_at_both_lines_and_fix_round_trips() {
    let repo = Repo::copy_of_project("check-retention");
    edit(
        &repo,
        CLUSTER,
        "retentionPolicy: \"14d\"",
        "retentionPolicy: \"30d\"",
    );
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let drift: Vec<_> = errors(&diags)
        .into_iter()
        .filter(|d| d["code"] == "block-drift")
        .collect();
    assert_eq!(drift.len(), 1, "{diags:#?}");
    let dr = "content/cnpg-disaster-recovery.md";
    assert_at(&repo, drift[0], dr, "retentionPolicy: \"14d\"");
    assert_related(&repo, drift[0], CLUSTER, "retentionPolicy: \"30d\"");
    assert!(drift[0]["message"]
        .as_str()
        .unwrap()
        .contains("`retentionPolicy` is \"14d\" here but \"30d\" in the manifest"));
    assert!(drift[0]["diff"]
        .as_str()
        .unwrap()
        .contains("-retentionPolicy: 30d\n+retentionPolicy: 14d"));

    let run = repo.docs(&["check", "--fix"]);
    let fence = line_of(&repo, dr, "select=\"spec.backup\"}");
    assert!(
        run.stderr
            .contains(&format!("fixed {dr}: block at line {fence} from {CLUSTER}")),
        "{}",
        run.stderr
    );
    assert!(repo
        .read("content/cnpg-disaster-recovery.md")
        .contains("retentionPolicy: \"30d\""));
    // Only CLAUDE.md (which quotes the retention) is left; build fixes it.
    let (_, diags) = diagnostics(&repo, &[]);
    let codes: Vec<&str> = errors(&diags)
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["claude-md-stale"]);
    repo.docs(&["build"]).ok();
    let (code, _) = diagnostics(&repo, &[]);
    assert_eq!(code, 0, "fixed and rebuilt: clean");
}

#[test]
fn fix_keeps_indentation_and_fixes_excerpt_values_in_place() {
    let repo = Repo::empty("check-fix-indent");
    repo.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"2\"\n  y: \"3\"\n",
    );
    repo.write(
        "content/p.md",
        "# P\n\n1. First:\n\n   ```yaml {source=\"a.yaml\" select=\"data\"}\n   x: \"1\"\n   y: \"3\"\n   ```\n\n```yaml {source=\"a.yaml\" select=\"data\" excerpt}\nx: \"1\" # kept\n```\n",
    );
    repo.docs(&["check", "--fix"]).ok();
    let page = repo.read("content/p.md");
    assert!(
        page.contains(
            "   ```yaml {source=\"a.yaml\" select=\"data\"}\n   x: \"2\"\n   y: \"3\"\n   ```"
        ),
        "{page}"
    );
    assert!(
        page.contains("excerpt}\nx: \"2\" # kept\n```"),
        "excerpt values are fixed in place: {page}"
    );
    // An excerpt with a key the manifest lacks is left to a person.
    repo.write(
        "content/p.md",
        "# P\n\n```yaml {source=\"a.yaml\" select=\"data\" excerpt}\nz: \"1\"\n```\n",
    );
    let run = repo.docs(&["check", "--fix"]);
    run.fails();
    assert!(
        run.stderr
            .contains("`--fix` can only change values in an excerpt"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_five_field_schedule_says_what_it_really_does() {
    let repo = Repo::copy_of_project("check-schedule");
    edit(
        &repo,
        SCHEDULE,
        "schedule: \"0 0 2 * * *\"",
        "schedule: \"0 2 * * *\"",
    );
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let d = the_error(&diags, "cnpg-schedule");
    assert_at(&repo, d, SCHEDULE, "schedule: \"0 2");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("at minute 2 of every hour"),
        "{d}"
    );
    assert!(
        d["notes"][0]
            .as_str()
            .unwrap()
            .contains("schedule: \"0 0 2 * * *\""),
        "{d}"
    );
    // The docs quote the schedule too: the excerpt drifts.
    assert!(diags
        .iter()
        .any(|d| d["code"] == "block-drift" && d["file"] == "content/cnpg-disaster-recovery.md"));
}

#[test]
fn a_changed_server_name_drifts_and_the_table_follows() {
    let repo = Repo::copy_of_project("check-servername");
    edit(
        &repo,
        CLUSTER,
        "      serverName: immich-database-v1\n",
        "      serverName: immich-database-v2\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    let d = the_error(&diags, "block-drift");
    let dr = "content/cnpg-disaster-recovery.md";
    assert_at(&repo, d, dr, "  serverName: immich-database-v1");
    assert_related(&repo, d, CLUSTER, "      serverName: immich-database-v2");
    repo.docs(&["build", "--no-check"]).ok();
    let dr = repo.read("public/cnpg-disaster-recovery.html");
    assert!(
        dr.contains("<code>immich-database-v3</code>"),
        "the generated lineage table follows the manifest"
    );
}

#[test]
fn a_deleted_listed_file_and_an_unlisted_file() {
    let repo = Repo::copy_of_project("check-kustomize");
    std::fs::remove_file(repo.path(SCHEDULE)).unwrap();
    repo.write(
        "manifests/infrastructure/database/cnpg/immich/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    let missing = diags
        .iter()
        .find(|d| d["code"] == "kustomization-missing")
        .expect("missing");
    let k = "manifests/infrastructure/database/cnpg/immich/kustomization.yaml";
    assert_at(&repo, missing, k, "- scheduled-backup.yaml");
    assert!(missing["message"]
        .as_str()
        .unwrap()
        .contains("`scheduled-backup.yaml` is listed"));
    let unlisted = diags
        .iter()
        .find(|d| d["code"] == "kustomization-unlisted")
        .expect("unlisted");
    assert_eq!(unlisted["severity"], "warning");
    assert_eq!(
        unlisted["file"],
        "manifests/infrastructure/database/cnpg/immich/extra.yaml"
    );
    // The guide quoted the deleted manifest.
    assert!(diags
        .iter()
        .any(|d| d["code"] == "expression" || d["code"] == "block-no-manifest"));
}

#[test]
fn a_secret_missing_from_the_inventory() {
    let repo = Repo::copy_of_project("check-secret");
    edit(
        &repo,
        CLUSTER,
        "        name: immich-app-secret\n",
        "        name: immich-owner\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    let d = the_error(&diags, "secret-not-in-inventory");
    assert_at(&repo, d, CLUSTER, "name: immich-owner");
    assert_eq!(d["column"], 15);
    assert_eq!(related(d), "content/secrets.md:0");
    assert!(d["message"].as_str().unwrap().contains("`immich-owner`"));
}

#[test]
fn an_inventory_entry_without_a_manifest() {
    let repo = Repo::copy_of_project("check-inventory");
    let inv = "content/secrets.md";
    edit(
        &repo,
        inv,
        "|---|---|---|---|---|\n",
        "|---|---|---|---|---|\n| `ghost-secret` | x | x | x | x |\n",
    );
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let d = the_error(&diags, "inventory-unknown-secret");
    assert_at(&repo, d, inv, "ghost-secret");
    assert!(d["message"].as_str().unwrap().contains("`ghost-secret`"));
}

#[test]
fn a_recovery_whose_source_equals_its_target() {
    let repo = Repo::empty("check-lineage");
    repo.write(
        "manifests/db.yaml",
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\nspec:\n  instances: 1\n  bootstrap:\n    recovery:\n      source: db-backup\n  externalClusters:\n    - name: db-backup\n      barmanObjectStore:\n        destinationPath: s3://b\n        serverName: db-v1\n  backup:\n    barmanObjectStore:\n      destinationPath: s3://b\n      serverName: db-v1\n",
    );
    repo.write("content/a.md", "# A\n");
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let d = the_error(&diags, "cnpg-lineage");
    assert_eq!(at(d), "manifests/db.yaml:19");
    assert_eq!(related(d), "manifests/db.yaml:15");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("Expected empty archive"));
    assert!(d["notes"][0].as_str().unwrap().contains("`db-v2`"));
    // An earlier source is right; a later one is not.
    edit(
        &repo,
        "manifests/db.yaml",
        "      destinationPath: s3://b\n      serverName: db-v1\n",
        "      destinationPath: s3://b\n      serverName: db-v2\n",
    );
    let (code, _) = diagnostics(&repo, &[]);
    assert_eq!(code, 0);
    edit(
        &repo,
        "manifests/db.yaml",
        "        serverName: db-v1\n",
        "        serverName: db-v3\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    assert!(errors(&diags).iter().any(|d| d["code"] == "cnpg-lineage"
        && d["message"].as_str().unwrap().contains("earlier lineage")));
}

#[test]
fn scheduled_backup_of_a_missing_cluster() {
    let repo = Repo::copy_of_project("check-sb");
    edit(
        &repo,
        SCHEDULE,
        "    name: immich-database\n",
        "    name: immich-databse\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    let d = the_error(&diags, "scheduledbackup-cluster");
    assert_at(&repo, d, SCHEDULE, "name: immich-databse");
    assert_eq!(d["notes"][0], "did you mean `immich-database`?");
}

#[test]
fn schema_errors_point_at_the_field() {
    let repo = Repo::copy_of_project("check-schema");
    edit(
        &repo,
        CLUSTER,
        "  instances: 1\n",
        "  instances: one\n  instancez: 1\n",
    );
    let crds = crds();
    let (_, diags) = diagnostics(&repo, &["--crds", &crds]);
    let schema: Vec<String> = diags
        .iter()
        .filter(|d| d["code"] == "schema")
        .map(|d| format!("{} {}", at(d), d["message"].as_str().unwrap()))
        .collect();
    let line = line_of(&repo, CLUSTER, "instances: one");
    assert!(
        schema.contains(&format!(
            "{CLUSTER}:{line} `spec.instances`: must be an integer, found the string \"one\""
        )),
        "{schema:#?}"
    );
    assert!(
        schema.contains(&format!(
            "{CLUSTER}:{} `spec.instancez` is not a known field; did you mean `instances`?",
            line + 1
        )),
        "{schema:#?}"
    );
}

#[test]
fn unannotated_blocks_must_match_a_manifest_or_be_examples() {
    let repo = Repo::empty("check-identity");
    repo.write(
        "manifests/s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\nstringData:\n  A: b\n",
    );
    repo.write(
        "content/a.md",
        "# A\n\n```yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  A: c\n```\n\n```yaml\nfoo: bar\n```\n\n```yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: other\n```\n\n```yaml {example}\nanything: [goes\n```\n\n```yaml {sorce=\"s.yaml\"}\na: 1\n```\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    let got: Vec<String> = errors(&diags)
        .iter()
        .map(|d| format!("{} {}", at(d), d["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "content/a.md:9 block-drift",
            "content/a.md:12 block-unchecked",
            "content/a.md:16 block-no-manifest",
            "content/a.md:24 yaml-invalid",
            "content/a.md:27 attribute",
            "content/a.md:27 block-unchecked",
        ]
    );
    let attr = errors(&diags)
        .into_iter()
        .find(|d| d["code"] == "attribute")
        .unwrap();
    assert!(attr["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `source`?"));
}

#[test]
fn literal_go_templates_in_blocks_are_not_expressions() {
    let repo = Repo::empty("check-gotpl");
    repo.write("manifests/appset.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: apps\nspec:\n  template:\n    metadata:\n      name: '{{path.basename}}'\n");
    repo.write("content/a.md", "# A\n\n```yaml {source=\"appset.yaml\" select=\"spec.template\"}\nmetadata:\n  name: '{{path.basename}}'\n```\n");
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 0, "{diags:#?}");
}

#[test]
fn github_format_and_deny_warnings() {
    let repo = Repo::copy_of_project("check-github");
    edit(
        &repo,
        SCHEDULE,
        "schedule: \"0 0 2 * * *\"",
        "schedule: \"0 2 * * *\"",
    );
    let run = repo.docs(&["check", "--format", "github"]);
    run.fails();
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("cnpg-schedule"))
        .expect("annotation");
    let l = line_of(&repo, SCHEDULE, "schedule:");
    assert!(line.starts_with(&format!("::error file={SCHEDULE},line={l},col=13,title=docs check%3A cnpg-schedule::`0 2 * * *` has five fields")), "{line}");
    assert!(line.contains("%0Anote: for every day at 02:00"), "{line}");

    let repo = Repo::copy_of_project("check-deny");
    repo.write(
        "docs.toml",
        &repo
            .read("docs.toml")
            .replace("allow = [\"cnpg-barman-deprecated\"]", ""),
    );
    repo.docs(&["check"]).ok();
    repo.docs(&["check", "--deny", "warnings"]).fails();
}

#[test]
fn build_refuses_to_publish_errors_unless_no_check() {
    let repo = Repo::copy_of_project("check-build");
    edit(
        &repo,
        CLUSTER,
        "retentionPolicy: \"14d\"",
        "retentionPolicy: \"30d\"",
    );
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(run.stderr.contains("error[block-drift]"), "{}", run.stderr);
    assert!(!repo.exists("public/index.html"));
    repo.docs(&["build", "--no-check"]).ok();
    assert!(repo.exists("public/index.html"));
}

#[test]
fn explain_and_bad_crds() {
    let repo = Repo::small("check-explain");
    let run = repo.docs(&["check", "--explain", "cnpg-schedule"]);
    run.ok();
    assert!(run.stdout.contains("\"0 0 2 * * *\""));
    let run = repo.docs(&["check", "--explain", "nope"]);
    run.fails();
    assert!(run.stderr.contains("no check has the code `nope`"));
    repo.write(
        "crds/not-a-crd.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    let run = repo.docs(&["check", "--crds", "crds"]);
    run.fails();
    assert!(
        run.stderr
            .contains("crds/not-a-crd.yaml:1:1: not a CustomResourceDefinition (kind `ConfigMap`)"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_selectors_and_malformed_manifests() {
    let repo = Repo::empty("check-select");
    repo.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n",
    );
    repo.write(
        "content/a.md",
        "# A\n\n```yaml {source=\"a.yaml\" select=\"data.y\"}\nx: 1\n```\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    let d = the_error(&diags, "select-nothing");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("`data` has no key `y` (its keys: x)"),
        "{d}"
    );
    assert_eq!(at(d), "content/a.md:3");
    // Malformed attributes and unresolved expressions are findings, with
    // their own codes, and the rest of the pages are still checked.
    repo.write("content/b.md", "# B\n\n```yaml {source=\"a.yaml\n```\n");
    repo.write(
        "content/c.md",
        "# C\n\nGone: {{ manifest(\"a.yaml\").data.nope }}\n",
    );
    let (_, diags) = diagnostics(&repo, &[]);
    assert_eq!(at(the_error(&diags, "attribute")), "content/b.md:3");
    assert_eq!(at(the_error(&diags, "expression")), "content/c.md:3");
    assert_eq!(at(the_error(&diags, "select-nothing")), "content/a.md:3");
    std::fs::remove_file(repo.path("content/b.md")).unwrap();
    std::fs::remove_file(repo.path("content/c.md")).unwrap();
    repo.write("manifests/b.yaml", "a: [1,\n");
    let run = repo.docs(&["check"]);
    run.fails();
    assert!(run.stderr.contains("manifests/b.yaml:"), "{}", run.stderr);
    assert!(run.stderr.contains("invalid YAML"), "{}", run.stderr);
}

#[test]
fn crds_from_the_cluster_validate_like_crd_files() {
    use crate::cluster::{Options, TestCluster};
    let repo = Repo::copy_of_project("check-cluster");
    // Only the cluster's CRDs, not the repository's files.
    edit(&repo, "docs.toml", "crds = [\"crds\"]", "");
    let server = TestCluster::start_with(Options {
        crds: crds().into(),
        ..Options::default()
    });
    let kubeconfig = server.kubeconfig(&repo.root);
    let kc = kubeconfig.to_str().unwrap();
    let run = repo.docs(&[
        "check",
        "--crds-from-cluster",
        "--kubeconfig",
        kc,
        "--deny",
        "warnings",
    ]);
    run.ok();
    assert!(
        run.stderr.contains("validated against 6 CRDs: 0 errors"),
        "{}",
        run.stderr
    );
    // The cluster's schemas catch what the files catch.
    edit(&repo, CLUSTER, "  instances: 1\n", "  instances: one\n");
    let run = repo.docs(&[
        "check",
        "--crds-from-cluster",
        "--kubeconfig",
        kc,
        "--format",
        "json",
    ]);
    run.fails();
    assert!(
        run.stdout.contains("`spec.instances`: must be an integer"),
        "{}",
        run.stdout
    );
    // KUBECONFIG works like kubectl's, and --context picks a context.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docs"))
        .args([
            "-C",
            repo.root.to_str().unwrap(),
            "check",
            "--crds-from-cluster",
            "--context",
            "nope",
        ])
        .env("KUBECONFIG", kc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot use context `nope` of the kubeconfig"),
        "{err}"
    );
}

#[test]
fn crds_from_a_cluster_that_refuses_or_is_gone() {
    use crate::cluster::{Options, TestCluster};
    let repo = Repo::small("check-cluster-rbac");
    let server = TestCluster::start_with(Options {
        crds: crds().into(),
        ..Options::default()
    });
    server.forbid("list", "customresourcedefinitions");
    let kubeconfig = server.kubeconfig(&repo.root);
    let run = repo.docs(&[
        "check",
        "--crds-from-cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    run.fails();
    assert!(
        run.stderr
            .contains("cannot list CustomResourceDefinitions: refused by RBAC (403 Forbidden)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    drop(server);
    // Nobody listens there any more.
    let run = repo.docs(&[
        "check",
        "--crds-from-cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    run.fails();
    assert!(run.stderr.contains("is unreachable"), "{}", run.stderr);
}

#[test]
fn diffs_are_coloured_only_when_asked_or_on_a_terminal() {
    let repo = Repo::copy_of_project("check-color");
    edit(
        &repo,
        CLUSTER,
        "retentionPolicy: \"14d\"",
        "retentionPolicy: \"30d\"",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docs"))
        .args([
            "-C",
            repo.root.to_str().unwrap(),
            "--color",
            "always",
            "check",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\x1b[1;31merror"), "{err}");
    assert!(
        err.contains("\x1b[31m-retentionPolicy: 30d\x1b[0m"),
        "{err}"
    );
    assert!(
        err.contains("\x1b[32m+retentionPolicy: 14d\x1b[0m"),
        "{err}"
    );
    // Not a terminal (and NO_COLOR set): plain text.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docs"))
        .args(["-C", repo.root.to_str().unwrap(), "check"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("   | -retentionPolicy: 30d"), "{err}");
    assert!(!err.contains('\x1b'), "{err}");
}

#[test]
fn runbook_steps_are_checked_before_they_run() {
    let repo = Repo::copy_of_project("check-steps");
    let dr = "content/cnpg-disaster-recovery.md";
    // A typo in a waited path is an error now, not at 3 a.m.
    edit(
        &repo,
        dr,
        "for: condition=Ready\ntimeout: 2h",
        "for: jsonpath={.status.readyInstance}=1\ntimeout: 2h",
    );
    // An unknown action, a duplicate name, a related object's bad path.
    edit(
        &repo,
        dr,
        "{run action=patch name=\"pause-argocd\"",
        "{run action=pach name=\"pause-argocd\"",
    );
    edit(
        &repo,
        dr,
        "name=\"confirm-paused\"",
        "name=\"list-backups\"",
    );
    edit(
        &repo,
        dr,
        "path: status.conditions[type=Failed].status",
        "path: status.condition[type=Failed].status",
    );
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let steps: Vec<String> = diags
        .iter()
        .filter(|d| d["code"] == "runbook-step")
        .map(|d| format!("{}: {}", at(d), d["message"].as_str().unwrap()))
        .collect();
    let has = |needle: &str| steps.iter().any(|s| s.contains(needle));
    assert!(
        has("`status.readyInstance` is not a field of Cluster")
            && has("did you mean `readyInstances`?"),
        "{steps:#?}"
    );
    assert!(
        has("unknown runbook action `pach`") && has("did you mean `patch`?"),
        "{steps:#?}"
    );
    assert!(has("step name `list-backups` is used twice"), "{steps:#?}");
    assert!(
        has("`status.condition[type=Failed].status` is not a field of Job"),
        "{steps:#?}"
    );
    // Each at the line of the page that says it.
    let action = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("`pach`"))
        .unwrap();
    assert_at(&repo, action, dr, "action=pach");
    // The objects a step creates validate against the CRD schemas.
    let repo = Repo::copy_of_project("check-steps-schema");
    edit(
        &repo,
        "content/cnpg-disaster-recovery.md",
        "  method: barmanObjectStore",
        "  method: barmanObjectStor",
    );
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let e = the_error(&diags, "schema");
    assert!(
        e["message"].as_str().unwrap().contains("spec.method"),
        "{e}"
    );
}

#[test]
fn runnable_blocks_on_a_page_that_is_not_a_runbook() {
    let repo = Repo::small("check-not-runbook");
    repo.write(
        "content/a.md",
        "---\ntitle: Alpha\n---\n# Alpha\n\n```bash {run name=x}\necho\n```\n",
    );
    let (code, diags) = diagnostics(&repo, &[]);
    assert_eq!(code, 1);
    let e = the_error(&diags, "runbook-step");
    assert!(
        e["message"].as_str().unwrap().contains("not a runbook"),
        "{e}"
    );
    assert_at(&repo, e, "content/a.md", "```bash {run");
}
