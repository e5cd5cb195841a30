//! Bad input: a one-line error naming the file and line, exit status 1, no
//! panic, and the previous good output left untouched.

use crate::common::{snapshot, Repo};

/// Builds a good site, breaks the repository with `breakage`, builds again
/// and returns stderr, after checking the failure contract.
fn fails_cleanly(tag: &str, breakage: impl FnOnce(&Repo)) -> String {
    let repo = Repo::small(tag);
    repo.docs(&["build"]).ok();
    let before = snapshot(&repo.path("public"));
    breakage(&repo);
    let run = repo.docs(&["build"]);
    run.fails();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", run.stderr);
    assert_eq!(
        snapshot(&repo.path("public")),
        before,
        "previous site untouched"
    );
    run.stderr.clone()
}

#[test]
fn missing_content_dir() {
    let err = fails_cleanly("no-content", |r| {
        std::fs::remove_dir_all(r.path("content")).unwrap()
    });
    assert!(
        err.contains("error: content: content directory not found"),
        "{err}"
    );
}

#[test]
fn empty_content_dir() {
    let err = fails_cleanly("empty", |r| {
        std::fs::remove_dir_all(r.path("content")).unwrap();
        std::fs::create_dir(r.path("content")).unwrap();
    });
    assert!(err.contains("content: no pages"), "{err}");
}

#[test]
fn page_with_invalid_utf8() {
    let err = fails_cleanly("utf8", |r| {
        r.write_bytes(
            "content/a.md",
            b"---\ntitle: A\n---\nfine\nbad \xc3\x28 byte\n",
        )
    });
    assert!(
        err.contains("content/a.md:5:5: the page is not valid UTF-8"),
        "{err}"
    );
}

#[test]
fn unterminated_front_matter() {
    let err = fails_cleanly("unterminated", |r| {
        r.write("content/a.md", "---\ntitle: A\n# Body\n")
    });
    assert!(
        err.contains("content/a.md:1:1: front matter starts with `---` but has no closing"),
        "{err}"
    );
}

#[test]
fn front_matter_type_error() {
    let err = fails_cleanly("fm-type", |r| {
        r.write("content/a.md", "---\ntitle: A\nweight: [1, 2]\n---\nx\n")
    });
    assert!(err.contains("content/a.md:3:"), "{err}");
    assert!(err.contains("weight"), "{err}");
}

#[test]
fn broken_template() {
    let err = fails_cleanly("template", |r| {
        r.write("docs.toml", "title = \"T\"\ntheme = \"mytheme\"\n");
        r.write(
            "mytheme/templates/page.html",
            "{% extends \"layout.html\" %}\n{% block main %}\n{{ page.content \n{% endblock %}\n",
        );
    });
    // The unclosed `{{` of line 3 runs into the `{%` of line 4.
    assert!(
        err.contains("mytheme/templates/page.html:4: template error (syntax error)"),
        "{err}"
    );
}

#[test]
fn template_error_at_render_names_template_and_line() {
    let err = fails_cleanly("template-render", |r| {
        r.write("docs.toml", "title = \"T\"\ntheme = \"mytheme\"\n");
        r.write("mytheme/templates/page.html", "{% extends \"layout.html\" %}\n{% block main %}\n{{ page.title | nosuchfilter }}\n{% endblock %}\n");
    });
    assert!(err.contains("mytheme/templates/page.html:3"), "{err}");
}

#[test]
fn unreadable_theme() {
    let err = fails_cleanly("theme-missing", |r| {
        r.write("docs.toml", "title = \"T\"\ntheme = \"nope\"\n")
    });
    assert!(err.contains("nope: theme directory not found"), "{err}");
    let err = fails_cleanly("theme-bytes", |r| {
        r.write("docs.toml", "title = \"T\"\ntheme = \"mytheme\"\n");
        r.write_bytes("mytheme/templates/page.html", b"\xff\xfe");
    });
    assert!(
        err.contains("mytheme/templates/page.html: the template is not valid UTF-8"),
        "{err}"
    );
}

#[test]
fn config_unknown_key_and_wrong_type() {
    let err = fails_cleanly("config-key", |r| {
        r.write("docs.toml", "title = \"T\"\noutput = \"site\"\n")
    });
    assert!(
        err.contains("docs.toml:2:1: unknown field `output`"),
        "{err}"
    );
    let err = fails_cleanly("config-type", |r| r.write("docs.toml", "title = 5\n"));
    assert!(err.contains("docs.toml:1:9"), "{err}");
}

#[test]
fn expression_that_resolves_to_nothing() {
    let err = fails_cleanly("expr", |r| {
        r.write(
            "manifests/c.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n",
        );
        r.write(
            "content/a.md",
            "---\ntitle: A\n---\nok\n\nValue: {{ manifest(\"c.yaml\").data.missing }}\n",
        );
    });
    assert!(err.contains("content/a.md:6:"), "{err}");
    assert!(err.contains("resolves to nothing"), "{err}");
}

#[test]
fn malformed_manifest_yaml() {
    let err = fails_cleanly("manifest-yaml", |r| {
        r.write("manifests/x.yaml", "a: 1\nb: [1, 2\n")
    });
    assert!(err.contains("manifests/x.yaml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn symlink_out_of_the_content_tree() {
    let err = fails_cleanly("symlink", |r| {
        r.write("secret.txt", "x");
        std::os::unix::fs::symlink(r.path("secret.txt"), r.path("content/link.txt")).unwrap();
    });
    assert!(
        err.contains("content/link.txt: a symlink to a file outside content"),
        "{err}"
    );
}
