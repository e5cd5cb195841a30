//! Shared helpers for the integration tests: a throw-away repository on
//! disk and a way to run the real `docs` binary against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary repository (docs.toml, content/, manifests/, ...), removed
/// when dropped unless the test panicked (to look at what it left).
pub struct Repo {
    pub root: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Repo {
    /// An empty repository in a fresh temporary directory.
    pub fn empty(tag: &str) -> Repo {
        let dir = tempfile::Builder::new()
            .prefix(&format!("docs-test-{tag}-"))
            .tempdir()
            .expect("create a temporary directory");
        Repo {
            root: dir.path().to_path_buf(),
            dir: Some(dir),
        }
    }

    /// An empty repository one level down in a fresh temporary directory,
    /// so that its parent is the test's too (`--out ..` stays in it).
    pub fn nested(tag: &str) -> Repo {
        let mut repo = Repo::empty(tag);
        repo.root = repo.root.join("repo");
        std::fs::create_dir(&repo.root).unwrap();
        repo
    }

    /// A small valid site: a config and two pages.
    pub fn small(tag: &str) -> Repo {
        let repo = Repo::empty(tag);
        repo.write("docs.toml", "title = \"Test kit\"\n");
        repo.write(
            "content/a.md",
            "---\ntitle: Alpha\nweight: 1\n---\n# Alpha\n\n## Setup\n\nSee [beta](guide/b.md#usage).\n",
        );
        repo.write(
            "content/guide/b.md",
            "---\ntitle: Beta\nweight: 2\n---\n# Beta\n\n## Usage\n\nBack to [alpha](../a.md#setup).\n",
        );
        repo
    }

    /// A copy of this repository's own docs (config, content, manifests,
    /// theme), to build without touching the working tree.
    pub fn copy_of_project(tag: &str) -> Repo {
        let repo = Repo::empty(tag);
        let src = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["content", "manifests", "themes", "crds"] {
            copy_dir(&src.join(dir), &repo.root.join(dir));
        }
        for file in ["docs.toml", "CLAUDE.md"] {
            if src.join(file).exists() {
                std::fs::copy(src.join(file), repo.root.join(file)).unwrap();
            }
        }
        repo
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Runs `docs -C <root> --color never ARGS`.
    pub fn docs(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_docs"))
            .arg("-C")
            .arg(&self.root)
            .args(["--color", "never"])
            .args(args)
            .env_remove("NO_COLOR")
            .output()
            .expect("run docs");
        Run::from(out)
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!("kept {} for inspection", dir.keep().display());
            }
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(&self) -> &Self {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        self
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What builds left beside the output `public` of `root` (temporaries
/// named `.public.*`).
pub fn leftovers(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".public."))
        .collect()
}

/// Every file under `dir`, relative, sorted, with its bytes.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(base, &entry.path(), out);
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub mod proc;
pub mod serve;
pub mod webdriver;
