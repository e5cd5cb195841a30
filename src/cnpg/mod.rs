//! CloudNativePG knowledge in one place, for the guide, the checks and the
//! runbook: serverName lineages, schedules ([`cron`]) and the recovery
//! Cluster derived from a Cluster manifest.

pub mod comment;
pub mod cron;

use serde_yaml::{Mapping, Value};

/// The API group of CloudNativePG's kinds.
pub const GROUP: &str = "postgresql.cnpg.io";

/// `name-v3` → `name-v4`; `None` when there is no `-vN` suffix.
pub fn next_lineage(name: &str) -> Option<String> {
    let (base, n) = split_lineage(name)?;
    Some(format!("{base}-v{}", n + 1))
}

/// `name-v3` → (`name`, 3).
pub fn split_lineage(name: &str) -> Option<(&str, u64)> {
    let (base, v) = name.rsplit_once("-v")?;
    let n = v.parse().ok().filter(|_| !v.starts_with('+'))?;
    (!base.is_empty()).then_some((base, n))
}

/// Name of the external cluster that a recovery reads backups from.
pub fn recovery_source_name(cluster: &str) -> String {
    format!("{cluster}-backup")
}

/// What kind of recovery to derive, beyond "in place, to the latest point".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// The name of the Cluster to create. Another name than the manifest's
    /// makes a *side* cluster, beside the live one.
    pub name: Option<String>,
    /// `bootstrap.recovery.recoveryTarget.targetTime`: replay WAL up to
    /// this moment only.
    pub target_time: Option<String>,
}

/// The Cluster to *create* for a recovery, derived from the Cluster
/// manifest in git:
/// - `bootstrap.initdb` is replaced by `bootstrap.recovery` (same database,
///   owner and secret) — only one bootstrap method may be set — with a
///   `recoveryTarget.targetTime` when one is given;
/// - `externalClusters` gains the restore source: the object store and
///   credentials of `spec.backup`, on the *current* serverName lineage;
/// - in place (same name), `spec.backup.barmanObjectStore.serverName`
///   moves to the *next* lineage (`-v1` → `-v2`), since the old one is not
///   an empty archive;
/// - beside the live Cluster (another name), `spec.backup` is dropped: the
///   side cluster must never write into the live lineage, nor start a
///   lineage of its own that a later recovery could mistake for it.
pub fn recovery_cluster(manifest: &Value, opts: &RecoveryOptions) -> Result<Value, String> {
    let kind = manifest.get("kind").and_then(Value::as_str);
    if kind != Some("Cluster") {
        return Err(format!(
            "expected a CloudNativePG Cluster, found kind {kind:?}"
        ));
    }
    let name = str_at(manifest, &["metadata", "name"])?;
    let spec = manifest
        .get("spec")
        .and_then(Value::as_mapping)
        .ok_or("the Cluster has no spec")?;
    let store = manifest
        .get("spec")
        .and_then(|s| s.get("backup"))
        .and_then(|b| b.get("barmanObjectStore"))
        .and_then(Value::as_mapping)
        .ok_or("the Cluster has no spec.backup.barmanObjectStore to recover from")?;
    let current = store
        .get("serverName")
        .and_then(Value::as_str)
        .unwrap_or(&name)
        .to_string();
    let next = next_lineage(&current)
        .ok_or_else(|| format!("serverName `{current}` has no -vN lineage suffix to bump"))?;
    let initdb = manifest
        .get("spec")
        .and_then(|s| s.get("bootstrap"))
        .and_then(|b| b.get("initdb"));

    let new_name = match &opts.name {
        Some(n) if is_placeholder(n) => n.clone(),
        Some(n) => {
            check_name(n)?;
            n.clone()
        }
        None => name.clone(),
    };
    let beside = new_name != name;
    let source = recovery_source_name(&name);
    let mut recovery = Mapping::new();
    recovery.insert("source".into(), source.clone().into());
    for key in ["database", "owner", "secret"] {
        if let Some(v) = initdb.and_then(|i| i.get(key)) {
            recovery.insert(key.into(), v.clone());
        }
    }
    if let Some(t) = &opts.target_time {
        if !is_placeholder(t) {
            check_target_time(t)?;
        }
        let mut target = Mapping::new();
        target.insert("targetTime".into(), t.clone().into());
        recovery.insert("recoveryTarget".into(), target.into());
    }
    let mut bootstrap = Mapping::new();
    bootstrap.insert("recovery".into(), recovery.into());

    let mut source_store = Mapping::new();
    for key in [
        "destinationPath",
        "endpointURL",
        "endpointCA",
        "s3Credentials",
        "azureCredentials",
        "googleCredentials",
    ] {
        if let Some(v) = store.get(key) {
            source_store.insert(key.into(), v.clone());
        }
    }
    source_store.insert("serverName".into(), current.into());
    if let Some(wal) = store.get("wal") {
        source_store.insert("wal".into(), wal.clone());
    }
    let mut external = Mapping::new();
    external.insert("name".into(), source.into());
    external.insert("barmanObjectStore".into(), source_store.into());

    let mut new_spec = Mapping::new();
    for (k, v) in spec {
        match k.as_str() {
            Some("bootstrap") => {
                new_spec.insert(k.clone(), bootstrap.clone().into());
            }
            Some("externalClusters") => {}
            Some("backup") if beside => {
                new_spec.insert(
                    "externalClusters".into(),
                    vec![Value::from(external.clone())].into(),
                );
            }
            Some("backup") => {
                let mut backup = v.clone();
                backup["barmanObjectStore"]["serverName"] = next.clone().into();
                new_spec.insert(
                    "externalClusters".into(),
                    vec![Value::from(external.clone())].into(),
                );
                new_spec.insert(k.clone(), backup);
            }
            _ => {
                new_spec.insert(k.clone(), v.clone());
            }
        }
    }
    if !new_spec.contains_key("bootstrap") {
        new_spec.insert("bootstrap".into(), bootstrap.into());
    }
    let mut metadata = Mapping::new();
    metadata.insert("name".into(), new_name.into());
    for key in ["namespace", "labels"] {
        if let Some(v) = manifest.get("metadata").and_then(|m| m.get(key)) {
            metadata.insert(key.into(), v.clone());
        }
    }
    let mut out = Mapping::new();
    out.insert(
        "apiVersion".into(),
        manifest.get("apiVersion").cloned().unwrap_or(Value::Null),
    );
    out.insert("kind".into(), "Cluster".into());
    out.insert("metadata".into(), metadata.into());
    out.insert("spec".into(), new_spec.into());
    Ok(out.into())
}

/// `<name>`: how the site shows a runbook variable that has no value yet.
/// It passes through unchecked; `docs run` substitutes the real value.
fn is_placeholder(s: &str) -> bool {
    s.len() > 2 && s.starts_with('<') && s.ends_with('>')
}

/// A Cluster name: a DNS label, since CloudNativePG derives Services, PVCs
/// and Pods from it.
fn check_name(n: &str) -> Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 63
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !n.starts_with('-')
        && !n.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{n}` is not a valid Cluster name: lower-case letters, digits and `-`, at most 63"
        ))
    }
}

/// A recovery target time in a form CloudNativePG parses (RFC 3339 or
/// PostgreSQL's `YYYY-MM-DD HH:MM:SS`), with an explicit time zone:
/// without one CloudNativePG reads it as UTC, which is not what someone
/// typing their local time at night means.
pub fn check_target_time(t: &str) -> Result<(), String> {
    let re = regex::Regex::new(
        r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(?P<zone>Z|[+-]\d{2}(:?\d{2})?)?$",
    )
    .expect("static regex");
    match re.captures(t.trim()) {
        Some(c) if c.name("zone").is_some() => Ok(()),
        Some(_) => Err(format!(
            "target time `{t}` has no time zone: add `Z` for UTC or an offset such as `+01:00` (CloudNativePG would read it as UTC)"
        )),
        None => Err(format!(
            "target time `{t}` is not a timestamp: write `2026-11-24T03:00:00Z` or `2026-11-24 03:00:00+01:00`"
        )),
    }
}

fn str_at(v: &Value, path: &[&str]) -> Result<String, String> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(*p)
            .ok_or_else(|| format!("missing `{}`", path.join(".")))?;
    }
    cur.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("`{}` is not a string", path.join(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\nspec:\n  instances: 1\n  bootstrap:\n    initdb:\n      database: app\n      owner: app\n      secret:\n        name: app-secret\n      postInitApplicationSQL:\n        - CREATE EXTENSION x;\n  backup:\n    retentionPolicy: 14d\n    barmanObjectStore:\n      destinationPath: s3://b/p\n      wal:\n        compression: gzip\n      data:\n        compression: gzip\n      serverName: db-v3\n";

    #[test]
    fn recovery_reads_current_lineage_and_writes_the_next() {
        let m: Value = serde_yaml::from_str(CLUSTER).unwrap();
        let r = recovery_cluster(&m, &RecoveryOptions::default()).unwrap();
        let spec = &r["spec"];
        assert!(spec["bootstrap"].get("initdb").is_none());
        assert_eq!(spec["bootstrap"]["recovery"]["source"], "db-backup");
        assert_eq!(spec["bootstrap"]["recovery"]["database"], "app");
        assert_eq!(
            spec["bootstrap"]["recovery"]["secret"]["name"],
            "app-secret"
        );
        let ext = &spec["externalClusters"][0];
        assert_eq!(ext["name"], "db-backup");
        assert_eq!(ext["barmanObjectStore"]["serverName"], "db-v3");
        assert_eq!(ext["barmanObjectStore"]["destinationPath"], "s3://b/p");
        assert!(ext["barmanObjectStore"].get("data").is_none());
        assert_eq!(spec["backup"]["barmanObjectStore"]["serverName"], "db-v4");
        assert_eq!(spec["backup"]["retentionPolicy"], "14d");
        assert_eq!(r["metadata"]["namespace"], "ns");
    }

    #[test]
    fn lineage_helpers() {
        assert_eq!(
            next_lineage("immich-database-v1").unwrap(),
            "immich-database-v2"
        );
        assert_eq!(next_lineage("db-v19").unwrap(), "db-v20");
        assert!(next_lineage("immich-database").is_none());
        assert!(next_lineage("db-v+1").is_none());
        assert_eq!(split_lineage("a-b-v3"), Some(("a-b", 3)));
    }

    #[test]
    fn refuses_what_it_cannot_recover() {
        let m: Value = serde_yaml::from_str("kind: Secret\nmetadata:\n  name: x\n").unwrap();
        let none = RecoveryOptions::default();
        assert!(recovery_cluster(&m, &none).unwrap_err().contains("Cluster"));
        let m: Value =
            serde_yaml::from_str("kind: Cluster\nmetadata:\n  name: x\nspec:\n  instances: 1\n")
                .unwrap();
        assert!(recovery_cluster(&m, &none)
            .unwrap_err()
            .contains("barmanObjectStore"));
    }

    #[test]
    fn a_side_cluster_reads_the_live_lineage_and_never_writes_to_it() {
        let m: Value = serde_yaml::from_str(CLUSTER).unwrap();
        let opts = RecoveryOptions {
            name: Some("db-pitr".into()),
            target_time: Some("2026-11-24T03:00:00Z".into()),
        };
        let r = recovery_cluster(&m, &opts).unwrap();
        assert_eq!(r["metadata"]["name"], "db-pitr");
        assert_eq!(r["metadata"]["namespace"], "ns");
        let spec = &r["spec"];
        assert!(
            spec.get("backup").is_none(),
            "no backup section: nothing is archived anywhere"
        );
        let recovery = &spec["bootstrap"]["recovery"];
        assert_eq!(recovery["source"], "db-backup");
        assert_eq!(
            recovery["recoveryTarget"]["targetTime"],
            "2026-11-24T03:00:00Z"
        );
        assert_eq!(recovery["database"], "app");
        let ext = &spec["externalClusters"][0]["barmanObjectStore"];
        assert_eq!(ext["serverName"], "db-v3", "reads the live lineage");
        assert_eq!(spec["instances"], 1);
        // The live manifest's name, with a target: in place, next lineage.
        let opts = RecoveryOptions {
            name: Some("db".into()),
            target_time: Some("2026-11-24 03:00:00+01".into()),
        };
        let r = recovery_cluster(&m, &opts).unwrap();
        assert_eq!(
            r["spec"]["backup"]["barmanObjectStore"]["serverName"],
            "db-v4"
        );
        assert_eq!(
            r["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTime"],
            "2026-11-24 03:00:00+01"
        );
    }

    #[test]
    fn recovery_options_are_checked() {
        let m: Value = serde_yaml::from_str(CLUSTER).unwrap();
        let with = |name: &str, time: &str| {
            recovery_cluster(
                &m,
                &RecoveryOptions {
                    name: Some(name.into()),
                    target_time: Some(time.into()),
                },
            )
        };
        let e = with("db-pitr", "2026-11-24 03:00:00").unwrap_err();
        assert!(e.contains("no time zone"), "{e}");
        let e = with("db-pitr", "yesterday").unwrap_err();
        assert!(e.contains("not a timestamp"), "{e}");
        let e = with("DB_pitr", "2026-11-24T03:00:00Z").unwrap_err();
        assert!(e.contains("not a valid Cluster name"), "{e}");
        // How the site shows variables without a value: passed through.
        let r = with("<new_name>", "<target_time>").unwrap();
        assert_eq!(r["metadata"]["name"], "<new_name>");
        for ok in [
            "2026-11-24T03:00:00Z",
            "2026-11-24T03:00:00.123456+01:00",
            "2026-11-24 03:00:00-05",
        ] {
            assert!(check_target_time(ok).is_ok(), "{ok}");
        }
    }
}
