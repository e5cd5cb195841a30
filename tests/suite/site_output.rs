//! How `docs build` puts the site on disk: pages are written as they are
//! rendered into a directory beside the output, which replaces the output
//! only once the whole site is written and checked. Whatever fails on the
//! way, the previous site stays as it was and nothing is left beside it.

use std::os::unix::fs::MetadataExt;

use crate::common::{leftovers, snapshot, Repo};

/// A site of `n` pages `content/pNN.md`, built once.
fn built(tag: &str, n: usize) -> Repo {
    let repo = Repo::small(tag);
    for i in 0..n {
        repo.write(
            &format!("content/p{i:02}.md"),
            &format!("# Page {i}\n\n## Part\n\nText {i}.\n\n```yaml {{example}}\na: {i}\n```\n"),
        );
    }
    repo.docs(&["build"]).ok();
    repo
}

/// The failed build left the previous site as it was, and nothing beside.
#[track_caller]
fn untouched(repo: &Repo, before: &[(String, Vec<u8>)]) {
    assert!(
        snapshot(&repo.path("public")) == before,
        "previous site untouched"
    );
    assert_eq!(leftovers(&repo.root), Vec::<String>::new());
}

#[test]
fn a_page_failing_mid_build_leaves_the_previous_site_and_the_first_error_wins() {
    let repo = built("stream-fail", 40);
    let before = snapshot(&repo.path("public"));
    // Pages on either side of them are rendered and written first.
    repo.write("content/p30.md", "# Page 30\n\n{{ nosuchfn() }}\n");
    repo.write("content/p12.md", "# Page 12\n\nText.\n\n{{ nosuchfn() }}\n");
    for _ in 0..3 {
        let run = repo.docs(&["build"]);
        run.fails();
        assert!(
            run.stderr
                .starts_with("error: content/p12.md:5: unknown function"),
            "{}",
            run.stderr
        );
        untouched(&repo, &before);
    }
}

#[test]
fn a_write_failing_mid_build_names_the_file_and_leaves_the_previous_site() {
    let repo = built("write-fail", 40);
    let before = snapshot(&repo.path("public"));
    // A valid source name whose page name is too long for the file
    // system (255 bytes): the other pages are written, this one fails.
    let long = "x".repeat(252);
    repo.write(&format!("content/{long}.md"), "# Long\n\nText.\n");
    let run = repo.docs(&["build"]);
    run.fails();
    assert!(
        run.stderr
            .contains(&format!("error: public/{long}.html: cannot write")),
        "{}",
        run.stderr
    );
    untouched(&repo, &before);
}

#[test]
fn a_rebuild_links_unchanged_files_writes_changed_ones_and_marks_the_site() {
    let repo = built("relink", 10);
    let ino = |rel: &str| std::fs::metadata(repo.path(rel)).unwrap().ino();
    assert!(repo.exists("public/.docs-site"), "the site is marked");
    let (same, edited, marker) = (
        ino("public/p03.html"),
        ino("public/p04.html"),
        ino("public/.docs-site"),
    );
    repo.write("content/p04.md", "# Page 4\n\nEdited.\n");
    repo.docs(&["build"]).ok();
    assert_eq!(ino("public/p03.html"), same, "an unchanged page is linked");
    assert_eq!(ino("public/.docs-site"), marker, "so is the marker");
    assert_ne!(ino("public/p04.html"), edited, "an edited page is new");
    assert!(repo.read("public/p04.html").contains("Edited."));
    // Linked, not shared: the previous site is gone, one link remains.
    assert_eq!(
        std::fs::metadata(repo.path("public/p03.html"))
            .unwrap()
            .nlink(),
        1
    );
    assert_eq!(leftovers(&repo.root), Vec::<String>::new());
}

#[test]
fn a_clean_build_streams_every_file_of_the_site() {
    let repo = built("stream-all", 30);
    let first = snapshot(&repo.path("public"));
    std::fs::remove_dir_all(repo.path("public")).unwrap();
    repo.docs(&["build"]).ok();
    assert_eq!(snapshot(&repo.path("public")), first);
    let names: Vec<String> = first.iter().map(|f| f.0.clone()).collect();
    for f in [
        ".docs-site",
        "index.html",
        "404.html",
        "search-index.js",
        "nav.js",
        "sitemap.xml",
        "a.html",
        "guide/b.html",
        "p00.html",
        "p29.html",
    ] {
        assert!(names.contains(&f.to_string()), "{f} in {names:?}");
    }
    assert!(repo.read("public/search-index.js").contains("p29.html"));
}
