//! `docs run` end to end: the real binary, against the suite's test API
//! server (tests/suite/cluster/) with its simulated CloudNativePG and Argo
//! CD, and real `kubectl` and `git` in the shell steps.
//!
//! `steps` covers each step kind and option on small runbooks; `drill`
//! runs the repository's real disaster-recovery and point-in-time
//! runbooks, kills them, breaks the cluster under them, and resumes;
//! `real` runs the DR drill against a cluster known only by its
//! kubeconfig (`DOCS_TEST_KUBECONFIG`, and always the test server with its
//! controllers off), playing the operators through the API.

mod drill;
mod leaks;
mod real;
mod resume;
mod steps;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cluster::{Git, Options, TestCluster, HEALTHY};
use crate::common::{copy_dir, Repo};

pub const NS: &str = "cloudnative-pg";
/// A value planted in a Secret: it must never appear in any output.
pub const PLANTED_KEY: &str = "AKIA-PLANTED-4f7c2e9a";
pub const PLANTED_SECRET: &str = "planted/Secret+Value=9d1b7f3c";

/// A repository with a runbook, a test cluster, and a kubeconfig for it.
pub struct Bed {
    pub repo: Repo,
    pub cluster: TestCluster,
    pub kubeconfig: PathBuf,
    /// The bare git repository that plays the remote (drills only).
    pub remote: Option<PathBuf>,
    _kdir: tempfile::TempDir,
}

fn kdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("docs-run-kube-")
        .tempdir()
        .expect("temporary directory")
}

impl Bed {
    /// A small repository with one runbook page `rb.md` (its body given)
    /// and a test cluster with namespaces `ns` and `argocd`, controllers off
    /// unless asked.
    pub fn small(tag: &str, body: &str, controllers: bool) -> Bed {
        let repo = Repo::empty(tag);
        repo.write("docs.toml", "title = \"Run tests\"\n");
        repo.write("content/index.md", "# Home\n");
        repo.write(
            "content/rb.md",
            &format!("---\ntitle: Test runbook\nrunbook: true\n---\n{body}"),
        );
        let cluster = TestCluster::start_with(Options {
            git: None,
            ..Options::default()
        });
        cluster.set_controllers(controllers, false);
        cluster.seed_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n");
        let k = kdir();
        let kubeconfig = cluster.kubeconfig(k.path());
        Bed {
            repo,
            cluster,
            kubeconfig,
            remote: None,
            _kdir: k,
        }
    }

    /// A copy of this repository as a git checkout with a bare remote
    /// (`origin`, branch `main`), and a test cluster whose Argo CD reads
    /// that remote: the kit deployed as its docs say, a healthy
    /// immich-database with data and a completed base backup on -v1.
    pub fn kit(tag: &str) -> Bed {
        let (repo, remote) = kit_checkout(tag);
        let cluster = TestCluster::start_with(Options {
            git: Some(Git::Bare {
                git_dir: remote.clone(),
                branch: "main".into(),
            }),
            ..Options::default()
        });
        let k = kdir();
        let kubeconfig = cluster.kubeconfig(k.path());
        let bed = Bed {
            repo,
            cluster,
            kubeconfig,
            remote: Some(remote),
            _kdir: k,
        };
        bed.deploy_kit();
        bed
    }

    /// What an installed kit looks like: namespaces, the Secrets (with
    /// planted values), the immich-database Application, its Cluster
    /// healthy with data, and a completed base backup.
    fn deploy_kit(&self) {
        let c = &self.cluster;
        c.seed_yaml(&format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n"));
        c.seed_yaml(&kit_secrets());
        c.create(kit_application(&self.repo)).unwrap();
        wait_phase(c, "immich-database", HEALTHY);
        c.set_contents(NS, "immich-database", crate::cluster::Contents::sample());
        c.create(
            json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
            "metadata": {"name": "immich-database-20261124", "namespace": NS,
                "labels": {"cnpg.io/cluster": "immich-database"}},
            "spec": {"cluster": {"name": "immich-database"}}}),
        )
        .unwrap();
        c.wait_until("the first backup", Duration::from_secs(20), |c| {
            let b = c.get("backups", NS, "immich-database-20261124")?;
            (b.pointer("/status/phase")?.as_str()? == "completed").then_some(())
        });
    }

    /// `docs -C repo --color never run ARGS --kubeconfig K`, to completion
    /// (killed and failed after [`RUN_LIMIT`]: a hang is a failure with
    /// the output so far, not a stuck suite).
    pub fn run(&self, args: &[&str]) -> Ran {
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run docs");
        let dog = Watchdog::start(&child, RUN_LIMIT);
        let out = child.wait_with_output().expect("run docs");
        dog.check(&format!("docs run {}", args.join(" ")), &out);
        Ran::from(out)
    }

    /// The same, started (for kills and signals).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start docs")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        docs_run(&self.repo.root, &self.kubeconfig, args)
    }

    /// The newest journal of a runbook.
    pub fn journal(&self, runbook: &str) -> Value {
        journal(&self.repo.root, runbook)
    }

    /// The newest transcript of a runbook.
    pub fn transcript(&self, runbook: &str) -> String {
        std::fs::read_to_string(newest_run(&self.repo.root, runbook).join("transcript.md")).unwrap()
    }
}

/// The kit's Secrets in the database's namespace, with planted values.
pub fn kit_secrets() -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cnpg-s3-credentials\n  namespace: {NS}\nstringData:\n  AWS_ACCESS_KEY_ID: {PLANTED_KEY}\n  AWS_SECRET_ACCESS_KEY: {PLANTED_SECRET}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: immich-app-secret\n  namespace: {NS}\ntype: kubernetes.io/basic-auth\nstringData:\n  username: immich\n  password: planted-db-password-77\n"
    )
}

/// The immich-database Application of a kit checkout, its source path
/// made relative to the checkout (the kit's repository is this one: its
/// manifests are under manifests/).
pub fn kit_application(repo: &Repo) -> Value {
    let app = repo.read("manifests/argocd/apps/immich-database.yaml");
    let mut app: Value = serde_yaml::from_str(&app).unwrap();
    let path = app["spec"]["source"]["path"].as_str().unwrap().to_string();
    if !path.starts_with("manifests/") {
        app["spec"]["source"]["path"] = json!(format!("manifests/{path}"));
    }
    app
}

/// A copy of this repository as a git checkout with a bare remote
/// (`origin`, branch `main`, inside the checkout's directory): the kit
/// as an operator has it, before any cluster.
pub fn kit_checkout(tag: &str) -> (Repo, PathBuf) {
    let repo = Repo::empty(tag);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["content", "manifests", "themes", "crds"] {
        copy_dir(&src.join(dir), &repo.root.join(dir));
    }
    for file in ["docs.toml", "CLAUDE.md"] {
        std::fs::copy(src.join(file), repo.root.join(file)).unwrap();
    }
    // The remote lives inside the temporary directory (hidden, and
    // excluded from the checkout's own commits).
    let remote = repo.root.join(".remote.git");
    git(&repo.root, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.root.join(".git/info/exclude"), ".remote.git/\n").unwrap();
    git(&repo.root, &["add", "-A"]);
    git(&repo.root, &["commit", "-q", "-m", "the kit"]);
    git(
        &repo.root,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    git(
        &repo.root,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&repo.root, &["push", "-q", "-u", "origin", "main"]);
    (repo, remote)
}

/// `docs -C root --color never run ARGS --kubeconfig K`, with a git
/// identity and no inherited KUBECONFIG.
pub fn docs_run(root: &Path, kubeconfig: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_docs"));
    cmd.arg("-C")
        .arg(root)
        .args(["--color", "never", "run"])
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env_remove("NO_COLOR")
        .env_remove("KUBECONFIG")
        .env("GIT_AUTHOR_NAME", "Operator")
        .env("GIT_AUTHOR_EMAIL", "operator@example.invalid")
        .env("GIT_COMMITTER_NAME", "Operator")
        .env("GIT_COMMITTER_EMAIL", "operator@example.invalid")
        .stdin(Stdio::null());
    cmd
}

/// The directory of the newest run of a runbook in a checkout.
pub fn newest_run(root: &Path, runbook: &str) -> PathBuf {
    let base = root.join(".docs/runs").join(runbook);
    let mut dirs: Vec<_> = std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("no runs in {}: {e}", base.display()))
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs.pop().expect("a run directory")
}

/// The newest journal of a runbook in a checkout.
pub fn journal(root: &Path, runbook: &str) -> Value {
    let text = std::fs::read_to_string(newest_run(root, runbook).join("journal.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The step names of `docs run RUNBOOK --list` (in this repository).
pub fn step_names(runbook: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_docs"))
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "run", runbook, "--list"])
        .output()
        .expect("run docs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once("] ")
                .map(|(_, r)| r.split_whitespace().next().unwrap().to_string())
        })
        .collect()
}

/// The states of a journal's steps, by name.
pub fn states(journal: &Value) -> Vec<(String, String)> {
    journal["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn wait_phase(c: &TestCluster, name: &str, phase: &str) -> Value {
    c.wait_until(
        &format!("{name} in phase {phase}"),
        Duration::from_secs(30),
        |c| {
            let cl = c.get("cluster", NS, name)?;
            (cl.pointer("/status/phase")?.as_str()? == phase).then_some(cl)
        },
    )
}

/// A finished `docs run`.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Ran {
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text) || self.stdout.contains(text),
            "expected {text:?} in the output\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The longest a `docs run` of a test may take: the DR drill runs in
/// seconds; far beyond that it is stuck.
pub const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Kills a process (SIGKILL) that outlives its limit, so that a hang fails
/// the test instead of stalling the suite.
pub struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
    limit: Duration,
}

impl Watchdog {
    pub fn start(child: &Child, limit: Duration) -> Watchdog {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let done = Arc::new(AtomicBool::new(false));
        let fired = Arc::new(AtomicBool::new(false));
        let pid = child.id() as i32;
        let (d, f) = (done.clone(), fired.clone());
        std::thread::spawn(move || {
            let end = Instant::now() + limit;
            while Instant::now() < end {
                if d.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !d.load(Ordering::SeqCst) {
                f.store(true, Ordering::SeqCst);
                // SAFETY: a signal to the child this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        Watchdog { done, fired, limit }
    }

    /// Stops the watchdog; fails the test if it had to kill.
    #[track_caller]
    pub fn check(self, what: &str, out: &Output) {
        use std::sync::atomic::Ordering;
        self.done.store(true, Ordering::SeqCst);
        assert!(
            !self.fired.load(Ordering::SeqCst),
            "{what} hung: killed after {:?}\nstdout:\n{}\nstderr:\n{}",
            self.limit,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Polls `f` every 10 ms for at most `limit`.
pub fn eventually<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `docs run` on a pseudo-terminal (stdin, stdout and stderr), so that it
/// prompts: the test reads what it shows and types answers.
pub struct Pty {
    pub child: Child,
    master: std::fs::File,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Pty {
    pub fn spawn(bed: &Bed, args: &[&str]) -> Pty {
        use std::os::fd::{FromRawFd, OwnedFd};
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty fills two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        let slave = unsafe { OwnedFd::from_raw_fd(slave) };
        let mut cmd = bed.command(args);
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        let child = cmd.spawn().expect("start docs on a pty");
        let master = unsafe { std::fs::File::from_raw_fd(master) };
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (reader, sink) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            use std::io::Read;
            let mut reader = reader;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty {
            child,
            master,
            seen,
        }
    }

    /// Waits until the terminal shows `text` (bounded).
    pub fn expect(&self, text: &str) {
        let start = Instant::now();
        while !self.seen.lock().unwrap().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {text:?} on the terminal, which shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        self.master
            .write_all(format!("{line}\r").as_bytes())
            .unwrap();
        self.master.flush().unwrap();
    }

    pub fn screen(&self) -> String {
        self.seen.lock().unwrap().clone()
    }

    /// Waits for the exit code.
    pub fn finish(mut self) -> (i32, String) {
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        std::thread::sleep(Duration::from_millis(100));
        (code, self.screen())
    }
}

/// The watchdog that bounds every run of these tests does fire.
#[test]
#[should_panic(expected = "hung: killed after")]
fn a_hung_process_is_killed_and_fails_the_test() {
    let child = Command::new("sleep")
        .arg("30")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dog = Watchdog::start(&child, Duration::from_millis(200));
    let out = child.wait_with_output().unwrap();
    dog.check("sleep 30", &out);
}
