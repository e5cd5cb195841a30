//! `docs check --explain CODE`: what a rule checks, why, and how to fix it.

pub const CODES: &[(&str, &str)] = &[
    ("broken-link", "A link in a page points to a page or file that does not exist.\n\nLinks between pages are written to the `.md` file (`cnpg-disaster-recovery.md#steps`) and become links to the built page. Links that leave the content directory (`../manifests/...`) must name an existing file.\n\nFix: correct the path, or create the page."),
    ("broken-anchor", "A link names an anchor (`page.md#anchor`) that the target page does not have.\n\nAnchors are heading ids: the heading's text in lower case, spaces as `-`, punctuation dropped (`## Step-by-step recovery` is `#step-by-step-recovery`), or the id set with `{#id}`. Runnable steps also have `#step-N`.\n\nFix: use the id the note suggests, or set an explicit `{#id}` on the heading so that rewording it does not break links."),
    ("expression", "A `{{ … }}` expression in a page failed or resolved to nothing.\n\nValues in prose come from the manifests, e.g. `{{ manifest(\"infrastructure/database/cnpg/immich/cluster.yaml\").spec.backup.retentionPolicy }}`. When the manifest changes shape, the expression must follow; an undefined value is an error rather than an empty string, so the guide never silently loses a fact.\n\nFix: correct the path in the expression, or the manifest."),
    ("attribute", "A code block's attributes are malformed or unknown.\n\nAttributes follow the language: ```` ```yaml {source=\"path.yaml\" select=\"spec.backup\" excerpt} ````. Known attributes: source, doc, select, excerpt, example, run, name, action, destructive, template, wait, timeout.\n\nFix: correct the spelling; quote values with spaces."),
    ("yaml-invalid", "A YAML block in the docs does not parse (or a `source=` block holds several documents).\n\nEvery YAML block must parse, even an `example`, since readers copy them.\n\nFix: correct the YAML at the line shown."),
    ("block-drift", "A YAML block differs from the manifest it shows.\n\nWith `source=` the block must equal the selected manifest node (`select=`), or be a subset of it with `excerpt`. A block without attributes that is a Kubernetes object is matched to the manifest with the same kind, namespace and name and checked as an excerpt. Values are compared after parsing: key order, quoting, comments and flow or block style do not matter.\n\nFix: `docs check --fix` rewrites drifted `source=` blocks from the manifest; otherwise update the block, or the manifest if the docs are right."),
    ("block-unchecked", "A YAML block is neither tied to a manifest nor marked as an example.\n\nEvery YAML block is accounted for, so that nothing drifts silently: add `source=\"path\"` (with `select=` for a part), or mark the block `example` if it only illustrates."),
    ("block-no-manifest", "A YAML block names a manifest that does not exist: its `source=` path, its `doc=` selector, or (without attributes) its kind, namespace and name match no manifest.\n\nFix: correct the path or the identity, add `source=`, or mark the block `example`."),
    ("select-nothing", "A block's `select=` path selects nothing in its manifest.\n\nPaths are dotted keys with list indexes: `spec.backup`, `spec.externalClusters[0]`, `spec.containers[name=app]`, `metadata.annotations[\"argocd.argoproj.io/sync-wave\"]`. The message lists the keys that exist where the path stopped."),
    ("runbook-step", "A runbook step (`run`) is malformed: an unknown `action`, or an object without apiVersion, kind and metadata.name.\n\nActions: create, apply, delete, patch, assert, wait; without `action` the block is a shell command."),
    ("schema", "A manifest (or a runbook object) does not validate against its CRD's OpenAPI schema, or against the required fields of a built-in kind.\n\nCRDs are read from `--crds DIR` (or `crds` in docs.toml). Types, required fields, enums, patterns, bounds and unknown fields are checked; CEL rules are not.\n\nFix: correct the field at the line shown; the note suggests close field names."),
    ("scheduledbackup-cluster", "A CloudNativePG ScheduledBackup names a Cluster (`spec.cluster.name`) that no manifest defines in its namespace: no backup would ever run."),
    ("secret-not-in-inventory", "A manifest refers to a Secret (s3Credentials, secretKeyRef, a bootstrap secret, an ExternalSecret target) that the secrets inventory page does not list.\n\nThe inventory is the checklist of what must exist before the kit can run; a missing row means a Secret someone will forget on the day they rebuild.\n\nFix: add a row to the inventory (name, namespace, keys, purpose, consumer)."),
    ("inventory-unknown-secret", "The secrets inventory lists a Secret that no manifest, template or ExternalSecret defines.\n\nFix: add the template under manifests/secrets/, or remove the row."),
    ("cnpg-schedule", "A CloudNativePG schedule does not have six fields.\n\nScheduledBackup.spec.schedule is a robfig/cron expression with a seconds field first: `second minute hour day-of-month month day-of-week`. Daily at 02:00 is `\"0 0 2 * * *\"`. The Unix-looking `\"0 2 * * *\"` is read as second 0 of minute 2 of every hour: a base backup every hour.\n\nFix: write the six-field form the note gives."),
    ("cnpg-lineage", "The serverName lineage of a CloudNativePG Cluster is wrong.\n\nBackups go to `<destinationPath>/<serverName>/`. A recovery reads the current lineage (`externalClusters[].barmanObjectStore.serverName`) and must write to the next one (`backup.barmanObjectStore.serverName`, `-v1` -> `-v2`): writing to the lineage it reads fails with \"Expected empty archive\", and reading a lineage with no backups fails with \"no target backup found\". Lineages are named `<cluster>-vN`."),
    ("cnpg-barman-deprecated", "A Cluster uses native `barmanObjectStore`, which CloudNativePG 1.30 deprecates and 1.31 removes in favour of the Barman Cloud Plugin.\n\nIt still works on 1.30. Plan the migration (an ObjectStore resource and `spec.plugins`) before upgrading. A project that has accepted this can list the code under `allow` in docs.toml."),
    ("placeholder", "A manifest value is a placeholder (`CHANGE_ME`, `change-me`, `your-s3-endpoint`, ...) that every user must replace before applying the kit. These notes are the checklist."),
    ("kustomization-missing", "A kustomization lists a resource file that does not exist: `kustomize build` (and Argo CD) would fail."),
    ("kustomization-unlisted", "A YAML file sits in a kustomization's directory but the kustomization does not list it, so it is never applied. Add it to `resources`, or move it."),
    ("claude-md-stale", "CLAUDE.md is not what its source page (`claude_md` in docs.toml) generates.\n\nFix: run `docs build` and commit CLAUDE.md."),
];

pub fn explain(code: &str) -> Option<&'static str> {
    CODES.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_emitted_has_an_explanation() {
        let src: String = ["blocks.rs", "lints.rs", "schema.rs", "mod.rs"]
            .iter()
            .map(|f| {
                std::fs::read_to_string(format!("{}/src/check/{f}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
            })
            .chain([std::fs::read_to_string(format!(
                "{}/src/render/links.rs",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()])
            .collect();
        for (i, _) in src.match_indices("Diagnostic::") {
            let rest = &src[i..];
            let Some(q) = rest.find('"') else { continue };
            if q > 40 {
                continue;
            }
            let code = &rest[q + 1..q + 1 + rest[q + 1..].find('"').unwrap()];
            assert!(explain(code).is_some(), "no explanation for `{code}`");
        }
    }
}
