//! `docs build` end to end: real files in, real site out.

use crate::common::{snapshot, Repo};

#[test]
fn builds_pages_nav_search_sitemap_and_404() {
    let repo = Repo::small("basic");
    repo.docs(&["build"]).ok();
    for f in [
        "index.html",
        "a.html",
        "guide/b.html",
        "404.html",
        "sitemap.xml",
        "search-index.js",
        "nav.js",
        "style.css",
        "docs.js",
    ] {
        assert!(repo.exists(&format!("public/{f}")), "missing {f}");
    }
    let a = repo.read("public/a.html");
    assert!(a.contains("<title>Alpha · Test kit</title>"), "{a}");
    assert!(
        a.contains("href=\"guide/b.html#usage\""),
        "link rewritten relative: {a}"
    );
    assert!(a.contains("rel=\"next\""), "previous/next navigation");
    let b = repo.read("public/guide/b.html");
    assert!(b.contains("href=\"../a.html#setup\""), "{b}");
    assert!(
        b.contains("href=\"../style.css\""),
        "assets are relative to the page"
    );
    assert!(b.contains("data-root=\"../\""));
    let nav = repo.read("public/nav.js");
    assert!(
        nav.find("Alpha").unwrap() < nav.find("Beta").unwrap(),
        "weight order"
    );
}

#[test]
fn pages_are_ordered_by_weight_then_title() {
    let repo = Repo::empty("order");
    repo.write("content/z.md", "---\ntitle: Zulu\nweight: -5\n---\nz\n");
    repo.write("content/b.md", "---\ntitle: bravo\nweight: 3\n---\nb\n");
    repo.write("content/a.md", "---\ntitle: Alpha\nweight: 3\n---\na\n");
    repo.write("content/c.md", "no front matter\n");
    repo.docs(&["build"]).ok();
    let nav = repo.read("public/nav.js");
    let pos = |t: &str| {
        nav.find(&format!("\"{t}\""))
            .unwrap_or_else(|| panic!("{t} in {nav}"))
    };
    assert!(
        pos("Zulu") < pos("C") && pos("C") < pos("Alpha") && pos("Alpha") < pos("bravo"),
        "{nav}"
    );
}

#[test]
fn navigation_is_not_copied_into_every_page() {
    let repo = Repo::empty("linear");
    for i in 0..60 {
        repo.write(
            &format!("content/p{i:02}.md"),
            &format!("---\ntitle: Page number {i}\nweight: {i}\n---\ntext {i}\n"),
        );
    }
    repo.docs(&["build"]).ok();
    let p10 = repo.read("public/p10.html");
    // Only itself and its neighbours are named in a page; the rest is nav.js.
    assert!(p10.contains("Page number 9") && p10.contains("Page number 11"));
    assert!(
        !p10.contains("Page number 40"),
        "a page must not carry the whole navigation"
    );
    assert!(repo.read("public/nav.js").contains("Page number 40"));
    // The home page lists every page.
    assert!(repo.read("public/index.html").contains("Page number 40"));
}

#[test]
fn broken_links_and_anchors_fail_with_locations_and_keep_the_old_site() {
    let repo = Repo::small("broken");
    repo.docs(&["build"]).ok();
    let before = snapshot(&repo.path("public"));
    repo.write(
        "content/a.md",
        "---\ntitle: Alpha\n---\n# Alpha\n\nline\n\n[x](guide/b.md#usag) and [y](missing.md)\n",
    );
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(
        run.stderr
            .contains("error[broken-anchor]: `guide/b.md` has no heading with id `#usag`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> content/a.md:8:1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `#usage`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error[broken-link]: link to a missing page `missing.md`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> content/a.md:8:26"),
        "{}",
        run.stderr
    );
    assert_eq!(
        snapshot(&repo.path("public")),
        before,
        "previous site untouched"
    );
}

#[test]
fn code_blocks_are_highlighted_and_annotated() {
    let repo = Repo::empty("code");
    repo.write(
        "content/a.md",
        "# A\n\n```yaml {source=\"db/cluster.yaml\" select=\"spec.backup\"}\nretentionPolicy: \"14d\"\n```\n\n```bash {run name=\"check\"}\nkubectl get backups # list\n```\n\n```toml\nx = 1\n```\n\n```cobol\n<MOVE>\n```\n",
    );
    // About rendering: the block names a manifest this repository lacks.
    repo.docs(&["build", "--no-check"]).ok();
    let a = repo.read("public/a.html");
    assert!(
        a.contains("<span class=\"hl-t\">retentionPolicy</span>"),
        "{a}"
    );
    assert!(
        a.contains("Matches <code>db/cluster.yaml</code> · <code>spec.backup</code>"),
        "{a}"
    );
    assert!(a.contains("id=\"step-1\""), "{a}");
    assert!(a.contains("<span class=\"step-name\">check</span>"));
    assert!(a.contains("<span class=\"hl-c\"># list</span>"), "{a}");
    assert!(
        a.contains("<span class=\"hl-n\">1</span>"),
        "toml highlights: {a}"
    );
    assert!(
        a.contains("&lt;MOVE&gt;"),
        "unknown language is escaped text"
    );
}

#[test]
fn malformed_code_attributes_name_file_and_line() {
    let repo = Repo::empty("attrs");
    repo.write(
        "content/a.md",
        "---\ntitle: A\n---\ntext\n\n```yaml {source=\"x.yaml\n",
    );
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(run.stderr.contains("content/a.md:6:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("malformed code block attributes"),
        "{}",
        run.stderr
    );
}

#[test]
fn search_index_lists_pages_headings_and_terms() {
    let repo = Repo::small("search");
    repo.docs(&["build"]).ok();
    let js = repo.read("public/search-index.js");
    let json = js
        .trim()
        .strip_prefix("window.DOCS_SEARCH_INDEX=")
        .unwrap()
        .strip_suffix(';')
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["u"], "guide/b.html");
    assert_eq!(pages[1]["h"][0], serde_json::json!(["usage", "Usage"]));
    assert_eq!(
        v["terms"]["back"], "1",
        "only page 1 (delta-encoded) says 'back'"
    );
    assert_eq!(v["terms"]["beta"], "0,1", "page 0 links to beta by name");
    // Search loads lazily: pages reference the script, never inline it.
    assert!(!repo.read("public/a.html").contains("DOCS_SEARCH_INDEX="));
}

#[test]
fn base_url_is_used_for_404_and_sitemap() {
    let repo = Repo::small("baseurl");
    repo.docs(&["build", "--base-url", "https://example.org/kit"])
        .ok();
    let nf = repo.read("public/404.html");
    assert!(
        nf.contains("href=\"https://example.org/kit/style.css\""),
        "{nf}"
    );
    let sm = repo.read("public/sitemap.xml");
    assert!(
        sm.contains("<loc>https://example.org/kit/guide/b.html</loc>"),
        "{sm}"
    );
    repo.write("docs.toml", "title = \"T\"\nbase_url = \"/kit\"\n");
    repo.docs(&["build"]).ok();
    assert!(repo
        .read("public/404.html")
        .contains("src=\"/kit/docs.js\""));
    // Pages stay relative, so the site also works from file://.
    assert!(repo.read("public/a.html").contains("href=\"style.css\""));
}

#[test]
fn no_request_leaves_the_site() {
    let repo = Repo::copy_of_project("offline");
    repo.docs(&["build"]).ok();
    for (rel, bytes) in snapshot(&repo.path("public")) {
        if !(rel.ends_with(".html") || rel.ends_with(".css") || rel.ends_with(".js")) {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        for bad in [
            "src=\"http",
            "src=\"//",
            "href=\"//",
            "@import",
            "url(http",
            "fonts.googleapis",
            "cdn",
        ] {
            assert!(!text.contains(bad), "{rel} contains {bad}");
        }
        for (i, _) in text.match_indices("<link") {
            let tag = &text[i..i + text[i..].find('>').unwrap()];
            assert!(!tag.contains("http"), "{rel}: {tag}");
        }
    }
}

#[test]
fn literal_go_templates_in_code_survive() {
    let repo = Repo::empty("gotpl");
    repo.write(
        "content/a.md",
        "# A\n\nInline `{% raw %}{{ .Values.image }}{% endraw %}` and a block:\n\n```yaml {example}\nname: '{{path.basename}}'\nimage: \"{{ .Values.image }}\"\n```\n",
    );
    repo.docs(&["build"]).ok();
    let a = repo.read("public/a.html");
    assert!(a.contains("<code>{{ .Values.image }}</code>"), "{a}");
    assert!(a.contains("{{path.basename}}"), "{a}");
    assert!(a.contains("{{ .Values.image }}&quot;"), "{a}");
}

#[test]
fn claude_md_is_generated_and_rewritten_only_when_changed() {
    let repo = Repo::small("claude");
    repo.write("docs.toml", "title = \"T\"\nclaude_md = \"agents.md\"\n");
    repo.write(
        "content/agents.md",
        "---\ntitle: Agents\n---\n# For agents\n\nRead [alpha](a.md#setup).\n\n```yaml {example}\na: 1\n```\n",
    );
    let run = repo.docs(&["build"]);
    run.ok();
    assert!(run.stderr.contains("CLAUDE.md updated"), "{}", run.stderr);
    let text = repo.read("CLAUDE.md");
    assert!(
        text.starts_with("<!-- Generated by `docs build` from content/agents.md"),
        "{text}"
    );
    assert!(text.contains("# For agents"));
    assert!(
        text.contains("[alpha](content/a.md#setup)"),
        "links point into content/: {text}"
    );
    assert!(
        text.contains("```yaml\na: 1\n```"),
        "attributes stripped: {text}"
    );
    let mtime = std::fs::metadata(repo.path("CLAUDE.md"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let run = repo.docs(&["build"]);
    run.ok();
    assert!(!run.stderr.contains("CLAUDE.md updated"));
    assert_eq!(
        std::fs::metadata(repo.path("CLAUDE.md"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

#[test]
fn the_committed_claude_md_is_fresh() {
    let repo = Repo::copy_of_project("claude-fresh");
    let committed = repo.read("CLAUDE.md");
    let run = repo.docs(&["build"]);
    run.ok();
    assert!(
        !run.stderr.contains("CLAUDE.md updated"),
        "CLAUDE.md is stale: run `cargo run -- build` and commit it"
    );
    assert_eq!(repo.read("CLAUDE.md"), committed);
}

#[test]
fn user_theme_overrides_templates_and_assets_by_name() {
    let repo = Repo::small("theme");
    repo.write("docs.toml", "title = \"T\"\ntheme = \"mytheme\"\n");
    repo.write("mytheme/templates/page.html", "{% extends \"layout.html\" %}{% block main %}<div class=\"custom\">{{ page.content }}</div>{% endblock %}");
    repo.write("mytheme/static/style.css", "body { color: red }");
    repo.write("mytheme/static/extra/logo.svg", "<svg/>");
    repo.docs(&["build"]).ok();
    assert!(repo
        .read("public/a.html")
        .contains("<div class=\"custom\">"));
    assert_eq!(repo.read("public/style.css"), "body { color: red }");
    assert!(repo.exists("public/extra/logo.svg"));
    assert!(
        repo.read("public/index.html").contains("All pages"),
        "other templates stay built in"
    );
}

#[test]
fn content_assets_are_copied() {
    let repo = Repo::small("assets");
    repo.write("content/images/d.svg", "<svg/>");
    repo.write("content/a.md", "# A\n\n## Setup\n\n![d](images/d.svg)\n");
    repo.docs(&["build"]).ok();
    assert_eq!(repo.read("public/images/d.svg"), "<svg/>");
    assert!(repo.read("public/a.html").contains("src=\"images/d.svg\""));
}

#[test]
fn the_project_builds_with_values_from_its_manifests() {
    let repo = Repo::copy_of_project("project");
    let run = repo.docs(&["build"]);
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let dr = repo.read("public/cnpg-disaster-recovery.html");
    assert!(
        dr.contains("immich-database-v2"),
        "the next lineage is computed"
    );
    assert!(
        dr.contains("every day at 02:00"),
        "the schedule is described"
    );
    assert!(dr.contains("Step 13"), "steps are numbered");
    // The generated recovery Cluster keeps the manifest's key order.
    // The step itself, not its entry in the list of steps at the top.
    let step = &dr[dr.find("--only create-recovery-cluster").unwrap()..];
    let pos = |k: &str| {
        step.find(k)
            .unwrap_or_else(|| panic!("{k} in the recovery manifest"))
    };
    assert!(
        pos(">instances<") < pos(">storage<")
            && pos(">storage<") < pos(">bootstrap<")
            && pos(">bootstrap<") < pos(">backup<"),
        "key order"
    );
    assert!(
        dr.contains("<code>immich-database</code> | ")
            || dr.contains("<td><code>immich-database</code></td>"),
        "serverName table generated"
    );
    let arch = repo.read("public/architecture.html");
    assert!(
        arch.contains("<td><code>cilium</code></td>"),
        "sync waves generated: {arch}"
    );
    assert!(repo.exists("public/images/data-protection.svg"));
    let secrets = repo.read("public/secrets.html");
    assert!(secrets.contains("<td><code>cnpg-s3-credentials</code></td>"));
}

#[test]
fn a_runbook_page_lists_its_steps_and_how_to_run_each() {
    let repo = Repo::copy_of_project("build-runbook");
    repo.docs(&["build"]).ok();
    let dr = repo.read("public/cnpg-disaster-recovery.html");
    // The list of steps at the top, in the site's numbering.
    let list = &dr[dr.find("class=\"step-list\"").expect("a step list")..];
    let list = &list[..list.find("</ol>").unwrap()];
    assert!(list.find("list-backups").unwrap() < list.find("delete-cluster").unwrap());
    assert!(list.contains("href=\"#step-7\""), "{list}");
    // Each step: its kind, name, destructiveness and the command that runs it alone.
    let step = &dr[dr.find("id=\"step-7\"").unwrap()..];
    let step = &step[..step.find("</figcaption>").unwrap()];
    assert!(
        step.contains("<span class=\"step-action\">delete</span>"),
        "{step}"
    );
    assert!(
        step.contains("<span class=\"step-name\">delete-cluster</span>"),
        "{step}"
    );
    assert!(step.contains("badge destructive"), "{step}");
    assert!(
        step.contains("data-copy=\"docs run cnpg-disaster-recovery --only delete-cluster\""),
        "{step}"
    );
    // The site's numbering is docs run's.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docs"))
        .args([
            "-C",
            repo.root.to_str().unwrap(),
            "run",
            "cnpg-disaster-recovery",
            "--list",
        ])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("[ 7/20] delete-cluster"), "{listed}");
}
