//! # A Kubernetes-compatible test API server, with simulated controllers
//!
//! Real HTTPS on 127.0.0.1 (an ephemeral port, a fixed test CA: client-go
//! sends a bearer token only over TLS; `Options::tls = false` gives plain
//! HTTP), real JSON, the paths, status objects and watch streams that
//! kube-rs 5 and kubectl 1.32 use, so that `docs run` and `kubectl` can be
//! tested end to end without a cluster. Self-contained (only the `docs`
//! library and crates), so the same files serve the test suite
//! (`mod cluster;`) and the benchmark server `examples/test-cluster.rs`.
//!
//! Implemented:
//! - discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`,
//!   `/apis/{g}/{v}` and aggregated discovery (apidiscovery.k8s.io/v2),
//!   built from the CRDs given (the repository's `crds/`: names, short
//!   names, categories, status subresource, printer columns) and the
//!   built-in kinds Namespace, Secret, ConfigMap, PersistentVolumeClaim,
//!   Pod, batch/v1 Job, apps/v1 Deployment, coordination.k8s.io/v1 Lease and
//!   CustomResourceDefinition (the CRDs themselves are served); a minimal
//!   `/openapi/v3` that tells kubectl the server validates fields;
//! - bearer-token authentication (401 otherwise), a kubeconfig writer
//!   (context `test`, and `other` pointing at an unused port);
//! - GET, LIST (label and field selectors, limit/continue, Table for
//!   `kubectl get`), WATCH (watch.rs), POST, PUT, PATCH (merge, JSON,
//!   strategic as merge, server-side apply with managers, conflicts and
//!   force), DELETE (options in body or query: dryRun, propagationPolicy,
//!   preconditions) and DELETE of a collection; `dryRun=All` everywhere;
//!   the status subresource where the kind has one; resourceVersion, uid,
//!   creationTimestamp, generation; finalizers and deletionTimestamp;
//!   owner-reference garbage collection after a delay (Orphan keeps);
//!   `pods/log`, and `pods/exec` over websockets (exec.rs);
//! - validation with the checker's schema code (422 Invalid; unknown
//!   fields are a 400 strict decoding error with fieldValidation=Strict);
//! - errors as `Status` objects (AlreadyExists, NotFound, Conflict,
//!   Invalid, Forbidden, Unauthorized, Expired, BadRequest);
//! - faults switched on at run time (control.rs): 403, 500s, latency (the
//!   effect is stored before the delay), refused connections, dropped
//!   watches, 410 on the next watch or after compacting the history;
//! - a request log to assert on (what was sent, dry-run or not);
//! - simulated CloudNativePG (cnpg.rs, backup.rs), Argo CD (argocd.rs)
//!   and the object-storage bucket they share (objstore.rs); a tiny
//!   kubelet (kubelet.rs): standalone pods run (`barman-cloud-backup-list`
//!   lists the bucket), Deployments roll out.
//!
//! Not implemented: client certificates, authorization beyond the fault
//! rules, OpenAPI schemas, protobuf request bodies beyond Namespace,
//! Secret and ConfigMap (what `kubectl create namespace|secret|configmap`
//! send; other typed commands get 415, `kubectl create -f` works),
//! version conversion
//! (all versions of a kind serve the same object), defaulting, pruning of
//! unknown fields, CEL rules, foreground deletion (treated as background),
//! list merge keys in patches, `managedFields` in objects (ownership is
//! kept aside), graceful pod deletion, scheduled (cron) backups, Helm
//! sources, sync waves; `pods/exec` speaks websockets only (no SPDY) and
//! the simulated pods answer only `psql`.

#![allow(dead_code)]

mod api;
// Public for the operator player of tests/suite/run/real/, which plays
// these controllers through the API of a cluster with the same rules.
pub mod argocd;
pub mod backup;
pub mod cnpg;
mod control;
mod delete;
mod discovery;
mod exec;
mod faults;
mod fields;
mod http;
mod kubelet;
mod log;
mod objstore;
mod patch;
mod protobuf;
mod resources;
mod select;
mod status;
mod store;
mod table;
mod time;
mod tls;
mod validate;
mod verbs;
mod watch;
mod websocket;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

pub use argocd::Git;
#[allow(unused_imports)]
pub use cnpg::{HEALTHY, SETTING_UP, UNRECOVERABLE};
pub use log::LoggedRequest;
#[allow(unused_imports)]
pub use objstore::{segment, BaseBackup, Bucket, Contents, Lineage};
pub use status::ApiError;

use faults::Faults;
use store::{DeleteOpts, Store, Write};

/// How fast the simulated world moves. The defaults run a whole recovery
/// drill in well under a second.
#[derive(Clone, Debug)]
pub struct Speeds {
    /// Period of the controller loop.
    pub tick: Duration,
    /// CNPG: duration of each phase (bootstrap Job, primary start).
    pub phase: Duration,
    /// CNPG: a healthy Cluster archives a WAL segment this often.
    pub wal_interval: Duration,
    /// CNPG: Backup pending → running → completed, each step.
    pub backup_step: Duration,
    /// CNPG: with Some, Clusters get a finalizer held this long on delete.
    pub cluster_finalizer: Option<Duration>,
    /// Garbage collector: orphaned dependents go after this delay.
    pub gc_delay: Duration,
    /// Argo CD: drift (or a missing object) is healed after this delay.
    pub self_heal: Duration,
    /// Argo CD: how long a git revision is cached (repo-server: 3 min).
    pub git_cache: Duration,
    /// Watches with bookmarks get one after this much silence.
    pub bookmark: Duration,
}

impl Default for Speeds {
    fn default() -> Speeds {
        let ms = Duration::from_millis;
        Speeds {
            tick: ms(10),
            phase: ms(40),
            wal_interval: ms(100),
            backup_step: ms(30),
            cluster_finalizer: None,
            gc_delay: ms(100),
            self_heal: ms(100),
            git_cache: Duration::from_secs(180),
            bookmark: Duration::from_secs(1),
        }
    }
}

pub struct Options {
    /// Directory of CRD YAML files (default: the repository's `crds/`).
    pub crds: PathBuf,
    /// Bearer token (default: `test-token-<random>`).
    pub token: Option<String>,
    pub speeds: Speeds,
    /// Watch events kept for resuming watches.
    pub history: usize,
    pub cnpg: bool,
    pub argocd: bool,
    pub git: Option<Git>,
    /// The server stops by itself after this long.
    pub lifetime: Duration,
    /// HTTPS (kubectl sends tokens only over TLS); false: plain HTTP.
    pub tls: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            crds: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/crds")),
            token: None,
            speeds: Speeds::default(),
            history: 1000,
            cnpg: true,
            argocd: true,
            git: None,
            lifetime: Duration::from_secs(600),
            tls: true,
        }
    }
}

/// The controllers' switches and state.
pub(crate) struct Sim {
    gc_on: bool,
    cnpg_on: bool,
    argocd_on: bool,
    cnpg: cnpg::CnpgState,
    argo: argocd::ArgoState,
}

/// Everything the threads of one server share.
pub(crate) struct Shared {
    store: Mutex<Store>,
    /// Notified after every change of the store (watches wait on it).
    changed: Condvar,
    validator: Arc<validate::Validator>,
    token: String,
    addr: SocketAddr,
    log: Mutex<Vec<LoggedRequest>>,
    faults: Mutex<Faults>,
    speeds: Mutex<Speeds>,
    stop: AtomicBool,
    refusing: AtomicBool,
    watch_epoch: AtomicU64,
    conns: Mutex<HashMap<u64, TcpStream>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    deadline: Instant,
    bucket: Mutex<Bucket>,
    /// Rounds of the controller loop so far.
    ticks: AtomicU64,
    sim: Mutex<Sim>,
}

impl Shared {
    /// Runs a write on the store and wakes the watches.
    fn write<R>(&self, f: impl FnOnce(&mut Store) -> Result<R, ApiError>) -> Result<R, ApiError> {
        let r = f(&mut self.store.lock().expect("store"));
        self.changed.notify_all();
        r
    }
}

/// The CRDs of a directory and their schemas, read once per process:
/// parsing them is most of the time it takes to start a server.
fn load(dir: &Path) -> (Arc<Vec<Value>>, Arc<validate::Validator>) {
    type Loaded = (Arc<Vec<Value>>, Arc<validate::Validator>);
    static CACHE: std::sync::OnceLock<Mutex<HashMap<PathBuf, Loaded>>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().expect("CRD cache");
    cache
        .entry(dir.to_path_buf())
        .or_insert_with(|| {
            (
                Arc::new(resources::load_crds(dir)),
                Arc::new(validate::Validator::load(dir)),
            )
        })
        .clone()
}

/// A pseudo-random number (time, pid and a counter; not cryptographic).
pub(crate) fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A running server; stops (and closes every connection) when dropped.
pub struct TestCluster {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl TestCluster {
    /// A server with the repository's CRDs and default speeds.
    pub fn start() -> TestCluster {
        TestCluster::start_with(Options::default())
    }

    pub fn start_with(o: Options) -> TestCluster {
        let (crds, validator) = load(&o.crds);
        let mut resources = resources::builtins();
        resources.extend(crds.iter().filter_map(resources::from_crd));
        let mut store = Store::new(resources, o.history);
        let seed = Write {
            manager: "kube-apiserver".into(),
            ..Write::default()
        };
        for ns in ["default", "kube-system"] {
            if let Some(r) = store.by_kind("v1", "Namespace") {
                let _ = store.create(
                    r,
                    "",
                    json!({"metadata": {"name": ns}, "status": {"phase": "Active"}}),
                    &seed,
                );
            }
        }
        if let Some(r) = store.by_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition") {
            for crd in crds.iter() {
                let _ = store.create(r, "", crd.clone(), &seed);
            }
        }
        let listener = http::bind(0).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let token = o
            .token
            .unwrap_or_else(|| format!("test-token-{:016x}", random()));
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            changed: Condvar::new(),
            validator,
            token,
            addr,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            speeds: Mutex::new(o.speeds),
            stop: AtomicBool::new(false),
            refusing: AtomicBool::new(false),
            watch_epoch: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            tls: o.tls.then(tls::config),
            deadline: Instant::now() + o.lifetime,
            bucket: Mutex::new(Bucket::default()),
            ticks: AtomicU64::new(0),
            sim: Mutex::new(Sim {
                gc_on: true,
                cnpg_on: o.cnpg,
                argocd_on: o.argocd,
                cnpg: cnpg::CnpgState::default(),
                argo: argocd::ArgoState::with_git(o.git),
            }),
        });
        let (a, c) = (shared.clone(), shared.clone());
        let threads = vec![
            std::thread::spawn(move || http::accept_loop(a, Some(listener))),
            std::thread::spawn(move || controllers(&c)),
        ];
        TestCluster { shared, threads }
    }

    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.shared.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    /// Writes `dir/kubeconfig` (see [`TestCluster::write_kubeconfig`]).
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        self.write_kubeconfig(&path);
        path
    }

    /// A kubeconfig with context `test` (current, this server) and context
    /// `other` (a port nobody listens on), both with this server's token.
    pub fn write_kubeconfig(&self, path: &Path) {
        let unused = http::bind(0)
            .ok()
            .and_then(|l| l.local_addr().ok())
            .map_or(1, |a| a.port());
        let ca = match self.shared.tls {
            Some(_) => format!(
                "\n    certificate-authority-data: {}",
                tls::base64(tls::CA.as_bytes())
            ),
            None => String::new(),
        };
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}{ca}\n- name: other\n  cluster:\n    server: {scheme}://127.0.0.1:{unused}{ca}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n- name: other\n  context:\n    cluster: other\n    user: test\ncurrent-context: test\nusers:\n- name: test\n  user:\n    token: {}\n",
            self.url(),
            self.shared.token
        );
        std::fs::write(path, text).expect("write the kubeconfig");
    }

    // --- Direct access to the store (no HTTP, not logged). ---

    fn res(&self, store: &Store, kind: &str) -> usize {
        store
            .resolve(kind)
            .unwrap_or_else(|| panic!("the test server serves no kind `{kind}`"))
    }

    /// Creates an object (status kept), like a controller would.
    pub fn create(&self, obj: Value) -> Result<Value, ApiError> {
        self.shared.write(|s| {
            let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            let res = s
                .by_kind(api, kind)
                .ok_or_else(|| ApiError::bad_request(format!("no kind {api} {kind}")))?;
            let ns = store::meta_str(&obj, "namespace").to_string();
            s.create(
                res,
                &ns,
                obj,
                &Write {
                    manager: "test".into(),
                    ..Write::default()
                },
            )
        })
    }

    /// Creates every document of a YAML stream; panics on an error.
    pub fn seed_yaml(&self, yaml: &str) -> Vec<Value> {
        serde_yaml::Deserializer::from_str(yaml)
            .filter_map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).ok())
            .filter(|v| !v.is_null())
            .map(|v| {
                let obj = serde_json::to_value(v).expect("YAML as JSON");
                self.create(obj)
                    .unwrap_or_else(|e| panic!("seeding: {}", e.message))
            })
            .collect()
    }

    /// `kind` is any name kubectl accepts: `Cluster`, `pvc`, `jobs.batch`...
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let s = self.shared.store.lock().expect("store");
        s.get(self.res(&s, kind), ns, name).cloned()
    }

    pub fn list(&self, kind: &str, ns: Option<&str>) -> Vec<Value> {
        let s = self.shared.store.lock().expect("store");
        s.list(self.res(&s, kind), ns)
            .into_iter()
            .cloned()
            .collect()
    }

    /// A JSON merge patch of the whole object (status included).
    pub fn patch(&self, kind: &str, ns: &str, name: &str, merge: Value) -> Result<Value, ApiError> {
        self.shared.write(|s| {
            let res = self.res(s, kind);
            let mut o = s
                .get(res, ns, name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(s.resource(res), name))?;
            json_patch::merge(&mut o, &merge);
            if let Some(m) = o["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            s.update(
                res,
                ns,
                name,
                o,
                &Write {
                    manager: "test".into(),
                    ..Write::default()
                },
            )
        })
    }

    pub fn delete(&self, kind: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.shared.write(|s| {
            let res = self.res(s, kind);
            s.delete(res, ns, name, &DeleteOpts::default())
        })
    }

    /// The current (global) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.lock().expect("store").rv()
    }

    /// Polls `f` every few milliseconds until it answers Some, for at most
    /// `timeout`; panics naming `what` when it never does.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&TestCluster) -> Option<T>,
    ) -> T {
        let end = Instant::now() + timeout;
        loop {
            if let Some(t) = f(self) {
                return t;
            }
            assert!(
                Instant::now() < end,
                "timed out after {timeout:?} waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for a field (JSON pointer) of an object to equal `value`.
    pub fn wait_for_field(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        pointer: &str,
        value: &str,
    ) -> Value {
        self.wait_until(
            &format!("{kind} {ns}/{name} {pointer} = {value}"),
            Duration::from_secs(10),
            |c| {
                c.get(kind, ns, name)
                    .filter(|o| o.pointer(pointer).and_then(Value::as_str) == Some(value))
            },
        )
    }
}

impl Drop for TestCluster {
    /// Stops the server and its controllers, waking the accept loop until
    /// every thread has ended — bounded: a single wake-up connection can
    /// be lost on a loaded machine (a drill hung once in `join` with the
    /// accept thread still waiting for a connection), and a thread that
    /// still has not ended after 10 s is left detached rather than hang
    /// the test.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            self.shared.changed.notify_all();
            http::wake_and_cut(&self.shared);
            if self.threads.iter().all(|t| t.is_finished()) || Instant::now() >= end {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for t in self.threads.drain(..) {
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// The controllers' loop: garbage collector, CNPG, Argo CD, each tick.
fn controllers(shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) && Instant::now() < shared.deadline {
        let sp = shared.speeds.lock().expect("speeds").clone();
        {
            let mut sim = shared.sim.lock().expect("sim");
            let mut store = shared.store.lock().expect("store");
            if sim.gc_on {
                store.collect_garbage(sp.gc_delay);
            }
            if sim.cnpg_on {
                let mut bucket = shared.bucket.lock().expect("bucket");
                cnpg::step(&mut store, &mut bucket, &mut sim.cnpg, &sp);
            }
            if sim.argocd_on {
                argocd::step(&mut store, &mut sim.argo, &sp);
            }
            if sim.cnpg_on {
                let bucket = shared.bucket.lock().expect("bucket");
                kubelet::step(&mut store, &bucket);
            }
        }
        shared.ticks.fetch_add(1, Ordering::SeqCst);
        shared.changed.notify_all();
        std::thread::sleep(sp.tick);
    }
}
