//! `docs` on a GitOps repository that is not the kit: docs in `docs/`,
//! manifests at the root, Helm charts through kustomize (values files),
//! patches, components, generator inputs, a chart's Go templates, and CI,
//! lint and task files beside the manifests. Configured by its docs.toml
//! alone. None of that is a Kubernetes object, and none of it may raise a
//! false alarm.

use std::path::Path;

use crate::common::{copy_dir, Repo};

fn foreign(tag: &str) -> Repo {
    let repo = Repo::empty(tag);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/foreign-gitops"),
        &repo.root,
    );
    repo
}

fn kit_crds() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crds")
        .display()
        .to_string()
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn check_passes_with_deny_warnings() {
    let repo = foreign("foreign-check");
    let run = repo.docs(&["check", "--deny", "warnings"]);
    run.ok();
    assert!(
        run.stderr
            .contains("checked 3 pages, 6 code blocks and 23 manifests: 0 errors, 0 warnings"),
        "{}",
        run.stderr
    );
}

/// With CRDs that define `Application` but not `AppProject`, the
/// AppProject is unchecked, which is a warning (`schema-missing`), not an
/// error: the only finding. The partial Deployment of a patch is not
/// validated as an object, nor are Helm values, CI or task files.
#[test]
fn a_kind_without_a_crd_is_the_only_warning() {
    let repo = foreign("foreign-crds");
    let crds = kit_crds();
    let run = repo.docs(&["check", "--crds", &crds, "--format", "json"]);
    run.ok();
    let diags = json_lines(&run.stdout);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["code"], "schema-missing");
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64()),
        (Some("apps/project.yaml"), Some(2)),
        "the kind's line, with the path as the repository has it: {d}"
    );
    assert!(d["message"].as_str().unwrap().contains("AppProject"), "{d}");
    repo.docs(&["check", "--crds", &crds, "--deny", "warnings"])
        .fails();
}

/// The check is not asleep on such a repository: an object that is wrong
/// is still found, while a patch with the same gaps is not an object.
#[test]
fn objects_are_still_checked_and_patches_are_not() {
    let repo = foreign("foreign-broken");
    // The Service loses its port: `spec.ports[].port` is required. The
    // component's patch of the same Service has no `spec` at all
    // (components/monitoring/scrape-annotation.yaml), legitimately.
    let file = "apps/whoami/service.yaml";
    let text = repo.read(file).replace(
        "    - port: 80\n      targetPort: 80\n",
        "    - targetPort: 80\n",
    );
    repo.write(file, &text);
    // A Deployment nobody lists is forgotten; a YAML file that is not an
    // object beside it is not.
    repo.write(
        "apps/whoami/forgotten.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forgotten\n",
    );
    repo.write("apps/whoami/notes.yaml", "todo:\n  - write docs\n");
    let crds = kit_crds();
    let run = repo.docs(&["check", "--crds", &crds, "--format", "json"]);
    run.fails();
    let diags = json_lines(&run.stdout);
    let found: Vec<(String, String)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        found.contains(&("schema".into(), file.into())),
        "{diags:#?}"
    );
    assert!(
        found.contains(&(
            "kustomization-unlisted".into(),
            "apps/whoami/forgotten.yaml".into()
        )),
        "{diags:#?}"
    );
    for (_, f) in &found {
        assert!(
            !f.contains("patches/")
                && !f.contains("scrape-annotation")
                && !f.contains("notes.yaml")
                && !f.contains("values"),
            "{diags:#?}"
        );
    }
}

/// A block may show the namespace that the kustomization listing the
/// file gives it: that is the object as applied, not drift. Another
/// namespace still is.
#[test]
fn a_block_may_show_the_namespace_its_kustomization_sets() {
    let repo = foreign("foreign-namespace");
    repo.docs(&["check"]).ok();
    let page = repo
        .read("docs/apps.md")
        .replace("  namespace: whoami\n", "  namespace: default\n");
    repo.write("docs/apps.md", &page);
    let run = repo.docs(&["check", "--format", "json"]);
    run.fails();
    let diags = json_lines(&run.stdout);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["code"], "block-no-manifest", "{diags:#?}");
}

#[test]
fn build_works_and_leaves_the_check_clean() {
    let repo = foreign("foreign-build");
    repo.docs(&["build"]).ok();
    let index = repo.read("public/index.html");
    assert!(index.contains("traefik/whoami"), "a value from a manifest");
    let bootstrap = repo.read("public/bootstrap.html");
    assert!(
        bootstrap.contains("argocd.home.example"),
        "a value from Helm values"
    );
    assert!(repo.exists("public/apps.html"));
    // The site in public/ is not mistaken for manifests afterwards.
    repo.docs(&["check", "--deny", "warnings"]).ok();
}
