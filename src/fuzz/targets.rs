//! The fuzz targets: one per parser that takes user input. Each `run`
//! feeds an input to the parser as the tool would (lossy UTF-8 where the
//! tool reads text) and ignores the result: errors are fine, panics are
//! not. `quick` tests run in `cargo test`; `long` ones for bench/fuzz.py.

use std::path::Path;

use super::Target;

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

pub const FRONT_MATTER: Target = Target {
    name: "front-matter",
    seeds: &[
        "---\ntitle: DR\nweight: 3\nrunbook: true\n---\n# Body\n",
        "---\nvariables:\n  target_time:\n    description: when\n    default: \"x\"\n    secret: false\n---\n",
        "---\r\ntitle: x\r\n...\r\nbody",
        "\u{feff}---\n---\n",
    ],
    dictionary: &[
        "---", "...", "\n", "title:", "weight:", "runbook:", "variables:", "description:",
        "default:", "secret:", " true", " -1", "&a", "*a", "[", "]", "{", "}", "'", "\"", ": ",
    ],
    run: |input| {
        let _ = crate::content::frontmatter::split(&text(input), Path::new("content/f.md"));
    },
};

pub const FENCE_INFO: Target = Target {
    name: "fence-info",
    seeds: &[
        r#"yaml {source="manifests/a b.yaml" select=spec.backup excerpt}"#,
        r#"bash {run, name="say \"hi\"", confirm}"#,
        "{example}",
        "yaml {run action=wait name=w troubleshoot=\"#x\"}",
    ],
    dictionary: &["{", "}", "=", "\"", "\\", ",", " ", "run", "name", "€"],
    run: |input| {
        let _ = crate::content::fence::parse(&text(input));
    },
};

pub const YAML: Target = Target {
    name: "yaml",
    seeds: &[
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: \"1\"\n",
        "a: &x [1, 2]\nb: *x\n---\nc: {d: e}\n",
        "key: |\n  block\n  text\nother: >-\n  folded\n",
        "- a\n- b: [1, {c: d}]\n- !!str 3\n",
    ],
    dictionary: &[
        "&a ", "*a", "&b ", "*b", "- ", ": ", "\n  ", "[", "]", "{", "}", "---\n", "...\n", "|",
        ">", "!!str ", "!!int ", "? ", "#", "'", "\"", "0x", ".inf", "~",
    ],
    run: |input| {
        let _ = crate::yaml::parse(&text(input));
    },
};

pub const SELECT_PATH: Target = Target {
    name: "select-path",
    seeds: &[
        "spec.backup.retentionPolicy",
        "status.conditions[type=Ready].status",
        "metadata.annotations[\"argocd.argoproj.io/sync-wave\"]",
        "spec.externalClusters[0].barmanObjectStore",
    ],
    dictionary: &["[", "]", ".", "=", "\"", "\\", "0", "name=", "€€"],
    run: |input| {
        let path = text(input);
        if let Ok(steps) = crate::yaml::path::parse(&path) {
            let _ = crate::yaml::path::render(&steps);
            let doc = crate::yaml::parse("spec:\n  a: [1, {name: x, v: 2}]\n€€: {a: 1}\n")
                .expect("fixed document");
            let _ = crate::yaml::path::select(&doc[0].root, &steps);
            let _ = crate::yaml::path::select_json(&doc[0].root.to_json(), &steps);
        }
    },
};

pub const CONFIG: Target = Target {
    name: "docs-toml",
    seeds: &[
        "title = \"Kit\"\nbase_url = \"/kit/\"\ncrds = [\"crds\"]\nallow = [\"cnpg-barman-deprecated\"]\n",
        "content_dir = \"docs\"\nmanifests_dir = \".\"\n",
    ],
    dictionary: &["=", "\"", "[", "]", "\n", "title", "allow", "crds", "base_url", "[table]"],
    run: |input| {
        let _ = crate::config::Config::parse(&text(input), Path::new("docs.toml"));
    },
};

pub const HTTP_HEAD: Target = Target {
    name: "http-head",
    seeds: &[
        "GET /a.html HTTP/1.1\r\nHost: localhost:3000\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: \"0123-4\"\r\n\r\n",
        "HEAD /guide/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\nGET /__docs/poll?since=3 HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    dictionary: &[
        "\r\n", "\r\n\r\n", "\n", "\r", " ", ": ", ":", "\t", "GET ", "HEAD ", " HTTP/1.1", " HTTP/1.0",
        " HTTP/2.0", "Host: x\r\n", "Connection: ", "close", "keep-alive", "Content-Length: ",
        "Transfer-Encoding: ", "Keep-Alive", "Upgrade", ",", "%2e%2e/", "/", "0", "00",
    ],
    run: |input| {
        use crate::serve::head::{parse, MAX_HEAD};
        let Ok(Some(head)) = parse(input) else {
            return;
        };
        // What is passed on is one complete head, taken from the input,
        // that parses to itself (the server behind sees what was checked).
        assert!(head.len <= input.len() && head.len <= MAX_HEAD);
        assert!(head.upstream.len() <= head.len);
        let again = parse(&head.upstream).expect("the upstream head parses").expect("complete");
        assert_eq!(again.len, head.upstream.len());
        assert_eq!(again.upstream, head.upstream);
        assert_eq!(again.method, head.method);
    },
};

/// A page (`content/f.md`) from `front` and the input as its body (lossy
/// UTF-8: the page loader's UTF-8 error is not what these targets test).
fn page(front: &str, input: &[u8]) -> Option<crate::content::Page> {
    let bytes = format!("{front}{}", text(input)).into_bytes();
    crate::content::parse_page(bytes, "f.md", "content/f.md".into()).ok()
}

/// The small manifest index the template target quotes from.
fn small_index() -> crate::manifests::ManifestIndex {
    let mut index = crate::manifests::ManifestIndex::default();
    for (rel, text) in [
        ("db/cluster.yaml", "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: immich-database\n  namespace: cloudnative-pg\nspec:\n  instances: 1\n  backup:\n    retentionPolicy: \"14d\"\n    barmanObjectStore:\n      serverName: immich-database-v1\n      destinationPath: s3://CHANGE_ME\n"),
        ("db/backup.yaml", "apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata:\n  name: daily\nspec:\n  schedule: \"0 0 2 * * *\"\n  cluster:\n    name: immich-database\n"),
        ("apps/app.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  annotations:\n    argocd.argoproj.io/sync-wave: \"2\"\n"),
        ("x.yaml", "€€: {a: 1}\nblock€:\n  b: \"é\" # c\n  c: [1, 2]\nlist:\n- ä: 1\n  ö: two\n"),
    ] {
        index
            .add_file(rel, format!("manifests/{rel}").into(), text)
            .expect("fixed manifests parse");
    }
    index.resolve_kustomizations();
    index
}

pub const TEMPLATES: Target = Target {
    name: "templates",
    seeds: &[
        "# T\n\nRetention: {{ manifest(\"db/cluster.yaml\").spec.backup.retentionPolicy }}.\n",
        "| Cluster | serverName |\n|---|---|\n{% for c in manifests(kind=\"Cluster\") %}| {{ c.metadata.name }} | `{{ c.spec.backup.barmanObjectStore.serverName | next_lineage }}` |\n{% endfor %}\n",
        "Runs {{ manifest(\"db/backup.yaml\", doc=\"ScheduledBackup/daily\").spec.schedule | cron_words }}.\n\n```yaml {template example}\n{{ manifest(\"db/cluster.yaml\") | cnpg_recovery | to_yaml }}\n```\n",
        "{% for a in manifests(kind=\"Application\") | by_sync_wave %}- {{ a.metadata.name }}\n{% endfor %}\n```bash\necho {{ .Values.x }}\n```\n    {{ indented }}\n",
        "Set {{ vars.target_time }} and `{% raw %}{{ x }}{% endraw %}` {## note ##}\n",
    ],
    dictionary: &[
        "{{", "}}", "{%", "%}", "{##", "##}", "manifest(\"db/cluster.yaml\")",
        "manifest(\"db/backup.yaml\")", "manifests(kind=\"Cluster\")", ".spec", ".metadata.name",
        "| next_lineage", "| cron_words", "| cnpg_recovery", "| to_yaml", "| by_sync_wave",
        "{% for x in ", "{% endfor %}", "{% if ", "{% endif %}", "{% raw %}", "{% endraw %}",
        "```", "```yaml {template}\n", "vars.target_time", "range(9999)", "\n", "(", ")", "|",
        "\"", "[0]", "* 99", "{% set x = ", "{% macro m() %}", "{% endmacro %}",
    ],
    run: |input| {
        static VALUES: std::sync::OnceLock<crate::values::Values> = std::sync::OnceLock::new();
        let values =
            VALUES.get_or_init(|| crate::values::Values::new(std::sync::Arc::new(small_index())));
        let front = "---\ntitle: T\nvariables:\n  target_time:\n    description: when\n---\n";
        if let Some(page) = page(front, input) {
            if let Ok(expanded) = values.expand(&page) {
                let _ = crate::content::outline::Outline::of(&page, &expanded);
            }
        }
    },
};

/// A fixed object, validated against the CRDs the input defines.
const CLUSTER: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\nspec:\n  instances: 3\n  imageName: ghcr.io/x:16\n  backup:\n    retentionPolicy: 14d\n    barmanObjectStore:\n      serverName: db-v1\n      wal: {compression: gzip}\n  storage: {size: 1Gi}\n  extra: [1, \"a\", {b: null}]\n";

pub const CRD_SCHEMA: Target = Target {
    name: "crd-schema",
    seeds: &[
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: clusters.postgresql.cnpg.io\nspec:\n  group: postgresql.cnpg.io\n  names: {kind: Cluster, plural: clusters}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            required: [instances]\n            properties:\n              instances: {type: integer, minimum: 1, maximum: 10}\n              imageName: {type: string, pattern: '^[a-z./:0-9]+$'}\n              storage:\n                type: object\n                properties:\n                  size: {x-kubernetes-int-or-string: true}\n              backup:\n                type: object\n                properties:\n                  retentionPolicy: {type: string, pattern: '^[1-9][0-9]*[dwm]$'}\n                  barmanObjectStore:\n                    type: object\n                    x-kubernetes-preserve-unknown-fields: true\n          status: {type: object, additionalProperties: {type: string}}\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: postgresql.cnpg.io\n  names: {kind: Cluster}\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            additionalProperties: false\n            properties:\n              extra:\n                type: array\n                maxItems: 2\n                items: {type: string, enum: [a, b], minLength: 1, maxLength: 3}\n              instances: {type: number, exclusiveMinimum: true, minimum: 3, multipleOf: 2}\n  - name: v2\n    served: false\n",
        "{\"apiVersion\": \"apiextensions.k8s.io/v1\", \"kind\": \"CustomResourceDefinition\", \"spec\": {\"group\": \"postgresql.cnpg.io\", \"names\": {\"kind\": \"Cluster\"}, \"versions\": [{\"name\": \"v1\", \"schema\": {\"openAPIV3Schema\": {\"type\": \"object\", \"x-kubernetes-preserve-unknown-fields\": true}}}]}}",
    ],
    dictionary: &[
        "type: object", "type: string", "type: integer", "type: array", "type: boolean",
        "properties:", "items:", "required: [", "enum: [", "pattern: ", "minimum: ", "maximum: ",
        "minLength: ", "maxLength: ", "minItems: ", "maxItems: ", "additionalProperties: ",
        "x-kubernetes-preserve-unknown-fields: true", "x-kubernetes-int-or-string: true",
        "format: ", "nullable: true", "oneOf:", "anyOf:", "allOf:", "not:", "$ref: ", "(a+)+",
        "[", "]", "{", "}", "\n  ", "- ", ": ", "'", "\\", "€", "-1", "1e309",
    ],
    run: |input| {
        let mut schemas = crate::schema::Schemas::default();
        if schemas.add(&text(input), Path::new("crds/c.yaml")).is_err() {
            return;
        }
        let doc = crate::yaml::parse(CLUSTER).expect("fixed object");
        let loc = |n: &crate::yaml::Node| crate::error::Location::new("m.yaml", n.line, n.col);
        let mut out = Vec::new();
        schemas.validate(&doc[0].root, &loc, &mut out);
        for path in [
            "spec.backup.barmanObjectStore.serverName",
            "spec.extra[0]",
            "status.conditions[type=Ready].status",
            "spec.storage.size.x",
            "metadata.name",
        ] {
            let steps = crate::yaml::path::parse(path).expect("fixed path");
            let _ = schemas.check_path("postgresql.cnpg.io/v1", "Cluster", &steps);
        }
    },
};

/// The outline and steps of a runbook page whose body is the input.
fn runbook_page(input: &[u8]) {
    use crate::content::outline::Outline;
    use crate::content::Expanded;
    let front = "---\ntitle: DR\nrunbook: true\nvariables:\n  v:\n    description: x\n---\n";
    let Some(page) = page(front, input) else {
        return;
    };
    let Ok(outline) = Outline::of(&page, &Expanded::unexpanded(&page.body)) else {
        return;
    };
    for block in outline.blocks.iter().filter(|b| b.step.is_some()) {
        if let Ok(step) = crate::runbook::Step::parse(&page, block) {
            if let Some(a) = step.action() {
                let _ = a.target.describe();
            }
        }
    }
    let (runbook, _) = crate::runbook::Runbook::read(&page, &outline);
    let _ = runbook.namespaces();
    let _ = crate::run::plan::select(&runbook, &[], Some("2"), Some("name"));
}

pub const RUNBOOK_STEPS: Target = Target {
    name: "runbook-steps",
    seeds: &[
        "# DR\n\n## Steps\n\n```bash {run name=check-backups readonly timeout=5m}\nkubectl get backups\n```\n\n1. Pause:\n\n   ```yaml {run action=patch name=pause troubleshoot=\"#steps\"}\n   apiVersion: argoproj.io/v1alpha1\n   kind: Application\n   metadata:\n     name: immich\n     namespace: argocd\n     annotations:\n       argocd.argoproj.io/skip-reconcile: \"true\"\n   ```\n",
        "```yaml {run action=delete wait=gone name=del destructive}\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\n```\n\n```yaml {run action=create name=make}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n```\n",
        "```yaml {run action=assert name=a}\napiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  namespace: db\nselector: cnpg.io/cluster=x,app in (a, b),!c\nmin: 1\nassert:\n  - path: status.phase\n    equals: completed\n  - path: metadata.labels[\"cnpg.io/cluster\"]\n    exists: true\n  - path: status.x\n    matches: '^v[0-9]+$'\n  - path: status.y\n    in: [a, 1]\n```\n",
        "```yaml {run action=wait name=w}\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: ns\nfor: jsonpath={.status.phase}=Cluster in healthy state\ntimeout: 1h30m\nfail-if:\n  - path: status.phase\n    equals: failed\n  - apiVersion: batch/v1\n    kind: Job\n    name: db-1-full-recovery\n    path: status.conditions[type=Failed].status\n    equals: \"True\"\n    message: the restore job failed\n```\n\n```yaml {run action=wait name=x}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nfor: condition=Ready=False\n```\n",
    ],
    dictionary: &[
        "```", "```bash {run name=s}\n", "```yaml {run action=", "create", "apply", "delete",
        "patch", "assert", "wait", " name=", " destructive", " readonly", " wait=gone",
        " timeout=", "troubleshoot=\"#x\"", "}\n", "apiVersion: ", "kind: ", "metadata:\n",
        "  name: ", "  namespace: ", "selector: ", "count: ", "min: ", "assert:\n", "  - path: ",
        "    equals: ", "    exists: ", "    matches: ", "    in: [", "for: ", "condition=",
        "jsonpath={.status.phase}=", "timeout: ", "fail-if:\n", "{{ vars.v }}", "5m", "1h",
        "99999999999h", "[type=Ready]", "\n", "   ",
    ],
    run: runbook_page,
};

pub const OUTLINE: Target = Target {
    name: "outline",
    seeds: &[
        "# Title {#top}\n\n## Why can't ArgoCD do it?\n\nSee [b](guide/b.md#x) and ![i](img.png).\n\n| Secret | Keys |\n|---|---|\n| `a` | x |\n\n```yaml {source=\"a.yaml\" select=spec}\na: 1\n```\n",
        "- item\n\n  ```bash {run name=x}\n  echo hi\n  ```\n\n> ```yaml {example}\n> q: 1\n> ```\n\n    indented code\n\n[^1]: note\n",
        "Setext\n===\n\n~~~sh {run}\nx\n~~~\n\n<details>\n\n## Inside html\n\n</details>\n\n* [ ] task ~~struck~~\n",
    ],
    dictionary: &[
        "#", "## ", " {#id}", "```", "~~~", "```yaml {", "}", "source=\"a.yaml\"", " run",
        "[", "](", ")", "![", "|", "|---|", "\n", "- ", "> ", "    ", "`", "<", ">", "*", "_",
        "[^1]", "\\", "&amp;", "€",
    ],
    run: |input| {
        use crate::content::outline::Outline;
        use crate::content::Expanded;
        let Some(page) = page("---\ntitle: T\n---\n", input) else {
            return;
        };
        if let Ok(o) = Outline::of(&page, &Expanded::unexpanded(&page.body)) {
            let _ = o.anchors().count();
        }
    },
};

pub const KUSTOMIZATION: Target = Target {
    name: "kustomization",
    seeds: &[
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: cloudnative-pg\nresources:\n  - cluster.yaml\n  - ../base\n  - https://github.com/x/y//base?ref=v1\ncomponents: [../comp]\npatches:\n  - path: patch.yaml\n    target: {kind: Cluster}\n  - patch: |-\n      - op: replace\n        path: /spec/instances\n        value: 3\n",
        "resources: [a.yaml]\npatchesStrategicMerge: [p.yaml]\npatchesJson6902:\n- path: j.yaml\nhelmCharts:\n- name: c\n  valuesFile: values.yaml\n  additionalValuesFiles: [more.yaml]\nconfigMapGenerator:\n- name: g\n  files: [key=conf.txt, other.txt]\n  envs: [a.env]\nsecretGenerator:\n- name: s\n  env: s.env\ngenerators: [gen.yaml]\n",
    ],
    dictionary: &[
        "resources:", "components:", "patches:", "patchesStrategicMerge:", "patchesJson6902:",
        "helmCharts:", "valuesFile: ", "configMapGenerator:", "secretGenerator:", "files:",
        "envs:", "env: ", "namespace: ", "crds:", "transformers:", "- ", "  - ", "path: ",
        "../", "./", "/", "..", "://", "?ref=", "=", "\n", "[", "]", "{", "}",
    ],
    run: |input| {
        let mut index = crate::manifests::ManifestIndex::default();
        for (rel, text) in [
            ("db/cluster.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"),
            ("db/patch.yaml", "spec:\n  instances: 3\n"),
            ("base/kustomization.yaml", "resources: [x.yaml]\n"),
        ] {
            index
                .add_file(rel, format!("manifests/{rel}").into(), text)
                .expect("fixed manifests parse");
        }
        let _ = index.add_file(
            "db/kustomization.yaml",
            "manifests/db/kustomization.yaml".into(),
            &text(input),
        );
        index.resolve_kustomizations();
        for k in index.kustomizations() {
            let _ = k.local().count();
        }
        let _ = index.objects().count();
        let _ = index.find("db/cluster.yaml", Some("ConfigMap/c"));
    },
};

pub const CHECK_PAGE: Target = Target {
    name: "check-page",
    seeds: &[
        "# A\n\n```yaml {source=\"x.yaml\" select=\"€€\"}\na: 2\n```\n\n```yaml {source=\"x.yaml\" select=\"block€\" excerpt}\nb: \"ë\" # c\n```\n\n- item\n\n  ```yaml {source=\"x.yaml\" select=\"list[0]\"}\n  ä: 2\n  ö: two\n  ```\n",
        "```yaml\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: immich-database\n  namespace: cloudnative-pg\nspec:\n  backup:\n    retentionPolicy: \"7d\"\n```\n\n```yaml {source=\"db/backup.yaml\" doc=\"ScheduledBackup/daily\" select=spec}\nschedule: \"0 2 * * *\"\ncluster:\n  name: immich-database\n```\n\nSee [x](other.md#y) and [top](#a).\n",
        "```yaml {example}\nx: 1\n```\n\n```yaml {source=\"db/cluster.yaml\" select=\"spec.backup\"}\nretentionPolicy: \"14d\"\nbarmanObjectStore:\n  serverName: immich-database-v1\n  destinationPath: s3://CHANGE_ME\n```\n\n```bash {run name=s}\nls\n```\n",
    ],
    dictionary: &[
        "```", "```yaml {source=\"x.yaml\" select=\"", "```yaml {source=\"db/cluster.yaml\"",
        " select=", " excerpt", " doc=\"Cluster/immich-database\"", " example", " template",
        "\"}\n", "€€", "block€", "list[0]", "spec.backup", "a: ", "b: ", "ä: ", "ö: ", "\n  ",
        "\n", "- ", "  ", "\"", "'", " # ", "{", "}", "[", "]", "é", "\r\n", "> ",
    ],
    run: |input| {
        use crate::content::outline::Outline;
        use crate::content::{Content, Expanded};
        static INDEX: std::sync::OnceLock<std::sync::Arc<crate::manifests::ManifestIndex>> =
            std::sync::OnceLock::new();
        let index = INDEX.get_or_init(|| std::sync::Arc::new(small_index()));
        let front = "---\ntitle: T\n---\n";
        let Some(page) = page(front, input) else {
            return;
        };
        let Ok(outline) = Outline::of(&page, &Expanded::unexpanded(&page.body)) else {
            return;
        };
        let project = crate::project::Project {
            root: "/nonexistent".into(),
            config: crate::config::Config::default(),
            content: Content {
                pages: vec![page],
                assets: Vec::new(),
            },
            manifests: index.clone(),
        };
        let pages = [(&project.content.pages[0], &outline)];
        let report = crate::check::check_outlines(&project, &pages, None);
        // What `--fix` would write, applied to the page's text.
        let file = format!("{front}{}", text(input));
        let fixes: Vec<&crate::check::fix::Fix> = report.fixes.iter().collect();
        let _ = crate::check::fix::apply(&file, Path::new("content/f.md"), fixes);
    },
};

/// Every target, for the long runs.
pub const ALL: &[&Target] = &[
    &FRONT_MATTER,
    &FENCE_INFO,
    &YAML,
    &SELECT_PATH,
    &CONFIG,
    &HTTP_HEAD,
    &TEMPLATES,
    &CRD_SCHEMA,
    &RUNBOOK_STEPS,
    &OUTLINE,
    &KUSTOMIZATION,
    &CHECK_PAGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{long, quick};

    #[test]
    fn front_matter() {
        quick(&FRONT_MATTER);
    }

    #[test]
    fn fence_info() {
        quick(&FENCE_INFO);
    }

    #[test]
    fn yaml() {
        quick(&YAML);
    }

    #[test]
    fn select_path() {
        quick(&SELECT_PATH);
    }

    #[test]
    fn config() {
        quick(&CONFIG);
    }

    #[test]
    fn http_head() {
        quick(&HTTP_HEAD);
    }

    #[test]
    fn templates() {
        quick(&TEMPLATES);
    }

    #[test]
    fn crd_schema() {
        quick(&CRD_SCHEMA);
    }

    #[test]
    fn runbook_steps() {
        quick(&RUNBOOK_STEPS);
    }

    #[test]
    fn outline() {
        quick(&OUTLINE);
    }

    #[test]
    fn kustomization() {
        quick(&KUSTOMIZATION);
    }

    #[test]
    fn check_page() {
        quick(&CHECK_PAGE);
    }

    /// `DOCS_FUZZ_SECONDS=600 cargo test --release --lib fuzz::targets::tests::long -- --ignored --nocapture`
    #[test]
    #[ignore = "long fuzzing session: bench/fuzz.py runs it"]
    fn long_all() {
        // `DOCS_FUZZ_TARGETS=yaml,outline` runs those only.
        let only = std::env::var("DOCS_FUZZ_TARGETS").unwrap_or_default();
        for t in ALL
            .iter()
            .filter(|t| only.is_empty() || only.split(',').any(|n| n.trim() == t.name))
        {
            long(t);
        }
    }
}
