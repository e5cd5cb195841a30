//! Issue #13: what a careless command line, a hostile file, a closed pipe
//! or a kill does to `docs` — it refuses, reports or stops cleanly, and
//! never loses the user's files or a good site.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::proc::{self, End};
use crate::common::{leftovers, snapshot, Repo};

/// The pages and manifests of a repository, to compare before and after.
fn sources(repo: &Repo) -> Vec<(String, Vec<u8>)> {
    snapshot(&repo.root)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("public/"))
        .collect()
}

// ---- 1. Where a build may write -------------------------------------------

#[test]
fn build_out_content_is_refused_and_the_pages_survive() {
    let repo = Repo::small("out-content");
    let before = sources(&repo);
    let run = repo.docs(&["build", "--out", "content"]);
    run.fails();
    assert!(
        run.stderr.contains(
            "error: content: refusing to write the site here: it is the content directory"
        ),
        "{}",
        run.stderr
    );
    // Forcing never opens the sources, and docs.toml is guarded the same.
    repo.docs(&["build", "--out", "content", "--force"]).fails();
    repo.write(
        "docs.toml",
        "title = \"T\"\noutput_dir = \"content/site\"\n",
    );
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(
        run.stderr.contains("it lies inside the content directory"),
        "{}",
        run.stderr
    );
    repo.write("docs.toml", "title = \"Test kit\"\n");
    assert_eq!(sources(&repo), before, "nothing was touched");
    assert!(!repo.exists("content/site"));
}

#[test]
fn build_out_the_repository_is_refused_however_it_is_named() {
    // Nested, so that `--out ..` names a directory of this test.
    let repo = Repo::nested("out-root");
    repo.write("docs.toml", "title = \"Test kit\"\n");
    repo.write("content/a.md", "# A\n");
    repo.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    );
    std::fs::create_dir(repo.path(".git")).unwrap();
    repo.write(".git/HEAD", "ref: refs/heads/main\n");
    let before = sources(&repo);
    let abs = repo.root.canonicalize().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&abs, other.path().join("link")).unwrap();
    std::os::unix::fs::symlink(abs.join("manifests"), other.path().join("site")).unwrap();
    let cases = [
        (abs.display().to_string(), "it is the repository root"),
        (
            format!("{}/public/..", abs.display()),
            "it is the repository root",
        ),
        (".".to_string(), "it is the repository root"),
        ("..".to_string(), "it contains the repository"),
        (
            repo.root.parent().unwrap().display().to_string(),
            "it contains the repository",
        ),
        (
            other.path().join("link").display().to_string(),
            "it is the repository root",
        ),
        (
            other.path().join("site").display().to_string(),
            "it is the manifests directory",
        ),
        (".git".to_string(), "it is the git repository"),
        (
            abs.join("themes").display().to_string(),
            "it contains the theme",
        ),
    ];
    for (out, why) in &cases {
        let run = repo.docs(&["build", "--out", out]);
        run.fails();
        assert!(run.stderr.contains(why), "--out {out}: {}", run.stderr);
        assert_eq!(sources(&repo), before, "--out {out} touched the repository");
    }
    // The default output inside the repository is fine.
    repo.docs(&["build"]).ok();
    assert!(repo.exists("public/index.html"));
    assert!(repo.exists("public/.docs-site"), "the site is marked");
}

#[test]
fn a_foreign_non_empty_directory_is_replaced_only_with_force() {
    let repo = Repo::small("out-foreign");
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("thesis.tex"), "years of work").unwrap();
    let out_s = out.to_str().unwrap();
    let run = repo.docs(&["build", "--out", out_s]);
    run.fails();
    assert!(
        run.stderr.contains("that `docs build` did not write") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(out.join("thesis.tex")).unwrap(),
        "years of work"
    );
    // A site docs wrote is replaced without asking; --force replaces the rest.
    repo.docs(&["build", "--out", out_s, "--force"]).ok();
    assert!(out.join("index.html").exists() && !out.join("thesis.tex").exists());
    repo.docs(&["build", "--out", out_s]).ok();
    // An empty directory and a new one are fine.
    let empty = elsewhere.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    repo.docs(&["build", "--out", empty.to_str().unwrap()]).ok();
    let new = elsewhere.path().join("new/site");
    repo.docs(&["build", "--out", new.to_str().unwrap()]).ok();
    assert!(new.join("index.html").exists());
}

/// A drifted `source=` block on `content/a.md` (its text is `page`).
fn drifted(tag: &str, page: &str) -> Repo {
    let repo = Repo::empty(tag);
    repo.write("docs.toml", "title = \"T\"\n");
    repo.write(
        "manifests/c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: one\n  b: two\n",
    );
    repo.write("content/a.md", page);
    repo
}

const DRIFTED_PAGE: &str = "---\ntitle: A\n---\n# A\n\n```yaml {source=\"c.yaml\" select=\"data\"}\na: one\nb: old\n```\n\nEnd.\n";

#[test]
fn fix_does_not_replace_a_symlinked_page_or_write_through_it() {
    let repo = drifted("fix-link", "");
    repo.write("content/real/a.md", DRIFTED_PAGE);
    std::fs::remove_file(repo.path("content/a.md")).unwrap();
    std::os::unix::fs::symlink(repo.path("content/real/a.md"), repo.path("content/a.md")).unwrap();
    let run = repo.docs(&["check", "--fix"]);
    run.fails();
    assert!(
        run.stderr
            .contains("content/a.md: refusing to rewrite this file: it is a symlink"),
        "{}",
        run.stderr
    );
    let meta = std::fs::symlink_metadata(repo.path("content/a.md")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is still a link");
    assert_eq!(repo.read("content/real/a.md"), DRIFTED_PAGE);
}

#[test]
fn claude_md_is_written_at_the_root_only_never_through_a_link() {
    let repo = Repo::small("claude-link");
    repo.write(
        "docs.toml",
        "title = \"T\"\nclaude_md = \"guide/b.md\"\noutput_dir = \"public\"\n",
    );
    repo.write("AGENTS.md", "hand-written\n");
    std::os::unix::fs::symlink(repo.path("AGENTS.md"), repo.path("CLAUDE.md")).unwrap();
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(
        run.stderr
            .contains("CLAUDE.md: refusing to rewrite this file: it is a symlink"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.read("AGENTS.md"), "hand-written\n");
    assert!(!repo.exists("public"), "nothing written before the refusal");
    std::fs::remove_file(repo.path("CLAUDE.md")).unwrap();
    repo.docs(&["build"]).ok();
    assert!(repo.read("CLAUDE.md").contains("# Beta"));
}

// ---- 2. Non-ASCII keys -----------------------------------------------------

#[test]
fn a_non_ascii_selected_key_is_a_finding_not_a_panic() {
    let repo = Repo::empty("euro");
    repo.write("docs.toml", "title = \"T\"\n");
    repo.write("manifests/x.yaml", "€€: {a: 1}\nblock€:\n  b: 1\n");
    repo.write(
        "content/a.md",
        "# A\n\n```yaml {source=\"x.yaml\" select=\"€€\"}\na: 2\n```\n\n```yaml {source=\"x.yaml\" select=\"block€\"}\nb: 2\n```\n",
    );
    let run = repo.docs(&["check"]);
    run.fails();
    let found: Vec<&str> = run.stderr.lines().filter(|l| l.contains("-->")).collect();
    assert_eq!(
        found,
        [
            "  --> content/a.md:4:4",
            "  --> manifests/x.yaml:1:9 (manifest)",
            "  --> content/a.md:8:4",
            "  --> manifests/x.yaml:3:6 (manifest)"
        ],
        "{}",
        run.stderr
    );
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(
        run.stderr.contains("the site has 2 errors"),
        "{}",
        run.stderr
    );
    // The block-style one is fixable; the flow one is left to a person.
    repo.docs(&["check", "--fix"]).fails();
    let page = repo.read("content/a.md");
    assert!(
        page.contains("```yaml {source=\"x.yaml\" select=\"block€\"}\nb: 1\n```"),
        "{page}"
    );
    assert!(page.contains("select=\"€€\"}\na: 2\n"), "{page}");
}

// ---- 3. Alias bombs ----------------------------------------------------------

/// "Billion laughs": nine levels of nine aliases, 9^9 nodes from a few
/// hundred bytes.
fn alias_bomb(indent: &str) -> String {
    let mut s = format!(
        "{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    );
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let refs = vec![format!("*{prev}"); 9].join(",");
        s.push_str(&format!("{indent}{name}: &{name} [{refs}]\n"));
    }
    s
}

/// Runs `docs check` on `repo` with at most 1 GiB of address space.
fn check_bounded(repo: &Repo) -> (proc::Measured, String) {
    let mut cmd = proc::docs(&["-C", repo.root.to_str().unwrap(), "check"]);
    let err = tempfile::tempfile().unwrap();
    cmd.stdout(Stdio::null())
        .stderr(Stdio::from(err.try_clone().unwrap()));
    proc::limit_memory(&mut cmd, 1 << 30);
    // A regression into a hang is killed (and fails) after 30 s.
    let m = proc::wait_measured(cmd.spawn().unwrap(), Duration::from_secs(30));
    use std::io::{Read, Seek};
    let mut err = err;
    err.rewind().unwrap();
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    (m, text)
}

#[test]
fn an_alias_bomb_in_a_manifest_is_an_error_in_bounded_memory() {
    let repo = Repo::small("bomb");
    let bomb = alias_bomb("");
    assert!(bomb.len() < 400, "{}", bomb.len());
    repo.write("manifests/bomb.yaml", &bomb);
    let (m, stderr) = check_bounded(&repo);
    assert_eq!(m.end, End::Code(1), "{stderr}");
    assert!(
        stderr.contains("manifests/bomb.yaml:") && stderr.contains("aliases expand to more than"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(m.peak_rss_mib < 200.0, "peak {} MiB", m.peak_rss_mib);
}

#[test]
fn an_alias_bomb_in_front_matter_is_an_error_in_bounded_memory() {
    let repo = Repo::small("bomb-front");
    // Front matter fields take no sequences, so the bomb is rejected at
    // its first node; put it under a known key and as values too.
    let page = format!("---\nvariables:\n{}title: *i\n---\n# A\n", alias_bomb("  "));
    repo.write("content/a.md", &page);
    let (m, stderr) = check_bounded(&repo);
    assert_eq!(m.end, End::Code(1), "{stderr}");
    assert!(stderr.contains("content/a.md:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(m.peak_rss_mib < 200.0, "peak {} MiB", m.peak_rss_mib);
}

#[test]
fn a_runaway_template_loop_is_an_error_not_a_hang() {
    let repo = Repo::small("runaway");
    repo.write(
        "content/a.md",
        "# A\n\n{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}\n",
    );
    let (m, stderr) = check_bounded(&repo);
    assert_eq!(m.end, End::Code(1), "{stderr}");
    assert!(
        stderr.contains("content/a.md:3") && stderr.contains("steps (a loop too large?)"),
        "{stderr}"
    );
}

#[test]
fn a_page_the_markdown_parser_panics_on_is_an_error_at_its_line() {
    // Found by the outline fuzzer, minimized: pulldown-cmark 0.13.6
    // panics on it (exit 101 for check, build and serve).
    let repo = Repo::small("cmark-panic");
    repo.write("content/a.md", "# A\n\nText.\n\n>}\nn\n> {}\n>=\n");
    let run = repo.docs(&["check"]);
    run.fails();
    assert!(
        run.stderr
            .contains("error[markdown]: the Markdown parser (pulldown-cmark) fails")
            && run.stderr.contains("--> content/a.md:8"),
        "{}",
        run.stderr
    );
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(
        run.stderr
            .starts_with("error: content/a.md:8: the Markdown parser (pulldown-cmark) fails"),
        "{}",
        run.stderr
    );
}

// ---- 4. --fix keeps line endings -------------------------------------------

#[test]
fn fix_keeps_a_crlf_page_crlf() {
    let repo = drifted("crlf", &DRIFTED_PAGE.replace('\n', "\r\n"));
    repo.docs(&["check"]).fails();
    repo.docs(&["check", "--fix"]).ok();
    let page = repo.read("content/a.md");
    assert_eq!(
        page,
        DRIFTED_PAGE
            .replace("b: old", "b: two")
            .replace('\n', "\r\n"),
        "fixed, and every line still ends in CRLF"
    );
    repo.docs(&["check"]).ok();
}

// ---- 5. Closed pipes ---------------------------------------------------------

/// A repository with a few hundred findings: more output than a pipe holds.
fn noisy(tag: &str) -> Repo {
    let repo = Repo::small(tag);
    let links: String = (0..300)
        .map(|i| format!("[x](nowhere-{i}.md)\n\n"))
        .collect();
    repo.write("content/c.md", &format!("# C\n\n{links}"));
    repo
}

/// Runs docs with stdout and stderr on pipes whose reader has gone.
fn with_closed_pipes(repo: &Repo, args: &[&str]) -> End {
    let mut cmd = proc::docs(&["-C", repo.root.to_str().unwrap()]);
    cmd.args(args)
        .stdout(proc::closed_pipe())
        .stderr(proc::closed_pipe());
    proc::wait_measured(cmd.spawn().unwrap(), Duration::from_secs(60)).end
}

#[test]
fn closed_pipes_end_the_output_not_the_command() {
    let repo = noisy("pipe");
    // Exit 101 would be a panic; the statuses are the commands' own.
    assert_eq!(with_closed_pipes(&repo, &["check"]), End::Code(1));
    assert_eq!(
        with_closed_pipes(&repo, &["check", "--format", "json"]),
        End::Code(1)
    );
    assert_eq!(
        with_closed_pipes(&repo, &["check", "--explain", "cnpg-schedule"]),
        End::Code(0)
    );
    assert_eq!(with_closed_pipes(&repo, &["build"]), End::Code(1));
    assert_eq!(
        with_closed_pipes(&repo, &["build", "--no-check"]),
        End::Code(0)
    );
    assert!(repo.exists("public/c.html"), "the build finished");
    assert_eq!(with_closed_pipes(&repo, &["--help"]), End::Code(0));
    // A real reader that stops early, through a shell.
    let script = r#"set -o pipefail; "$0" -C "$1" --color never check 2>&1 | head -n 2 >/dev/null"#;
    let out = std::process::Command::new("bash")
        .args(["-c", script, env!("CARGO_BIN_EXE_docs")])
        .arg(&repo.root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn serve_keeps_serving_when_its_log_reader_goes_away() {
    use std::io::{BufRead, BufReader};
    let repo = Repo::small("pipe-serve");
    let mut child = proc::docs(&["-C", repo.root.to_str().unwrap(), "serve", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.split("127.0.0.1:").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    drop(lines);
    let mut serve = crate::common::serve::Serve {
        child,
        port,
        log: Default::default(),
    };
    // A rebuild logs a line to the closed pipe.
    repo.write(
        "content/a.md",
        "---\ntitle: Alpha\nweight: 1\n---\n# Alpha\n\n## Setup\n\nEdited after the reader left.\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            serve.child.try_wait().unwrap().is_none(),
            "serve died when its log reader went away"
        );
        let page = serve.get("/a.html");
        if page.status == 200 && page.text().contains("Edited after the reader left") {
            break;
        }
        assert!(Instant::now() < deadline, "the edit was never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "serve is still running"
    );
}

// ---- 7. Killed builds --------------------------------------------------------

#[test]
fn a_build_killed_at_any_moment_leaves_a_complete_site() {
    let repo = Repo::small("kill");
    for i in 0..40 {
        repo.write(
            &format!("content/p{i:02}.md"),
            &format!("# Page {i}\n\n## Part\n\nSome text with `code`.\n\n```yaml {{example}}\na: {i}\n```\n"),
        );
    }
    let version = |v: &str| {
        repo.write(
            "content/a.md",
            &format!("---\ntitle: Alpha\nweight: 1\n---\n# Alpha\n\n## Setup\n\nVersion {v}. See [beta](guide/b.md#usage).\n"),
        )
    };
    version("one");
    repo.docs(&["build"]).ok();
    let one = snapshot(&repo.path("public"));
    version("two");
    let started = Instant::now();
    repo.docs(&["build"]).ok();
    let duration = started.elapsed();
    let two = snapshot(&repo.path("public"));
    assert_ne!(one, two);

    let mut rng = proc::Rng::new(13);
    let (mut saw_one, mut saw_two) = (0, 0);
    for i in 0..50 {
        version(if i % 2 == 0 { "one" } else { "two" });
        let mut child = proc::docs(&["-C", repo.root.to_str().unwrap(), "build"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = rng.below(duration.as_micros() as u64 * 3 / 2);
        std::thread::sleep(Duration::from_micros(delay));
        proc::kill(&mut child);
        let now = snapshot(&repo.path("public"));
        if now == one {
            saw_one += 1;
        } else if now == two {
            saw_two += 1;
        } else {
            let names = |s: &[(String, Vec<u8>)]| s.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
            panic!(
                "kill {i} after {delay} µs left a site that is neither build: {:?}",
                names(&now)
            );
        }
        for name in leftovers(&repo.root) {
            assert!(
                name.starts_with(".public.tmp-") || name.starts_with(".public.old-"),
                "{name}"
            );
        }
    }
    eprintln!("50 kills: the first site {saw_one} times, the second {saw_two} times");
    // The next build cleans what the killed ones left beside the output.
    repo.docs(&["build"]).ok();
    assert_eq!(leftovers(&repo.root), Vec::<String>::new());
}
