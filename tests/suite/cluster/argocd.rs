//! A simulated Argo CD application controller (argoproj.io/v1alpha1
//! Application), for what the recovery runbook must defeat or rely on:
//! automated self-heal recreates a deleted object from git (with git's
//! content: `bootstrap.initdb`) and brings drifted fields back, unless the
//! Application carries `argocd.argoproj.io/skip-reconcile: "true"`;
//! `ignoreDifferences` + `RespectIgnoreDifferences=true` keep live values;
//! the git revision is cached like the repo-server's (a hard refresh
//! annotation re-reads it). Git is a directory or a bare repository read
//! with the `git` CLI. Helm sources and sync waves are not simulated.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::fields;
use super::store::{meta_str, Store, Sub, Write};
use super::{time, Speeds};

/// Where the simulated Argo CD reads "git".
#[derive(Clone, Debug)]
pub enum Git {
    /// A plain directory (the repository's working tree).
    Dir(PathBuf),
    /// A bare repository and the branch the Applications track.
    Bare { git_dir: PathBuf, branch: String },
}

struct Snapshot {
    at: Instant,
    revision: String,
    objects: Vec<Value>,
}

#[derive(Default)]
pub struct ArgoState {
    pub git: Option<Git>,
    cache: HashMap<String, Snapshot>,
    drift: HashMap<(String, String), Instant>,
}

impl ArgoState {
    pub fn with_git(git: Option<Git>) -> ArgoState {
        ArgoState {
            git,
            ..ArgoState::default()
        }
    }
}

const MANAGER: &str = "argocd-controller";
const SKIP: &str = "argocd.argoproj.io/skip-reconcile";
const REFRESH: &str = "argocd.argoproj.io/refresh";

fn git_cmd(git_dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// (file name, text) of the files directly in `dir` at `rev`.
fn files(git: &Git, rev: &str, dir: &str) -> Vec<(String, String)> {
    let dir = dir.trim_matches('/');
    match git {
        Git::Dir(root) => {
            let mut out = Vec::new();
            if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_file() {
                        if let Ok(t) = std::fs::read_to_string(&p) {
                            out.push((e.file_name().to_string_lossy().into_owned(), t));
                        }
                    }
                }
            }
            out.sort();
            out
        }
        Git::Bare { git_dir, .. } => {
            let spec = if dir.is_empty() {
                rev.to_string()
            } else {
                format!("{rev}:{dir}")
            };
            let list = git_cmd(git_dir, &["ls-tree", "--name-only", &spec]).unwrap_or_default();
            list.lines()
                .filter_map(|f| {
                    let path = if dir.is_empty() {
                        f.to_string()
                    } else {
                        format!("{dir}/{f}")
                    };
                    git_cmd(git_dir, &["show", &format!("{rev}:{path}")])
                        .map(|t| (f.to_string(), t))
                })
                .collect()
        }
    }
}

fn docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).ok())
        .filter_map(|v| serde_json::to_value(v).ok())
        .filter(|v| v.get("kind").is_some())
        .collect()
}

/// The objects a directory defines: its kustomization's resources (with
/// its namespace) or, without one, every YAML file in it.
fn collect(git: &Git, rev: &str, dir: &str, depth: usize, out: &mut Vec<(Value, Option<String>)>) {
    if depth > 5 {
        return;
    }
    let listing = files(git, rev, dir);
    let kust = listing
        .iter()
        .find(|(n, _)| n == "kustomization.yaml" || n == "kustomization.yml");
    let Some((_, k)) = kust else {
        for (n, t) in &listing {
            if n.ends_with(".yaml") || n.ends_with(".yml") {
                out.extend(docs(t).into_iter().map(|d| (d, None)));
            }
        }
        return;
    };
    let k = docs(k).into_iter().next().unwrap_or(json!({}));
    let ns = k.get("namespace").and_then(Value::as_str).map(String::from);
    let mut mine = Vec::new();
    for r in k
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let path = format!("{}/{r}", dir.trim_end_matches('/'));
        if r.ends_with(".yaml") || r.ends_with(".yml") {
            let (d, f) = path.rsplit_once('/').unwrap_or(("", &path));
            if let Some((_, t)) = files(git, rev, d).into_iter().find(|(n, _)| n == f) {
                mine.extend(docs(&t).into_iter().map(|d| (d, None)));
            }
        } else {
            collect(git, rev, &path, depth + 1, &mut mine);
        }
    }
    out.extend(mine.into_iter().map(|(d, n)| (d, ns.clone().or(n))));
}

/// What an Application's source says, read from git: the revision (a
/// commit, or a hash of a plain directory's objects) and the objects,
/// with the namespaces their kustomizations give them.
pub fn desired(git: &Git, app: &Value) -> Option<(String, Vec<Value>)> {
    let path = app
        .pointer("/spec/source/path")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (revision, rev) = match git {
        Git::Dir(_) => (String::new(), String::new()),
        Git::Bare { git_dir, branch } => {
            let wanted = app
                .pointer("/spec/source/targetRevision")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty() && *r != "HEAD")
                .unwrap_or(branch);
            let sha = git_cmd(git_dir, &["rev-parse", wanted])?.trim().to_string();
            (sha.clone(), sha)
        }
    };
    let mut found = Vec::new();
    collect(git, &rev, path, 0, &mut found);
    let objects = found
        .into_iter()
        .map(|(mut o, ns)| {
            if let Some(ns) = ns {
                o["metadata"]["namespace"] = json!(ns);
            }
            o
        })
        .collect::<Vec<_>>();
    let revision = if revision.is_empty() {
        let mut h = DefaultHasher::new();
        serde_json::to_string(&objects)
            .unwrap_or_default()
            .hash(&mut h);
        format!("{:016x}", h.finish())
    } else {
        revision
    };
    Some((revision, objects))
}

fn snapshot(git: &Git, app: &Value) -> Option<Snapshot> {
    let (revision, objects) = desired(git, app)?;
    Some(Snapshot {
        at: Instant::now(),
        revision,
        objects,
    })
}

/// JSON pointers of `spec.ignoreDifferences` that apply to an object.
fn ignored(app: &Value, obj: &Value) -> Vec<fields::FieldPath> {
    let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut out = Vec::new();
    for d in app
        .pointer("/spec/ignoreDifferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| d.get(k).and_then(Value::as_str);
        if s("group").unwrap_or("") != group || s("kind") != Some(kind) {
            continue;
        }
        if s("name").is_some_and(|n| n != meta_str(obj, "name"))
            || s("namespace").is_some_and(|n| n != meta_str(obj, "namespace"))
        {
            continue;
        }
        for p in d
            .get("jsonPointers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.push(fields::from_pointer(p));
        }
    }
    out
}

fn annotation<'a>(app: &'a Value, key: &str) -> Option<&'a str> {
    app.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// `argocd.argoproj.io/skip-reconcile: "true"`: Argo CD does nothing at
/// all for the Application, not even update its status.
pub fn paused(app: &Value) -> bool {
    annotation(app, SKIP) == Some("true")
}

/// `argocd.argoproj.io/refresh` asks for git to be read again now.
pub fn refresh_requested(app: &Value) -> bool {
    annotation(app, REFRESH).is_some()
}

/// Automated sync with self-heal: drift and missing objects are fixed.
pub fn self_heals(app: &Value) -> bool {
    app.pointer("/spec/syncPolicy/automated")
        .filter(|a| a.is_object())
        .filter(|a| a.get("enabled") != Some(&json!(false)))
        .is_some_and(|a| a.get("selfHeal") == Some(&json!(true)))
}

/// Gives a desired object of a namespaced kind the Application's
/// destination namespace when git names none; its namespace ("" for a
/// cluster-scoped kind).
pub fn place(desired: &mut Value, namespaced: bool, app: &Value) -> String {
    if !namespaced {
        return String::new();
    }
    let mut ns = meta_str(desired, "namespace").to_string();
    if ns.is_empty() {
        ns = app
            .pointer("/spec/destination/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    }
    desired["metadata"]["namespace"] = json!(ns);
    ns
}

/// Whether the live object differs from git's (a missing one does), the
/// fields of `ignoreDifferences` aside.
pub fn differs(app: &Value, desired: &Value, live: Option<&Value>) -> bool {
    let skip = ignored(app, desired);
    match live {
        None => true,
        Some(l) => fields::leaves(desired).iter().any(|p| {
            !skip.iter().any(|s| p.starts_with(s)) && fields::get(l, p) != fields::get(desired, p)
        }),
    }
}

/// Self-heal acts on drift once it has lasted `delay`: `since` keeps when
/// each object was first seen differing. True when it is due now (the
/// clock then starts again).
pub fn heal_due<K: Hash + Eq + Clone>(
    since: &mut HashMap<K, Instant>,
    key: K,
    differs: bool,
    self_heal: bool,
    delay: Duration,
) -> bool {
    if !differs {
        since.remove(&key);
        return false;
    }
    let first = *since.entry(key.clone()).or_insert_with(Instant::now);
    let due = self_heal && first.elapsed() >= delay;
    if due {
        since.remove(&key);
    }
    due
}

/// What self-heal makes of a drifted live object: git's fields over it,
/// but with `RespectIgnoreDifferences=true` the ignored fields stay as
/// they are live. The live metadata (resourceVersion included) is kept.
pub fn healed(app: &Value, desired: &Value, live: &Value) -> Value {
    let respect = app
        .pointer("/spec/syncPolicy/syncOptions")
        .and_then(Value::as_array)
        .is_some_and(|o| {
            o.iter()
                .any(|x| x.as_str() == Some("RespectIgnoreDifferences=true"))
        });
    let mut new = live.clone();
    fields::deep_merge(&mut new, desired);
    if respect {
        for p in &ignored(app, desired) {
            match fields::get(live, p) {
                Some(v) => fields::set(&mut new, p, v.clone()),
                None => fields::remove(&mut new, p),
            }
        }
    }
    new
}

/// The Application after a reconciliation: the refresh annotation gone,
/// the status (sync status and revision, health) from what was compared;
/// and whether that status differs from the one it had.
pub fn reconciled(app: &Value, revision: &str, missing: usize, drifted: usize) -> (Value, bool) {
    let sync = if missing + drifted == 0 {
        "Synced"
    } else {
        "OutOfSync"
    };
    let health = if missing > 0 { "Missing" } else { "Healthy" };
    let old = app.get("status").cloned().unwrap_or(json!({}));
    let changed = old.pointer("/sync/status") != Some(&json!(sync))
        || old.pointer("/sync/revision") != Some(&json!(revision))
        || old.pointer("/health/status") != Some(&json!(health));
    let mut app = app.clone();
    if let Some(a) = app["metadata"]["annotations"].as_object_mut() {
        a.remove(REFRESH);
    }
    app["status"]["sync"] = json!({"status": sync, "revision": revision});
    app["status"]["health"] = json!({"status": health});
    app["status"]["reconciledAt"] = json!(time::now());
    (app, changed)
}

pub fn step(store: &mut Store, st: &mut ArgoState, sp: &Speeds) {
    let Some(git) = st.git.clone() else { return };
    let Some(ares) = store.by_kind("argoproj.io/v1alpha1", "Application") else {
        return;
    };
    let apps: Vec<Value> = store.list(ares, None).into_iter().cloned().collect();
    for app in apps {
        let (ns, name, uid) = (
            meta_str(&app, "namespace").to_string(),
            meta_str(&app, "name").to_string(),
            meta_str(&app, "uid").to_string(),
        );
        if paused(&app) {
            continue;
        }
        let refresh = refresh_requested(&app);
        if refresh {
            st.cache.remove(&uid);
        }
        let fresh = st
            .cache
            .get(&uid)
            .is_some_and(|s| s.at.elapsed() < sp.git_cache);
        if !fresh {
            match snapshot(&git, &app) {
                Some(s) => {
                    st.cache.insert(uid.clone(), s);
                }
                None => continue,
            }
        }
        let Some(snap) = st.cache.get(&uid) else {
            continue;
        };
        let self_heal = self_heals(&app);
        let (mut missing, mut drifted) = (0, 0);
        for desired in &snap.objects {
            let api = desired
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = desired.get("kind").and_then(Value::as_str).unwrap_or("");
            let Some(res) = store.by_kind(api, kind) else {
                continue;
            };
            let mut desired = desired.clone();
            let ons = place(&mut desired, store.resource(res).namespaced, &app);
            let oname = meta_str(&desired, "name").to_string();
            let key = (uid.clone(), format!("{res}/{ons}/{oname}"));
            let live = store.get(res, &ons, &oname).cloned();
            let differ = differs(&app, &desired, live.as_ref());
            match (differ, &live) {
                (false, _) => {}
                (true, None) => missing += 1,
                (true, Some(_)) => drifted += 1,
            }
            if !heal_due(&mut st.drift, key, differ, self_heal, sp.self_heal) {
                continue;
            }
            let w = Write {
                manager: MANAGER.into(),
                sub: Sub::Main,
                ..Write::default()
            };
            match live {
                None => {
                    let _ = store.create(res, &ons, desired, &w);
                }
                Some(l) => {
                    let mut new = healed(&app, &desired, &l);
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove("resourceVersion");
                    }
                    let _ = store.update(res, &ons, &oname, new, &w);
                }
            }
        }
        let (mut app, changed) = reconciled(&app, &snap.revision, missing, drifted);
        if !changed && fresh && !refresh {
            continue;
        }
        if let Some(m) = app["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        let _ = store.update(
            ares,
            &ns,
            &name,
            app,
            &Write {
                manager: MANAGER.into(),
                ..Write::default()
            },
        );
    }
}
