//! The kit's manifests carry the facts the guide teaches.

use std::path::Path;

use docs::manifests::ManifestIndex;

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
        "server-side apply",
    ] {
        assert!(
            text.contains(needle),
            "cluster.yaml comments should mention {needle:?}"
        );
    }
    assert!(
        text.contains("deprecated") && text.contains("1.31"),
        "the barmanObjectStore deprecation is stated"
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
fn every_kustomization_lists_every_file_of_its_directory() {
    let idx = index();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
    let mut seen = 0;
    for k in idx
        .docs
        .iter()
        .filter(|m| m.kind() == Some("Kustomization"))
    {
        let dir = Path::new(&k.path).parent().unwrap();
        let listed: Vec<&str> = k.value["resources"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut files: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".yaml") && f != "kustomization.yaml")
            .collect();
        files.sort();
        let mut listed_sorted: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
        listed_sorted.sort();
        assert_eq!(listed_sorted, files, "{}", k.path);
        seen += 1;
    }
    assert!(seen >= 2);
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
        "infrastructure/database/cnpg/immich"
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
