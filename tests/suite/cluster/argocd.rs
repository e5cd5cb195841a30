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
use std::time::Instant;

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

fn snapshot(git: &Git, app: &Value) -> Option<Snapshot> {
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
        let annotation = |k: &str| {
            app.pointer("/metadata/annotations")
                .and_then(|a| a.get(k))
                .and_then(Value::as_str)
        };
        if annotation(SKIP) == Some("true") {
            continue;
        }
        let mut app = app.clone();
        if annotation(REFRESH).is_some() {
            st.cache.remove(&uid);
            if let Some(a) = app["metadata"]["annotations"].as_object_mut() {
                a.remove(REFRESH);
            }
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
        let automated = app
            .pointer("/spec/syncPolicy/automated")
            .filter(|a| a.is_object())
            .filter(|a| a.get("enabled") != Some(&json!(false)));
        let self_heal = automated.is_some_and(|a| a.get("selfHeal") == Some(&json!(true)));
        let respect = app
            .pointer("/spec/syncPolicy/syncOptions")
            .and_then(Value::as_array)
            .is_some_and(|o| {
                o.iter()
                    .any(|x| x.as_str() == Some("RespectIgnoreDifferences=true"))
            });
        let dest_ns = app
            .pointer("/spec/destination/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
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
            let ons = if store.resource(res).namespaced {
                let n = meta_str(&desired, "namespace").to_string();
                let n = if n.is_empty() { dest_ns.clone() } else { n };
                desired["metadata"]["namespace"] = json!(n);
                n
            } else {
                String::new()
            };
            let oname = meta_str(&desired, "name").to_string();
            let key = (uid.clone(), format!("{res}/{ons}/{oname}"));
            let live = store.get(res, &ons, &oname).cloned();
            let skip = ignored(&app, &desired);
            let differs = match &live {
                None => true,
                Some(l) => fields::leaves(&desired).iter().any(|p| {
                    !skip.iter().any(|s| p.starts_with(s))
                        && fields::get(l, p) != fields::get(&desired, p)
                }),
            };
            if !differs {
                st.drift.remove(&key);
                continue;
            }
            if live.is_none() {
                missing += 1
            } else {
                drifted += 1
            }
            let since = *st.drift.entry(key.clone()).or_insert_with(Instant::now);
            if !self_heal || since.elapsed() < sp.self_heal {
                continue;
            }
            st.drift.remove(&key);
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
                    let mut new = l.clone();
                    fields::deep_merge(&mut new, &desired);
                    if respect {
                        for p in &skip {
                            match fields::get(&l, p) {
                                Some(v) => fields::set(&mut new, p, v.clone()),
                                None => fields::remove(&mut new, p),
                            }
                        }
                    }
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove("resourceVersion");
                    }
                    let _ = store.update(res, &ons, &oname, new, &w);
                }
            }
        }
        let sync = if missing + drifted == 0 {
            "Synced"
        } else {
            "OutOfSync"
        };
        let health = if missing > 0 { "Missing" } else { "Healthy" };
        let old = app.get("status").cloned().unwrap_or(json!({}));
        let same = old.pointer("/sync/status") == Some(&json!(sync))
            && old.pointer("/sync/revision") == Some(&json!(snap.revision))
            && old.pointer("/health/status") == Some(&json!(health));
        if same && fresh && annotation(REFRESH).is_none() {
            continue;
        }
        app["status"]["sync"] = json!({"status": sync, "revision": snap.revision});
        app["status"]["health"] = json!({"status": health});
        app["status"]["reconciledAt"] = json!(time::now());
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
