//! The kit's manifests carry the facts the guide teaches.

use std::path::Path;

use docs::manifests::kustomize::{Target, Use};
use docs::manifests::ManifestIndex;

use crate::common::Repo;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn index() -> ManifestIndex {
    ManifestIndex::load(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        Path::new("manifests"),
        &[],
    )
    .unwrap()
}

fn doc<'a>(idx: &'a ManifestIndex, path: &str) -> &'a serde_yaml::Value {
    &idx.find(path, None).unwrap().value
}

#[test]
fn the_immich_cluster_backs_up_to_s3_on_lineage_v1() {
    let idx = index();
    let c = doc(&idx, "infrastructure/database/cnpg/immich/cluster.yaml");
    assert_eq!(c["kind"], "Cluster");
    assert_eq!(c["metadata"]["name"], "immich-database");
    assert_eq!(c["metadata"]["namespace"], "cloudnative-pg");
    assert_eq!(c["spec"]["instances"], 1);
    assert_eq!(c["spec"]["storage"]["storageClass"], "longhorn");
    assert_eq!(c["spec"]["walStorage"]["storageClass"], "longhorn");
    assert!(c["spec"]["postgresql"]["shared_preload_libraries"][0]
        .as_str()
        .unwrap()
        .contains("vchord"));
    let initdb = &c["spec"]["bootstrap"]["initdb"];
    assert_eq!(initdb["database"], "immich");
    assert_eq!(initdb["owner"], "immich");
    assert_eq!(initdb["secret"]["name"], "immich-app-secret");
    let backup = &c["spec"]["backup"];
    assert_eq!(backup["retentionPolicy"], "14d");
    let store = &backup["barmanObjectStore"];
    assert_eq!(store["serverName"], "immich-database-v1");
    assert_eq!(store["wal"]["compression"], "gzip");
    assert_eq!(store["data"]["compression"], "gzip");
    assert_eq!(
        store["s3Credentials"]["accessKeyId"]["name"],
        "cnpg-s3-credentials"
    );
    assert_eq!(
        store["s3Credentials"]["accessKeyId"]["key"],
        "AWS_ACCESS_KEY_ID"
    );
    assert_eq!(
        store["s3Credentials"]["secretAccessKey"]["key"],
        "AWS_SECRET_ACCESS_KEY"
    );
    assert!(store["destinationPath"]
        .as_str()
        .unwrap()
        .contains("CHANGE_ME"));
    assert!(store["endpointURL"].as_str().unwrap().contains("CHANGE_ME"));
    assert!(
        c["spec"]["bootstrap"].get("recovery").is_none(),
        "recovery stays commented out"
    );
}

#[test]
fn the_commented_recovery_section_teaches_the_lineage() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("manifests/infrastructure/database/cnpg/immich/cluster.yaml"),
    )
    .unwrap();
    for needle in [
        "#   recovery:",
        "# externalClusters:",
        "-v1 -> -v2 -> -v3",
        "Expected empty archive",
        "skip-reconcile",
        "kubectl create",
        "self-heal recreates it",
        "reads `bootstrap` only",
        "in both places",
    ] {
        assert!(
            text.contains(needle),
            "cluster.yaml comments should mention {needle:?}"
        );
    }
    // CloudNativePG's webhook defaults `initdb` only when no other
    // bootstrap is set (api/v1/cluster_defaults.go, v1.30.0): the old reason
    // ("the webhook defaults initdb on create, initdb wins the merge") is gone.
    assert!(!text.contains("server-side apply"), "{text}");
    assert!(!text.contains("defaults `initdb` on create"), "{text}");
    assert!(
        text.contains("deprecated since\n# CloudNativePG 1.26 and removed in 1.31"),
        "the barmanObjectStore deprecation is dated right"
    );
}

/// The commented recovery section restores from the live lineage, and
/// `docs check` says so when a recovery bumps only the live serverName.
#[test]
fn the_commented_recovery_source_is_the_live_lineage() {
    let idx = index();
    let path = "infrastructure/database/cnpg/immich/cluster.yaml";
    let live = doc(&idx, path)["spec"]["backup"]["barmanObjectStore"]["serverName"]
        .as_str()
        .unwrap()
        .to_string();
    let text = &idx.sources[path];
    let commented: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with('#') && l.contains("serverName:"))
        .collect();
    assert_eq!(commented.len(), 1, "{commented:?}");
    assert!(
        commented[0].contains(&format!("serverName: {live} ")),
        "{commented:?}"
    );

    let repo = Repo::copy_of_project("recovery-comment");
    let file = format!("manifests/{path}");
    let next = live.replace("-v1", "-v2");
    // What a recovery that forgets the comment leaves behind.
    let stale = repo.read(&file).replace(
        &format!("      serverName: {live}\n"),
        &format!("      serverName: {next}\n"),
    );
    repo.write(&file, &stale);
    let run = repo.docs(&["check"]);
    run.fails();
    let line = stale
        .lines()
        .position(|l| l.trim_start().starts_with('#') && l.contains("serverName:"))
        .unwrap()
        + 1;
    assert!(
        run.stderr.contains("error[cnpg-recovery-comment]")
            && run.stderr.contains(&format!("{file}:{line}:")),
        "{}",
        run.stderr
    );
    // The runbook's commit step bumps both: clean again.
    let both = repo.read(&file).replace(
        &format!("serverName: {live} "),
        &format!("serverName: {next} "),
    );
    repo.write(&file, &both);
    let run = repo.docs(&["check"]);
    assert!(
        !run.stderr.contains("cnpg-recovery-comment"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_daily_backup_uses_the_six_field_schedule() {
    let idx = index();
    let sb = doc(
        &idx,
        "infrastructure/database/cnpg/immich/scheduled-backup.yaml",
    );
    assert_eq!(sb["kind"], "ScheduledBackup");
    assert_eq!(sb["metadata"]["name"], "immich-daily-backup");
    assert_eq!(sb["metadata"]["namespace"], "cloudnative-pg");
    let schedule = sb["spec"]["schedule"].as_str().unwrap();
    assert_eq!(
        schedule, "0 0 2 * * *",
        "six fields, seconds first: daily at 02:00"
    );
    assert_eq!(sb["spec"]["backupOwnerReference"], "self");
    assert_eq!(sb["spec"]["cluster"]["name"], "immich-database");
    assert_eq!(sb["spec"]["immediate"], true);
}

#[test]
fn every_kustomization_uses_every_file_of_its_directory() {
    let idx = index();
    let base = root().join("manifests");
    let mut seen = 0;
    for k in idx.kustomizations() {
        let dir = Path::new(&k.manifest.path).parent().unwrap();
        let mut used: Vec<String> = k
            .local()
            .map(|(_, p)| p.rsplit('/').next().unwrap().to_string())
            .collect();
        used.sort();
        let mut files: Vec<String> = std::fs::read_dir(base.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".yaml") && f != "kustomization.yaml")
            .collect();
        files.sort();
        assert_eq!(used, files, "{}", k.manifest.path);
        seen += 1;
    }
    assert!(seen >= 3);
    let db = doc(
        &idx,
        "infrastructure/database/cnpg/immich/kustomization.yaml",
    );
    assert!(db["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|r| r == "scheduled-backup.yaml"));
}

#[test]
fn secrets_are_templates_with_placeholders() {
    let idx = index();
    let s3 = doc(&idx, "secrets/cnpg-s3-credentials.yaml");
    assert_eq!(s3["kind"], "Secret");
    assert_eq!(s3["metadata"]["namespace"], "cloudnative-pg");
    assert_eq!(s3["stringData"]["AWS_ACCESS_KEY_ID"], "CHANGE_ME");
    assert_eq!(s3["stringData"]["AWS_SECRET_ACCESS_KEY"], "CHANGE_ME");
    for path in [
        "secrets/immich-app-secret.yaml",
        "secrets/immich-db-credentials.yaml",
        "secrets/volsync-kopia-repository.yaml",
    ] {
        let s = doc(&idx, path);
        assert_eq!(s["kind"], "Secret", "{path}");
        let values: Vec<String> = s["stringData"]
            .as_mapping()
            .unwrap()
            .values()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert!(
            values.iter().any(|v| v.contains("CHANGE_ME")),
            "{path} has a placeholder"
        );
    }
    let es = doc(
        &idx,
        "secrets/production/cnpg-s3-credentials.externalsecret.yaml",
    );
    assert_eq!(es["kind"], "ExternalSecret");
    assert_eq!(es["spec"]["target"]["name"], "cnpg-s3-credentials");
}

#[test]
fn argo_cd_syncs_the_database_in_a_wave_after_its_operator() {
    let idx = index();
    let wave = |name: &str| -> i64 {
        let app = idx
            .docs
            .iter()
            .find(|m| m.kind() == Some("Application") && m.name() == Some(name))
            .unwrap();
        app.value["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(wave("cloudnative-pg") < wave("immich-database"));
    assert!(wave("immich-database") < wave("immich"));
    assert!(wave("cilium") < wave("longhorn"));
    let db = idx
        .docs
        .iter()
        .find(|m| m.name() == Some("immich-database") && m.kind() == Some("Application"))
        .unwrap();
    assert_eq!(
        db.value["spec"]["source"]["path"],
        "manifests/infrastructure/database/cnpg/immich"
    );
    let pvc = doc(&idx, "apps/immich/library-pvc.yaml");
    assert_eq!(pvc["metadata"]["labels"]["backup"], "hourly");
}

#[test]
fn every_manifest_validates_against_the_real_crds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schemas = docs::schema::Schemas::load(&[root.join("crds")], root).unwrap();
    assert_eq!(schemas.files, 6);
    let idx = index();
    let mut out = Vec::new();
    for m in &idx.docs {
        schemas.validate(&m.node, &|n| m.location(n), &mut out);
    }
    assert!(out.is_empty(), "{out:#?}");
    // And the validator is not asleep: a wrong type in a real manifest fails.
    let mut broken = ManifestIndex::default();
    let text = idx.sources["infrastructure/database/cnpg/immich/scheduled-backup.yaml"]
        .replace("immediate: true", "immediate: \"yes\"");
    broken.add_file("sb.yaml", "sb.yaml".into(), &text).unwrap();
    let mut out = Vec::new();
    schemas.validate(
        &broken.docs[0].node,
        &|n| broken.docs[0].location(n),
        &mut out,
    );
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(
        out[0]
            .message
            .contains("`spec.immediate`: must be a boolean"),
        "{}",
        out[0].message
    );
}

fn applications(idx: &ManifestIndex) -> Vec<&docs::manifests::Manifest> {
    idx.objects()
        .filter(|m| m.kind() == Some("Application"))
        .collect()
}

/// The kit's git repository is this repository: every Application that
/// syncs from it names a directory that exists, from the repository root.
#[test]
fn applications_sync_directories_of_this_repository() {
    let idx = index();
    let mut from_git = 0;
    for app in applications(&idx) {
        let source = &app.value["spec"]["source"];
        let Some(path) = source["path"].as_str() else {
            assert!(source["chart"].is_string(), "{}", app.path);
            continue;
        };
        assert!(path.starts_with("manifests/"), "{}: {path}", app.path);
        assert!(root().join(path).is_dir(), "{}: {path}", app.path);
        from_git += 1;
    }
    assert_eq!(from_git, 3, "root, immich-database, immich");
}

/// CloudNativePG chart 0.29.0 is operator 1.30.0 (cloudnative-pg/charts,
/// tag cloudnative-pg-v0.29.0, Chart.yaml `appVersion: "1.30.0"`); the
/// CRDs in crds/ are those of the operator the chart installs.
#[test]
fn the_operator_chart_and_the_crds_are_the_same_release() {
    let idx = index();
    let app = applications(&idx)
        .into_iter()
        .find(|m| m.name() == Some("cloudnative-pg"))
        .unwrap();
    let chart = app.value["spec"]["source"]["targetRevision"]
        .as_str()
        .unwrap();
    let sources = std::fs::read_to_string(root().join("crds/SOURCES.md")).unwrap();
    let line = sources
        .lines()
        .find(|l| l.starts_with("CloudNativePG operator version:"))
        .expect("SOURCES.md states the operator version");
    // "CloudNativePG operator version: 1.30.0 (Helm chart `cloudnative-pg` 0.29.0)."
    let operator = line.split_whitespace().nth(3).unwrap();
    let stated_chart = line
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches(['.', ')']);
    assert_eq!(chart, stated_chart, "{line}");
    let row = sources
        .lines()
        .find(|l| l.contains("cnpg/postgresql.cnpg.io_clusters.yaml"))
        .unwrap();
    assert!(
        row.contains(&format!("| v{operator} |")),
        "the CRDs are copied at tag v{operator}: {row}"
    );
    // Chart → operator, as published in the chart's Chart.yaml.
    let operator_of_chart = match chart {
        "0.27.0" => "1.28.0",
        "0.28.0" => "1.29.0",
        "0.29.0" => "1.30.0",
        other => panic!("add chart {other} (and its appVersion) here"),
    };
    assert_eq!(operator, operator_of_chart);
    assert!(
        app.path.contains("cloudnative-pg")
            && idx.sources[&app.path].contains(&format!("operator {operator}")),
        "the Application's comment names the operator version"
    );
}

/// Argo CD removed the health check of Applications in 1.8; without it
/// the app of apps' sync waves do not wait for health
/// (argo-cd v3.5.1 docs/operator-manual/health.md, "Argocd App"). The kit
/// ships the customization, patched into the release's argocd-cm.
#[test]
fn argocd_cm_restores_the_health_of_applications() {
    let idx = index();
    let k = idx
        .kustomizations()
        .find(|k| k.manifest.path == "argocd/install/kustomization.yaml")
        .expect("Argo CD's install kustomization");
    assert!(
        k.entries.iter().any(|e| e.target == Target::Remote
            && e.raw
                .contains("argoproj/argo-cd/v3.5.1/manifests/install.yaml")),
        "installs the Argo CD release whose CRD is in crds/"
    );
    let patch = k
        .local()
        .find(|(e, _)| e.used_as == Use::Patch)
        .map(|(_, p)| p.to_string())
        .expect("argocd-cm is patched");
    let cm = doc(&idx, &patch);
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    let lua = cm["data"]["resource.customizations.health.argoproj.io_Application"]
        .as_str()
        .expect("the health customization key");
    for line in [
        "hs.status = \"Progressing\"",
        "if obj.status.health ~= nil then",
        "hs.status = obj.status.health.status",
        "return hs",
    ] {
        assert!(lua.contains(line), "{lua}");
    }
    let roles = idx
        .docs
        .iter()
        .find(|m| m.path == patch)
        .map(|m| m.role)
        .unwrap();
    assert_eq!(
        roles,
        docs::manifests::Role::Data,
        "a patch is not an object of its own"
    );
}

/// Every Application retries a failed sync: automated sync does not try the
/// same commit again after a failure (argo-cd v3.5.1
/// docs/user-guide/auto_sync.md), and in an app of apps the first sync of a
/// component often fails while its operator's CRDs are not there yet.
#[test]
fn every_application_retries_failed_syncs() {
    let idx = index();
    let apps = applications(&idx);
    assert!(apps.len() >= 8);
    for app in apps {
        let retry = &app.value["spec"]["syncPolicy"]["retry"];
        assert!(
            retry["limit"].as_i64().is_some_and(|l| l > 0),
            "{}",
            app.path
        );
        assert!(retry["backoff"]["maxDuration"].is_string(), "{}", app.path);
    }
}

/// A runbook step as the built site shows it, which is the text `docs run`
/// executes (both come from the same expansion of the page).
#[derive(Debug)]
struct Shown {
    name: String,
    action: String,
    text: String,
}

fn runbook_steps(page: &str) -> Vec<Shown> {
    let repo = Repo::copy_of_project(&format!("steps-{page}"));
    repo.docs(&["build"]).ok();
    let html = repo.read(&format!("public/{page}.html"));
    let between = |s: &str, from: &str, to: &str| -> String {
        let start = s.find(from).unwrap_or_else(|| panic!("{from}")) + from.len();
        let end = s[start..].find(to).unwrap() + start;
        s[start..end].to_string()
    };
    html.split("<figure class=\"code step\"")
        .skip(1)
        .map(|fig| {
            let code = between(fig, "<pre><code", "</code></pre>");
            let code = &code[code.find('>').unwrap() + 1..];
            let mut text = String::new();
            let mut in_tag = false;
            for c in code.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            let text = text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            Shown {
                name: between(fig, "<span class=\"step-name\">", "<"),
                action: between(fig, "<span class=\"step-action\">", "<"),
                text,
            }
        })
        .collect()
}

fn step<'a>(steps: &'a [Shown], name: &str) -> (usize, &'a Shown, serde_yaml::Value) {
    let i = steps
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step {name}: {steps:#?}"));
    let yaml = serde_yaml::from_str(&steps[i].text).unwrap_or(serde_yaml::Value::Null);
    (i, &steps[i], yaml)
}

/// The disaster recovery runbook: the API answers what it can (kube
/// steps), Argo CD is paused before the delete, the recovery Cluster is
/// POSTed, a failed restore is reported at once, the manual Backup is
/// listed like the scheduled ones, and the resume cannot race Argo CD's
/// cache of the branch.
#[test]
fn the_disaster_recovery_runbook_in_order() {
    let steps = runbook_steps("cnpg-disaster-recovery");
    let idx = index();
    let cluster = doc(&idx, "infrastructure/database/cnpg/immich/cluster.yaml");
    let name = cluster["metadata"]["name"].as_str().unwrap();

    let (list, s, y) = step(&steps, "list-backups");
    assert_eq!(s.action, "assert");
    assert_eq!(y["selector"], format!("cnpg.io/cluster={name}").as_str());
    assert_eq!(y["min"], 1);
    assert_eq!(y["assert"][0]["equals"], "completed");
    let (store, s, _) = step(&steps, "list-object-store");
    assert!(s.text.contains("barman-cloud-backup-list") && list < store);

    let (archive, s, _) = step(&steps, "archive-last-wal");
    assert!(s.text.contains("pg_switch_wal()") && s.text.contains("pg_stat_archiver"));
    let (pause, s, y) = step(&steps, "pause-argocd");
    assert_eq!(s.action, "patch");
    assert_eq!(
        y["metadata"]["annotations"]["argocd.argoproj.io/skip-reconcile"],
        "true"
    );
    let (delete, s, _) = step(&steps, "delete-cluster");
    assert_eq!(s.action, "delete");
    assert!(
        archive < pause && pause < delete,
        "archive, pause, then delete"
    );

    let (pvcs, s, y) = step(&steps, "wait-old-pvcs");
    assert_eq!(
        (s.action.as_str(), y["for"].as_str()),
        ("wait", Some("delete"))
    );
    assert_eq!(y["kind"], "PersistentVolumeClaim");
    assert_eq!(y["selector"], format!("cnpg.io/cluster={name}").as_str());
    let (create, s, y) = step(&steps, "create-recovery-cluster");
    assert_eq!(s.action, "create", "POST, never apply");
    assert!(y["spec"]["bootstrap"]["recovery"].is_mapping());
    assert!(delete < pvcs && pvcs < create);

    let (_, _, y) = step(&steps, "wait-ready");
    assert_eq!(y["for"], "condition=Ready");
    assert_eq!(y["timeout"], "2h");
    let fail_if = y["fail-if"].as_sequence().unwrap();
    assert!(fail_if.iter().any(|f| f["path"] == "status.phase"
        && f["equals"] == "Cluster is unrecoverable and needs manual intervention"));
    assert!(fail_if.iter().any(|f| f["kind"] == "Job"
        && f["name"] == format!("{name}-1-full-recovery").as_str()
        && f["path"] == "status.conditions[type=Failed].status"
        && f["equals"] == "True"));

    // The manual Backup carries the label the listings select on: CNPG
    // labels only the Backups a ScheduledBackup creates.
    let (backup, s, y) = step(&steps, "backup-new-lineage");
    assert_eq!(s.action, "create");
    assert_eq!(y["metadata"]["labels"]["cnpg.io/cluster"], name);
    assert_eq!(y["spec"]["cluster"]["name"], name);

    let (commit, s, _) = step(&steps, "commit-lineage");
    assert!(s.text.contains("git push") && backup < commit);
    let (resume, s, y) = step(&steps, "resume-argocd");
    assert_eq!(s.action, "patch");
    let annotations = &y["metadata"]["annotations"];
    assert!(annotations["argocd.argoproj.io/skip-reconcile"].is_null());
    assert_eq!(
        annotations["argocd.argoproj.io/refresh"], "hard",
        "the pause is lifted with a hard refresh, in one change"
    );
    let (revision, s, _) = step(&steps, "wait-argocd-revision");
    assert!(s.text.contains("git rev-parse HEAD"));
    assert!(s
        .text
        .contains("--for=jsonpath='{.status.sync.revision}'=\"$rev\""));
    let (synced, _, y) = step(&steps, "wait-argocd-synced");
    assert_eq!(y["for"], "jsonpath={.status.sync.status}=Synced");
    assert!(commit < resume && resume < revision && revision < synced);
}

/// The point-in-time runbook restores beside the live Cluster: nothing of
/// it is deleted or paused, and the side Cluster has no backup section.
#[test]
fn the_point_in_time_runbook_leaves_the_live_cluster_alone() {
    let steps = runbook_steps("cnpg-point-in-time-recovery");
    let idx = index();
    let cluster = doc(&idx, "infrastructure/database/cnpg/immich/cluster.yaml");
    let live = cluster["metadata"]["name"].as_str().unwrap();
    let (_, s, y) = step(&steps, "create-side-cluster");
    assert_eq!(s.action, "create");
    let side = y["metadata"]["name"].as_str().unwrap();
    assert_ne!(side, live);
    assert!(y["spec"].get("backup").is_none(), "{}", s.text);
    assert_eq!(
        y["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"], "<target_time>",
        "the site shows the variable; docs run fills it"
    );
    assert_eq!(
        y["spec"]["externalClusters"][0]["barmanObjectStore"]["serverName"],
        cluster["spec"]["backup"]["barmanObjectStore"]["serverName"]
    );
    for s in &steps {
        let y: serde_yaml::Value = serde_yaml::from_str(&s.text).unwrap_or_default();
        assert_ne!(
            y["kind"], "Application",
            "Argo CD is not touched: {}",
            s.name
        );
        if matches!(s.action.as_str(), "delete" | "patch" | "apply") {
            assert_eq!(
                y["metadata"]["name"], side,
                "{} touches only the side Cluster",
                s.name
            );
        }
    }
    let (_, _, y) = step(&steps, "wait-side-ready");
    assert!(y["fail-if"][1]["name"] == format!("{side}-1-full-recovery").as_str());
}
