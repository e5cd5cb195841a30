//! Where `docs` may write. Every path the tool writes goes through here
//! first, so that a slip of the keyboard (`docs build --out content`, an
//! absolute `--out` naming the repository, a symlink from `public` into
//! the manifests) is refused with a message instead of replacing the
//! user's files:
//!
//! - the site ([`Dir::Site`]) is replaced as a whole, so it may not be,
//!   contain or lie inside the pages, the manifests, the theme, the CRDs,
//!   `.git` or the run journals, nor be or contain the repository; an
//!   existing non-empty directory must carry the [`MARKER`] of a site that
//!   `docs build` wrote (or `--force`);
//! - the run journal ([`Dir::Journal`]), `.docs/runs/` of the repository
//!   unless `--journal` says otherwise, lies nowhere the site or the
//!   sources are, and is neither the repository nor above it;
//! - `docs check --fix` rewrites pages inside the content directory only
//!   ([`File::Page`]); `CLAUDE.md` is written at the repository root only
//!   ([`File::ClaudeMd`]).
//!
//! Paths are compared resolved (symlinks, `..`, relative or absolute):
//! the deepest existing ancestor is canonicalized and the rest appended.

use std::path::{Component, Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Location, Result};

/// The file `docs build` puts at the top of every site it writes, so that
/// the next build knows the directory is one it may replace.
pub const MARKER: &str = ".docs-site";

/// What the marker file says to a person who finds it.
pub const MARKER_TEXT: &str =
    "This directory is a site written by `docs build`; the next build replaces all of it.\n";

/// Where `docs run` keeps its journals, relative to the repository root.
pub const STATE_DIR: &str = ".docs";

/// A directory the tool writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// The output of `docs build`, replaced as a whole. `force` allows an
    /// existing non-empty directory that is not a previous site.
    Site { force: bool },
    /// A directory of run journals and transcripts (`.docs/runs/...`, or
    /// `--journal DIR`).
    Journal,
}

/// A single file the tool rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    /// A page of the content directory (`docs check --fix`).
    Page,
    /// `CLAUDE.md` at the repository root (`docs build`).
    ClaudeMd,
}

/// A place the tool must not write over, resolved, with how messages name it.
struct Protected {
    path: PathBuf,
    what: String,
}

/// Checks that `dir` (relative to `root`, or absolute) may be written for
/// `purpose`, and returns it resolved (symlinks followed): the path to
/// write. The error names `dir` as given.
pub fn check_dir(root: &Path, config: &Config, dir: &Path, purpose: Dir) -> Result<PathBuf> {
    let root_real = canonical_root(root)?;
    let target = resolve(&root.join(dir));
    let refuse = |why: String| {
        let doing = match purpose {
            Dir::Site { .. } => "write the site",
            Dir::Journal => "write the run journal",
        };
        Err(Error::at(
            Location::file(dir),
            format!("refusing to {doing} here: {why}"),
        ))
    };
    if target == root_real {
        return refuse("it is the repository root".into());
    }
    if root_real.starts_with(&target) {
        return refuse(format!(
            "it contains the repository ({})",
            root_real.display()
        ));
    }
    let mut protected = protected(root, config);
    match purpose {
        Dir::Site { .. } => protected.push(Protected {
            path: resolve(&root.join(STATE_DIR)),
            what: format!("the run journals ({STATE_DIR})"),
        }),
        Dir::Journal => protected.push(Protected {
            path: resolve(&root.join(&config.output_dir)),
            what: format!("the output directory ({})", config.output_dir.display()),
        }),
    }
    // One configured as the root itself (`manifests_dir = "."`), or above
    // it, is guarded as the root is: never the site, but the site may lie
    // inside it.
    protected.retain(|p| !root_real.starts_with(&p.path));
    for p in &protected {
        if target == p.path {
            return refuse(format!("it is {}", p.what));
        }
        if p.path.starts_with(&target) {
            return refuse(format!("it contains {}", p.what));
        }
        if target.starts_with(&p.path) {
            return refuse(format!("it lies inside {}", p.what));
        }
    }
    match purpose {
        // By default under `.docs/`; `--journal DIR` may name another
        // place, as long as it is none of the above.
        Dir::Journal => {}
        Dir::Site { force } => match std::fs::symlink_metadata(&target) {
            Ok(m) if !m.is_dir() => {
                return refuse("it is a file, not a directory".into());
            }
            Ok(_) if !force && !is_site_or_empty(&target)? => {
                return refuse(format!(
                    "it is a directory that `docs build` did not write (no {MARKER} file) and it is not empty; \
                     choose another --out, empty it, or pass --force to replace it"
                ));
            }
            _ => {}
        },
    }
    Ok(target)
}

/// Checks that `file` (relative to `root`, or absolute) may be rewritten
/// as `purpose`; returns it with its directory resolved (a symlink as the
/// last component is refused: the rename would replace the link).
pub fn check_file(root: &Path, config: &Config, file: &Path, purpose: File) -> Result<PathBuf> {
    let root_real = canonical_root(root)?;
    let full = root.join(file);
    let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
        return Err(Error::at(Location::file(file), "not a file name"));
    };
    let target = resolve(parent).join(name);
    let refuse = |why: String| {
        Err(Error::at(
            Location::file(file),
            format!("refusing to rewrite this file: {why}"),
        ))
    };
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => {
            return refuse("it is a symlink, and writing would replace the link".into())
        }
        Ok(m) if !m.is_file() => return refuse("it is not a regular file".into()),
        _ => {}
    }
    let git = resolve(&root.join(".git"));
    if target.starts_with(&git) {
        return refuse("it lies inside .git".into());
    }
    match purpose {
        File::Page => {
            let content = resolve(&root.join(&config.content_dir));
            if !target.starts_with(&content) || target == content {
                return refuse(format!(
                    "`--fix` rewrites pages of {} only",
                    config.content_dir.display()
                ));
            }
            if target.extension().is_none_or(|e| e != "md") {
                return refuse("`--fix` rewrites Markdown pages (.md) only".into());
            }
        }
        File::ClaudeMd => {
            if target.parent() != Some(root_real.as_path()) {
                return refuse(format!(
                    "CLAUDE.md is written at the repository root ({}) only",
                    root_real.display()
                ));
            }
        }
    }
    Ok(target)
}

/// The directories a site or a journal may never be, contain, or lie in.
fn protected(root: &Path, config: &Config) -> Vec<Protected> {
    let mut out = vec![
        Protected {
            path: resolve(&root.join(".git")),
            what: "the git repository (.git)".into(),
        },
        Protected {
            path: resolve(&root.join(&config.content_dir)),
            what: format!("the content directory ({})", config.content_dir.display()),
        },
        Protected {
            path: resolve(&root.join(&config.manifests_dir)),
            what: format!(
                "the manifests directory ({})",
                config.manifests_dir.display()
            ),
        },
        Protected {
            path: resolve(&root.join(&config.theme)),
            what: format!("the theme ({})", config.theme.display()),
        },
    ];
    out.extend(config.crds.iter().map(|c| Protected {
        path: resolve(&root.join(c)),
        what: format!("the CRDs ({})", c.display()),
    }));
    out
}

fn canonical_root(root: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(root).map_err(|e| Error::io(root, "resolve the repository root", e))
}

/// `path` with symlinks, `.` and `..` resolved, whether or not it exists:
/// the deepest existing ancestor canonicalized, the rest appended
/// lexically (a component that does not exist cannot be a symlink).
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut rest: Vec<Component> = Vec::new();
    let mut base = absolute.as_path();
    let real = loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            break real;
        }
        match (base.parent(), base.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                base = parent;
            }
            _ => break PathBuf::from("/"),
        }
    };
    let mut out = real;
    for c in rest.into_iter().rev() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Whether `dir` holds a site `docs build` wrote (its marker), or nothing.
fn is_site_or_empty(dir: &Path) -> Result<bool> {
    if dir.join(MARKER).is_file() {
        return Ok(true);
    }
    let mut entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read the output directory", e))?;
    Ok(entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository on disk: docs.toml defaults, content/, manifests/,
    /// themes/default, crds/, .git.
    fn repo() -> (tempfile::TempDir, Config) {
        let t = tempfile::tempdir().unwrap();
        for d in [
            "content",
            "manifests",
            "themes/default",
            "crds",
            ".git",
            "stuff",
        ] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        std::fs::write(t.path().join("content/a.md"), "# A\n").unwrap();
        std::fs::write(t.path().join("stuff/keep.txt"), "mine").unwrap();
        let config = Config {
            crds: vec!["crds".into()],
            ..Config::default()
        };
        (t, config)
    }

    fn site(root: &Path, c: &Config, out: &str) -> Result<PathBuf> {
        check_dir(root, c, Path::new(out), Dir::Site { force: false })
    }

    #[test]
    fn the_default_output_and_fresh_directories_are_fine() {
        let (t, c) = repo();
        let r = t.path();
        assert_eq!(
            site(r, &c, "public").unwrap(),
            r.canonicalize().unwrap().join("public")
        );
        assert!(site(r, &c, "build/site").is_ok());
        let elsewhere = tempfile::tempdir().unwrap();
        let out = elsewhere.path().join("site");
        assert!(site(r, &c, out.to_str().unwrap()).is_ok());
        // An empty existing directory too.
        std::fs::create_dir(r.join("empty")).unwrap();
        assert!(site(r, &c, "empty").is_ok());
    }

    #[test]
    fn sources_and_the_repository_are_refused_however_named() {
        let (t, c) = repo();
        let r = t.path();
        let abs = r.canonicalize().unwrap();
        for (out, why) in [
            ("content", "it is the content directory"),
            ("./content/", "it is the content directory"),
            ("public/../content", "it is the content directory"),
            ("content/site", "it lies inside the content directory"),
            ("manifests", "it is the manifests directory"),
            ("themes", "it contains the theme"),
            ("themes/default/x", "it lies inside the theme"),
            ("crds", "it is the CRDs"),
            (".git", "it is the git repository"),
            (".git/site", "it lies inside the git repository"),
            (".docs", "it is the run journals"),
            (".", "it is the repository root"),
            ("..", "it contains the repository"),
            ("/", "it contains the repository"),
        ] {
            let e = site(r, &c, out).unwrap_err();
            assert!(e.message.contains(why), "{out}: {e}");
            assert!(e.to_string().starts_with(out), "names the path: {e}");
        }
        let e = site(r, &c, abs.to_str().unwrap()).unwrap_err();
        assert!(e.message.contains("repository root"), "{e}");
        let e = site(r, &c, abs.join("content").to_str().unwrap()).unwrap_err();
        assert!(e.message.contains("content directory"), "{e}");
    }

    #[test]
    fn symlinks_are_followed() {
        let (t, c) = repo();
        let r = t.path();
        std::os::unix::fs::symlink(r.join("manifests"), r.join("public")).unwrap();
        let e = site(r, &c, "public").unwrap_err();
        assert!(e.message.contains("manifests directory"), "{e}");
        // The repository reached through a symlink from elsewhere.
        let other = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(r, other.path().join("repo")).unwrap();
        let e = site(r, &c, other.path().join("repo").to_str().unwrap()).unwrap_err();
        assert!(e.message.contains("repository root"), "{e}");
        // A root given through a symlink and `..`.
        let via = other.path().join("repo/content/..");
        let e = site(&via, &c, "content").unwrap_err();
        assert!(e.message.contains("content directory"), "{e}");
    }

    #[test]
    fn a_foreign_non_empty_directory_needs_force_a_site_does_not() {
        let (t, c) = repo();
        let r = t.path();
        let e = site(r, &c, "stuff").unwrap_err();
        assert!(e.message.contains("--force"), "{e}");
        assert!(check_dir(r, &c, Path::new("stuff"), Dir::Site { force: true }).is_ok());
        std::fs::create_dir(r.join("public")).unwrap();
        std::fs::write(r.join("public/index.html"), "x").unwrap();
        assert!(site(r, &c, "public").is_err(), "no marker yet");
        std::fs::write(r.join("public").join(MARKER), MARKER_TEXT).unwrap();
        assert!(site(r, &c, "public").is_ok());
        // Force never opens the sources.
        let e = check_dir(r, &c, Path::new("content"), Dir::Site { force: true }).unwrap_err();
        assert!(e.message.contains("content directory"), "{e}");
        // A file is not a directory to replace.
        std::fs::write(r.join("file"), "x").unwrap();
        let e = check_dir(r, &c, Path::new("file"), Dir::Site { force: true }).unwrap_err();
        assert!(e.message.contains("a file"), "{e}");
    }

    #[test]
    fn a_manifests_dir_at_the_root_still_allows_public_inside_it() {
        let (t, mut c) = repo();
        let r = t.path();
        c.manifests_dir = ".".into();
        assert!(site(r, &c, "public").is_ok());
        let e = site(r, &c, ".").unwrap_err();
        assert!(e.message.contains("repository root"), "{e}");
    }

    #[test]
    fn journals_stay_out_of_the_sources_and_the_site() {
        let (t, c) = repo();
        let r = t.path();
        let j = |p: &str| check_dir(r, &c, Path::new(p), Dir::Journal);
        assert!(j(".docs/runs/dr").is_ok());
        assert!(j(".docs/runs").is_ok());
        // `--journal` may name another place of the user's.
        assert!(j("ops/runs").is_ok());
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(j(elsewhere.path().join("runs").to_str().unwrap()).is_ok());
        assert!(j("content/.docs").unwrap_err().message.contains("content"));
        assert!(j(".git/runs").is_err());
        assert!(j(".").unwrap_err().message.contains("repository root"));
        assert!(j("..")
            .unwrap_err()
            .message
            .contains("contains the repository"));
        std::os::unix::fs::symlink(r.join("manifests"), r.join(".docs")).unwrap();
        let e = j(".docs/runs").unwrap_err();
        assert!(e.message.contains("manifests directory"), "{e}");
        // And the site may not be where journals are.
        let (t, mut c) = repo();
        c.output_dir = ".docs/runs".into();
        let e = check_dir(t.path(), &c, Path::new(".docs/runs/x"), Dir::Journal).unwrap_err();
        assert!(e.message.contains("output directory"), "{e}");
    }

    #[test]
    fn pages_inside_content_and_claude_md_at_the_root_only() {
        let (t, c) = repo();
        let r = t.path();
        let real = r.canonicalize().unwrap();
        assert_eq!(
            check_file(r, &c, Path::new("content/a.md"), File::Page).unwrap(),
            real.join("content/a.md")
        );
        for bad in [
            "manifests/a.md",
            "content/../stuff/a.md",
            "content",
            "content/a.yaml",
        ] {
            assert!(
                check_file(r, &c, Path::new(bad), File::Page).is_err(),
                "{bad}"
            );
        }
        std::os::unix::fs::symlink(r.join("stuff/keep.txt"), r.join("content/l.md")).unwrap();
        let e = check_file(r, &c, Path::new("content/l.md"), File::Page).unwrap_err();
        assert!(e.message.contains("symlink"), "{e}");
        assert!(check_file(r, &c, Path::new("CLAUDE.md"), File::ClaudeMd).is_ok());
        assert!(check_file(r, &c, Path::new("content/CLAUDE.md"), File::ClaudeMd).is_err());
        std::fs::create_dir(r.join("CLAUDE.md")).unwrap();
        assert!(check_file(r, &c, Path::new("CLAUDE.md"), File::ClaudeMd).is_err());
    }

    #[test]
    fn resolve_handles_missing_tails_and_dots() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().canonicalize().unwrap();
        assert_eq!(resolve(&t.path().join("a/b/../c/./d")), real.join("a/c/d"));
        assert_eq!(resolve(&t.path().join("..")), real.parent().unwrap());
    }
}
