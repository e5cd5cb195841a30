//! Rules about what the manifests say, each with a stable code
//! (`docs check --explain CODE` says more).

use std::collections::BTreeSet;

use crate::cnpg::{cron, next_lineage, split_lineage};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Location;
use crate::manifests::kustomize::Use;
use crate::manifests::{Manifest, ManifestIndex};
use crate::yaml::{Node, Value};

/// `ScheduledBackup.spec.cluster.name` names a Cluster of its namespace.
pub fn scheduled_backup_cluster(idx: &ManifestIndex, out: &mut Vec<Diagnostic>) {
    for sb in idx.objects().filter(|m| is_cnpg(m, "ScheduledBackup")) {
        let Some(name_node) = sb.node.at(&["spec", "cluster", "name"]) else {
            continue;
        };
        let name = name_node.as_str().unwrap_or_default();
        let ns = sb.namespace.as_deref();
        if idx.objects().any(|c| {
            is_cnpg(c, "Cluster") && c.name() == Some(name) && c.namespace.as_deref() == ns
        }) {
            continue;
        }
        let clusters: Vec<&str> = idx
            .objects()
            .filter(|c| is_cnpg(c, "Cluster"))
            .filter_map(|c| c.name())
            .collect();
        let mut d = Diagnostic::error(
            Code::ScheduledbackupCluster,
            sb.location(name_node),
            format!(
                "ScheduledBackup `{}` backs up Cluster `{name}`, which no manifest defines{}",
                sb.name().unwrap_or("?"),
                ns.map(|n| format!(" in namespace `{n}`"))
                    .unwrap_or_default()
            ),
        );
        if let Some(c) = crate::suggest::closest(name, clusters.iter().copied()) {
            d = d.with_note(format!("did you mean `{c}`?"));
        }
        out.push(d);
    }
}

/// CloudNativePG schedules have six fields, seconds first.
pub fn cnpg_schedules(idx: &ManifestIndex, out: &mut Vec<Diagnostic>) {
    for sb in idx.objects().filter(|m| is_cnpg(m, "ScheduledBackup")) {
        let Some(node) = sb.node.at(&["spec", "schedule"]) else {
            continue;
        };
        let Some(schedule) = node.as_str() else {
            continue;
        };
        match cron::field_count(schedule) {
            0 | 6 => {
                if let Err(e) = cron::describe(schedule) {
                    out.push(Diagnostic::error(Code::CnpgSchedule, sb.location(node), e));
                }
            }
            5 => {
                let does = cron::describe(schedule).unwrap_or_default();
                let meant = cron::six_field_form_of_unix(schedule).unwrap_or_default();
                let meant_words = cron::describe(&meant).unwrap_or_default();
                out.push(
                    Diagnostic::error(
                        Code::CnpgSchedule,
                        sb.location(node),
                        format!("`{schedule}` has five fields; CloudNativePG reads the first as seconds, so this runs {does}"),
                    )
                    .with_note(format!("for {meant_words}, write the six-field form: schedule: \"{meant}\"")),
                );
            }
            n => out.push(Diagnostic::error(
                Code::CnpgSchedule,
                sb.location(node),
                format!("`{schedule}` has {n} fields; CloudNativePG expects six: second minute hour day-of-month month day-of-week"),
            )),
        }
    }
}

/// serverName lineage: backups go to `<name>-vN`; a recovery reads an
/// earlier lineage than the one it writes.
pub fn cnpg_lineage(idx: &ManifestIndex, steps: &[(Node, Location)], out: &mut Vec<Diagnostic>) {
    for m in idx.objects().filter(|m| is_cnpg(m, "Cluster")) {
        lineage_of(&m.node, &|n: &Node| m.location(n), out);
    }
    for (obj, loc) in steps {
        if obj.str_at(&["kind"]) == Some("Cluster")
            && obj
                .str_at(&["apiVersion"])
                .is_some_and(|a| a.starts_with("postgresql.cnpg.io/"))
        {
            lineage_of(obj, &|_| loc.clone(), out);
        }
    }
}

fn lineage_of(cluster: &Node, loc: &dyn Fn(&Node) -> Location, out: &mut Vec<Diagnostic>) {
    let Some(target_node) = cluster.at(&["spec", "backup", "barmanObjectStore", "serverName"])
    else {
        return;
    };
    let target = target_node.as_str().unwrap_or_default();
    if split_lineage(target).is_none() {
        out.push(
            Diagnostic::warning(Code::CnpgLineage, loc(target_node), format!("backup serverName `{target}` does not end in a `-vN` lineage"))
                .with_note("name lineages `<cluster>-v1`, `-v2`, ... so that every recovery can move to the next one"),
        );
    }
    let Some(source) = cluster.str_at(&["spec", "bootstrap", "recovery", "source"]) else {
        return;
    };
    let Some(ext) = cluster
        .at(&["spec", "externalClusters"])
        .and_then(Node::as_seq)
        .and_then(|e| e.iter().find(|c| c.str_at(&["name"]) == Some(source)))
    else {
        let at = cluster
            .at(&["spec", "bootstrap", "recovery", "source"])
            .unwrap_or(cluster);
        out.push(Diagnostic::error(
            Code::CnpgLineage,
            loc(at),
            format!("recovery source `{source}` is not in `externalClusters`"),
        ));
        return;
    };
    let Some(src_node) = ext.at(&["barmanObjectStore", "serverName"]) else {
        return;
    };
    let src = src_node.as_str().unwrap_or_default();
    if src == target {
        out.push(
            Diagnostic::error(
                Code::CnpgLineage,
                loc(target_node),
                format!("the recovery reads lineage `{src}` and would write its backups to the same lineage: CloudNativePG fails with \"Expected empty archive\""),
            )
            .with_related(loc(src_node), "restore source")
            .with_note(format!(
                "set spec.backup.barmanObjectStore.serverName to the next lineage{}",
                next_lineage(src).map(|n| format!(", `{n}`")).unwrap_or_default()
            )),
        );
        return;
    }
    if let (Some((sb, sn)), Some((tb, tn))) = (split_lineage(src), split_lineage(target)) {
        if sb != tb || sn >= tn {
            out.push(
                Diagnostic::error(
                    Code::CnpgLineage,
                    loc(src_node),
                    format!("the restore source `{src}` must be an earlier lineage of the backup target `{target}`"),
                )
                .with_related(loc(target_node), "backup target")
                .with_note("a source that names no existing lineage fails with \"no target backup found\""),
            );
        }
    }
}

/// Native `barmanObjectStore` is deprecated since CloudNativePG 1.26 and
/// removed in 1.31.
pub fn cnpg_barman_deprecated(idx: &ManifestIndex, out: &mut Vec<Diagnostic>) {
    for m in idx.objects().filter(|m| is_cnpg(m, "Cluster")) {
        if let Some(n) = m
            .node
            .at(&["spec", "backup"])
            .and_then(|b| b.key("barmanObjectStore"))
        {
            out.push(
                Diagnostic::warning(
                    Code::CnpgBarmanDeprecated,
                    m.location(n),
                    format!("Cluster `{}` uses native `barmanObjectStore`, deprecated since CloudNativePG 1.26 and removed in 1.31", m.name().unwrap_or("?")),
                )
                .with_note("plan the move to the Barman Cloud Plugin (an ObjectStore and `spec.plugins`) before upgrading the operator to 1.31"),
            );
        }
    }
}

/// The commented-out recovery section of a Cluster manifest reads the
/// lineage backups go to now: its restore source `serverName` is the live
/// `spec.backup.barmanObjectStore.serverName`.
pub fn cnpg_recovery_comment(idx: &ManifestIndex, out: &mut Vec<Diagnostic>) {
    for (path, text) in &idx.sources {
        let docs: Vec<&Manifest> = idx.docs.iter().filter(|m| &m.path == path).collect();
        if !docs.iter().any(|m| is_cnpg(m, "Cluster")) {
            continue;
        }
        for block in crate::cnpg::comment::commented_blocks(text) {
            let Some(cluster) = owner(text, &docs, block.first_line) else {
                continue;
            };
            if !is_cnpg(cluster, "Cluster") {
                continue;
            }
            let Some(live) =
                cluster
                    .node
                    .at(&["spec", "backup", "barmanObjectStore", "serverName"])
            else {
                continue;
            };
            let live_name = live.as_str().unwrap_or_default();
            for src in crate::cnpg::comment::recovery_server_names(&block.root) {
                let name = src.as_str().unwrap_or_default();
                if name == live_name {
                    continue;
                }
                out.push(
                    Diagnostic::error(
                        Code::CnpgRecoveryComment,
                        cluster.location(src),
                        format!("the commented recovery section restores from `{name}`, but the backups of Cluster `{}` go to `{live_name}`", cluster.name().unwrap_or("?")),
                    )
                    .with_related(cluster.location(live), "where backups go now")
                    .with_note(format!("the next recovery must read the live lineage: set the commented serverName to `{live_name}`")),
                );
            }
        }
    }
}

/// The document of a file that a line belongs to: the first one after the
/// last `---` above the line.
fn owner<'a>(text: &str, docs: &[&'a Manifest], line: usize) -> Option<&'a Manifest> {
    let separator = text
        .lines()
        .take(line.saturating_sub(1))
        .enumerate()
        .filter(|(_, l)| l.starts_with("---"))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0);
    docs.iter().copied().find(|m| m.line > separator)
}

/// Placeholders a new user must replace, listed as notes.
pub fn placeholders(idx: &ManifestIndex, out: &mut Vec<Diagnostic>) {
    for m in idx.objects() {
        walk_scalars(&m.node, &mut |n: &Node| {
            if let Value::Str(s) = &n.value {
                if let Some(p) = placeholder_in(s) {
                    out.push(Diagnostic::new(
                        Severity::Note,
                        Code::Placeholder,
                        m.location(n),
                        format!("`{p}` placeholder to replace: {s:?}"),
                    ));
                }
            }
        });
    }
}

pub fn placeholder_in(s: &str) -> Option<&str> {
    const MARKERS: &[&str] = &[
        "change_me",
        "change-me",
        "changeme",
        "your-s3-endpoint",
        "your-bucket",
        "replace_me",
        "replace-me",
    ];
    let lower = s.to_ascii_lowercase();
    MARKERS
        .iter()
        .find_map(|mk| lower.find(mk).map(|i| &s[i..i + mk.len()]))
}

fn walk_scalars(n: &Node, f: &mut dyn FnMut(&Node)) {
    match &n.value {
        Value::Map(pairs) => pairs.iter().for_each(|(_, v)| walk_scalars(v, f)),
        Value::Seq(items) => items.iter().for_each(|v| walk_scalars(v, f)),
        _ => f(n),
    }
}

/// Secrets that manifests refer to, with where.
pub fn secret_references(idx: &ManifestIndex) -> Vec<(String, &Manifest, &Node)> {
    let mut refs = Vec::new();
    for m in idx.objects() {
        match m.kind() {
            Some("Secret") => {
                if let Some(n) = m.node.at(&["metadata", "name"]) {
                    refs.push((n.as_str().unwrap_or_default().to_string(), m, n));
                }
            }
            Some("ExternalSecret") => {
                let n = m
                    .node
                    .at(&["spec", "target", "name"])
                    .or_else(|| m.node.at(&["metadata", "name"]));
                if let Some(n) = n {
                    refs.push((n.as_str().unwrap_or_default().to_string(), m, n));
                }
            }
            _ => {}
        }
        find_secret_refs(&m.node, None, &mut |name, node| {
            refs.push((name.to_string(), m, node))
        });
    }
    refs
}

/// `secretKeyRef`/`secretRef`/`secret` `{name}`, `secretName`, and the
/// references under CloudNativePG's `s3Credentials`, anywhere in an object.
pub(crate) fn find_secret_refs<'a>(
    n: &'a Node,
    parent: Option<&str>,
    f: &mut dyn FnMut(&str, &'a Node),
) {
    match &n.value {
        Value::Map(pairs) => {
            for (k, v) in pairs {
                let k = k.as_str().unwrap_or_default();
                let named = || v.get("name").filter(|nm| nm.as_str().is_some());
                match k {
                    "secretKeyRef" | "secretRef" | "secret" => {
                        if let Some(nm) = named() {
                            f(nm.as_str().unwrap_or_default(), nm);
                        }
                    }
                    "secretName" => {
                        if let Some(s) = v.as_str() {
                            f(s, v);
                        }
                    }
                    _ if parent == Some("s3Credentials") => {
                        if let Some(nm) = named() {
                            f(nm.as_str().unwrap_or_default(), nm);
                        }
                    }
                    _ => {}
                }
                find_secret_refs(v, Some(k), f);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| find_secret_refs(i, parent, f)),
        _ => {}
    }
}

/// Every Secret referenced is in the inventory page; every inventory entry
/// is a Secret (or ExternalSecret target) of the manifests.
pub fn secrets_inventory(
    idx: &ManifestIndex,
    inventory: &[(String, Location)],
    page: &Location,
    out: &mut Vec<Diagnostic>,
) {
    let listed: BTreeSet<&str> = inventory.iter().map(|(n, _)| n.as_str()).collect();
    let refs = secret_references(idx);
    let mut seen = BTreeSet::new();
    for (name, m, node) in &refs {
        if !listed.contains(name.as_str()) && seen.insert(name.clone()) {
            out.push(
                Diagnostic::error(Code::SecretNotInInventory, m.location(node), format!("Secret `{name}` is not in the secrets inventory"))
                    .with_related(page.clone(), "secrets inventory")
                    .with_note("add a row for it (name, namespace, keys, purpose, consumer), and a template under manifests/secrets/"),
            );
        }
    }
    let defined: BTreeSet<&str> = refs
        .iter()
        .filter(|(_, m, _)| matches!(m.kind(), Some("Secret" | "ExternalSecret")))
        .map(|(n, _, _)| n.as_str())
        .collect();
    for (name, loc) in inventory {
        if !defined.contains(name.as_str()) {
            out.push(Diagnostic::error(
                Code::InventoryUnknownSecret,
                loc.clone(),
                format!(
                    "the inventory lists Secret `{name}`, but no manifest or template defines it"
                ),
            ));
        }
    }
}

fn is_cnpg(m: &Manifest, kind: &str) -> bool {
    m.kind() == Some(kind)
        && m.api_version().is_some_and(|a| {
            a.strip_prefix(crate::cnpg::GROUP)
                .is_some_and(|v| v.starts_with('/'))
        })
}

/// Kustomizations: every file or directory they name exists; a YAML file
/// in a kustomization's directory that it does not use (as a resource,
/// a patch, Helm values, a generator input...) is a warning.
pub fn kustomizations(
    idx: &ManifestIndex,
    manifests_dir: &std::path::Path,
    out: &mut Vec<Diagnostic>,
) {
    for k in idx.kustomizations() {
        let mut used = BTreeSet::new();
        for (entry, path) in k.local() {
            if !manifests_dir.join(path).exists() {
                let what = match entry.used_as {
                    Use::Resource => "listed",
                    Use::Component => "listed as a component",
                    Use::Patch => "used as a patch",
                    Use::Values => "used as Helm values",
                    Use::GeneratorInput => "used by a generator",
                    Use::Plugin => "used as a plugin configuration",
                };
                out.push(Diagnostic::error(
                    Code::KustomizationMissing,
                    k.manifest.location(entry.node),
                    format!(
                        "`{}` is {what} in {} but does not exist",
                        entry.raw,
                        k.manifest.file.display()
                    ),
                ));
            }
            used.insert(path.to_string());
        }
        for path in idx.sources.keys() {
            let (pdir, file) = path.rsplit_once('/').unwrap_or(("", path));
            // Only Kubernetes objects can be forgotten: a CI workflow, a
            // Taskfile or Helm values beside a kustomization are not.
            let objects = || {
                idx.docs
                    .iter()
                    .any(|m| &m.path == path && m.role == crate::manifests::Role::Object)
            };
            if pdir == k.dir
                && path != &k.manifest.path
                && !used.contains(path)
                && !file.starts_with("kustomization.")
                && objects()
            {
                out.push(Diagnostic::warning(
                    Code::KustomizationUnlisted,
                    Location::file(k.manifest.file.with_file_name(file)),
                    format!("`{file}` is in the directory of {} but not used by it, so it is never applied", k.manifest.file.display()),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(files: &[(&str, &str)]) -> ManifestIndex {
        let mut idx = ManifestIndex::default();
        for (rel, text) in files {
            idx.add_file(rel, format!("manifests/{rel}").into(), text)
                .unwrap();
        }
        idx
    }

    const CLUSTER: &str = "\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: db
spec:
  # bootstrap:
  #   recovery:
  #     source: db-backup
  # externalClusters:
  #   - name: db-backup
  #     barmanObjectStore:
  #       serverName: db-v1   # restore SOURCE
  backup:
    barmanObjectStore:
      serverName: db-v1
";

    fn comment_lint(files: &[(&str, &str)]) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        cnpg_recovery_comment(&index(files), &mut out);
        out
    }

    #[test]
    fn recovery_comment_follows_the_live_lineage() {
        assert!(comment_lint(&[("c.yaml", CLUSTER)]).is_empty());
        // After a recovery that bumped only the live serverName.
        let stale = CLUSTER.replace("      serverName: db-v1\n", "      serverName: db-v2\n");
        let out = comment_lint(&[("c.yaml", &stale)]);
        assert_eq!(out.len(), 1, "{out:#?}");
        let d = &out[0];
        assert_eq!(d.code, Code::CnpgRecoveryComment);
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(
            (
                d.location.file.to_str().unwrap(),
                d.location.line,
                d.location.col
            ),
            ("manifests/c.yaml", 12, 23),
            "{d:?}"
        );
        assert!(
            d.message.contains("`db-v1`") && d.message.contains("`db-v2`"),
            "{}",
            d.message
        );
        assert_eq!(d.related[0].0.line, 15);
        // Both bumped, as the runbook does: clean again.
        let bumped = CLUSTER.replace("db-v1", "db-v2");
        assert!(comment_lint(&[("c.yaml", &bumped)]).is_empty());
    }

    #[test]
    fn recovery_comment_belongs_to_its_own_document() {
        // A commented block in the second document is held to the second
        // Cluster, not to the first.
        let other = CLUSTER
            .replace("name: db\n", "name: other\n")
            .replace("db-v1", "other-v4")
            .replace("db-backup", "other-backup");
        let text = format!("{CLUSTER}---\n{other}");
        assert!(comment_lint(&[("c.yaml", &text)]).is_empty());
        // Comments in a file without a Cluster are not looked at.
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n# externalClusters:\n#   - barmanObjectStore:\n#       serverName: q-v1\n";
        assert!(comment_lint(&[("cm.yaml", cm)]).is_empty());
    }
}
