//! The codes of `docs check`: one enum, so that a code is never compared
//! as text, every code has an explanation (`docs check --explain CODE`),
//! and `allow` in docs.toml can only name codes that exist.

use std::fmt;

macro_rules! codes {
    ($($variant:ident = $name:literal, $text:expr;)*) => {
        /// A stable, kebab-case identifier of a rule.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the order `--explain` lists them.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// What the rule checks, why, and how to fix what it finds.
            pub fn explain(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    BrokenLink = "broken-link",
        "A link in a page points to a page or file that does not exist.\n\nLinks between pages are written to the `.md` file (`cnpg-disaster-recovery.md#steps`) and become links to the built page. Links that leave the content directory (`../manifests/...`) must name an existing file.\n\nFix: correct the path, or create the page.";
    BrokenAnchor = "broken-anchor",
        "A link names an anchor (`page.md#anchor`) that the target page does not have.\n\nAnchors are heading ids: the heading's text in lower case, spaces as `-`, punctuation dropped (`## Step-by-step recovery` is `#step-by-step-recovery`), or the id set with `{#id}`. Runnable steps also have `#step-N`.\n\nFix: use the id the note suggests, or set an explicit `{#id}` on the heading so that rewording it does not break links.";
    Expression = "expression",
        "A `{{ … }}` expression in a page failed or resolved to nothing.\n\nValues in prose come from the manifests, e.g. `{{ manifest(\"infrastructure/database/cnpg/immich/cluster.yaml\").spec.backup.retentionPolicy }}`. When the manifest changes shape, the expression must follow; an undefined value is an error rather than an empty string, so the guide never silently loses a fact.\n\nFix: correct the path in the expression, or the manifest.";
    Attribute = "attribute",
        "A code block's attributes are malformed or unknown.\n\nAttributes follow the language: ```` ```yaml {source=\"path.yaml\" select=\"spec.backup\" excerpt} ````. Known attributes: source, doc, select, excerpt, example, template; and for runbook steps run, name, action, destructive, readonly, idempotent, wait, timeout, troubleshoot.\n\nFix: correct the spelling; quote values with spaces.";
    Markdown = "markdown",
        "The Markdown parser (pulldown-cmark) fails on a page: it panics on a few rare constructs, such as an attribute block `{…}` in a setext heading (a line followed by `===` or `---`) inside a block quote.\n\nThe error names the first line from which the page no longer parses.\n\nFix: reword that line, or the heading or block quote it is in (an ATX heading, `## Title {#id}`, avoids setext headings).";
    YamlInvalid = "yaml-invalid",
        "A YAML block in the docs does not parse (or a `source=` block holds several documents).\n\nEvery YAML block must parse, even an `example`, since readers copy them.\n\nFix: correct the YAML at the line shown.";
    BlockDrift = "block-drift",
        "A YAML block differs from the manifest it shows.\n\nWith `source=` the block must equal the selected manifest node (`select=`), or be a subset of it with `excerpt`. A block without attributes that is a Kubernetes object is matched to the manifest with the same kind, namespace and name and checked as an excerpt. Values are compared after parsing: key order, quoting, comments and flow or block style do not matter.\n\nFix: `docs check --fix` rewrites drifted `source=` blocks from the manifest; otherwise update the block, or the manifest if the docs are right.";
    BlockUnchecked = "block-unchecked",
        "A YAML block is neither tied to a manifest nor marked as an example.\n\nEvery YAML block is accounted for, so that nothing drifts silently: add `source=\"path\"` (with `select=` for a part), or mark the block `example` if it only illustrates.";
    BlockNoManifest = "block-no-manifest",
        "A YAML block names a manifest that does not exist: its `source=` path, its `doc=` selector, or (without attributes) its kind, namespace and name match no manifest.\n\nFix: correct the path or the identity, add `source=`, or mark the block `example`.";
    SelectNothing = "select-nothing",
        "A block's `select=` path selects nothing in its manifest.\n\nPaths are dotted keys with list indexes: `spec.backup`, `spec.externalClusters[0]`, `spec.containers[name=app]`, `metadata.annotations[\"argocd.argoproj.io/sync-wave\"]`. The message lists the keys that exist where the path stopped.";
    RunbookStep = "runbook-step",
        "A runbook step (`run`) is malformed, or names what does not exist: an unknown `action`, a missing or duplicate `name=`, an object without apiVersion, kind and metadata.name (or a `selector:` where a set is allowed), a `for:`/`timeout:`/`fail-if:` that does not parse, an `assert`/`wait` path that is not a field of the kind's schema (`status.readyInstance` for `status.readyInstances`), or runnable blocks on a page without `runbook: true`.\n\nActions: create, apply, delete, patch, assert, wait; without `action` the block is a shell command (`bash`/`sh`). `docs run RUNBOOK --list` shows the steps as docs run sees them.";
    Schema = "schema",
        "A manifest (or a runbook object) does not validate against its CRD's OpenAPI schema, or against the required fields of a built-in kind.\n\nCRDs are read from `--crds DIR` (or `crds` in docs.toml). Types, required fields, enums, patterns, bounds and unknown fields are checked; CEL rules are not.\n\nFix: correct the field at the line shown; the note suggests close field names.";
    ScheduledbackupCluster = "scheduledbackup-cluster",
        "A CloudNativePG ScheduledBackup names a Cluster (`spec.cluster.name`) that no manifest defines in its namespace: no backup would ever run.";
    SecretNotInInventory = "secret-not-in-inventory",
        "A manifest refers to a Secret (s3Credentials, secretKeyRef, a bootstrap secret, an ExternalSecret target) that the secrets inventory page does not list.\n\nThe inventory is the checklist of what must exist before the kit can run; a missing row means a Secret someone will forget on the day they rebuild.\n\nFix: add a row to the inventory (name, namespace, keys, purpose, consumer).";
    InventoryUnknownSecret = "inventory-unknown-secret",
        "The secrets inventory lists a Secret that no manifest, template or ExternalSecret defines.\n\nFix: add the template under manifests/secrets/, or remove the row.";
    CnpgSchedule = "cnpg-schedule",
        "A CloudNativePG schedule does not have six fields.\n\nScheduledBackup.spec.schedule is a robfig/cron expression with a seconds field first: `second minute hour day-of-month month day-of-week`. Daily at 02:00 is `\"0 0 2 * * *\"`. The Unix-looking `\"0 2 * * *\"` is read as second 0 of minute 2 of every hour: a base backup every hour.\n\nFix: write the six-field form the note gives.";
    CnpgLineage = "cnpg-lineage",
        "The serverName lineage of a CloudNativePG Cluster is wrong.\n\nBackups go to `<destinationPath>/<serverName>/`. A recovery reads the current lineage (`externalClusters[].barmanObjectStore.serverName`) and must write to the next one (`backup.barmanObjectStore.serverName`, `-v1` -> `-v2`): writing to the lineage it reads fails with \"Expected empty archive\", and reading a lineage with no backups fails with \"no target backup found\". Lineages are named `<cluster>-vN`.";
    CnpgBarmanDeprecated = "cnpg-barman-deprecated",
        "A Cluster uses native `barmanObjectStore`, which CloudNativePG 1.30 deprecates and 1.31 removes in favour of the Barman Cloud Plugin.\n\nIt still works on 1.30. Plan the migration (an ObjectStore resource and `spec.plugins`) before upgrading. A project that has accepted this can list the code under `allow` in docs.toml.";
    Placeholder = "placeholder",
        "A manifest value is a placeholder (`CHANGE_ME`, `change-me`, `your-s3-endpoint`, ...) that every user must replace before applying the kit. These notes are the checklist.";
    KustomizationMissing = "kustomization-missing",
        "A kustomization lists a resource file that does not exist: `kustomize build` (and Argo CD) would fail.";
    KustomizationUnlisted = "kustomization-unlisted",
        "A YAML file sits in a kustomization's directory but the kustomization does not list it, so it is never applied. Add it to `resources`, or move it.";
    ClaudeMdStale = "claude-md-stale",
        "CLAUDE.md is not what its source page (`claude_md` in docs.toml) generates.\n\nFix: run `docs build` and commit CLAUDE.md.";
    SchemaMissing = "schema-missing",
        "A manifest's kind has no schema among the CRDs given, so it was not validated.\n\nThis is a warning, not an error: a kind the given CRDs do not define (an `AppProject` when only `Application` was given, say) is not wrong, only unchecked. A kind of a group the CRDs do define but that none of them declares is more likely a typo; the note lists the kinds of that group.\n\nFix: add the CRD to `crds/` (copied verbatim from the operator's release), or validate against the cluster with `--crds-from-cluster`.";
    CnpgRecoveryComment = "cnpg-recovery-comment",
        "The commented-out recovery section of a CloudNativePG Cluster manifest names a restore source `serverName` that is not the live backup `serverName`.\n\nThe comment is the recipe for the next recovery: its restore source must be the lineage backups are written to now (`spec.backup.barmanObjectStore.serverName`). After a recovery moves the backups from `-v1` to `-v2`, the comment must say `-v2` too, or the next recovery reads a lineage that stopped receiving WAL.\n\nFix: set the commented `serverName` (under `externalClusters[].barmanObjectStore`) to the live one.";
}

impl Code {
    /// The code with this name.
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(d)?;
        Code::parse(&name).ok_or_else(|| {
            let hint = crate::suggest::closest(&name, Code::ALL.iter().map(|c| c.as_str()))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            serde::de::Error::custom(format!("no check has the code `{name}`{hint}"))
        })
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_code_is_explained() {
        for &c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
            assert!(c.explain().len() > 40, "{c} needs an explanation");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{c} is kebab-case"
            );
        }
        assert_eq!(Code::parse("no-such-code"), None);
    }
}
