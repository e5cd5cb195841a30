//! A Kubernetes-API-compatible test server on 127.0.0.1: real HTTP, real
//! JSON, the paths and status objects the kube client expects. It grows
//! with what the tests need (SPEC §6); today it serves the cluster's
//! CustomResourceDefinitions, or refuses like an RBAC-denied cluster.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Response, Server};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Forbidden,
}

pub struct ApiServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// Starts a server holding the CRDs of `crd_dir` (YAML files).
    pub fn start(crd_dir: &Path, mode: Mode) -> ApiServer {
        let crds = load_crds(crd_dir);
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("ip address")
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (server.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: stops when told, or after 10 minutes at most.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
            while !st.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                let Ok(Some(req)) = s.recv_timeout(std::time::Duration::from_millis(100)) else {
                    continue;
                };
                let path = req.url().split('?').next().unwrap_or("").to_string();
                let (code, body) = match (mode, path.as_str()) {
                    (Mode::Forbidden, _) => (403, status(403, "Forbidden", "customresourcedefinitions.apiextensions.k8s.io is forbidden: User \"test\" cannot list resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at the cluster scope")),
                    (_, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions") => (200, serde_json::json!({
                        "apiVersion": "apiextensions.k8s.io/v1",
                        "kind": "CustomResourceDefinitionList",
                        "metadata": {"resourceVersion": "1"},
                        "items": crds,
                    })),
                    _ => (404, status(404, "NotFound", &format!("the server could not find the requested resource ({path})"))),
                };
                let header =
                    Header::from_bytes("Content-Type", "application/json").expect("header");
                let _ = req.respond(
                    Response::from_string(body.to_string())
                        .with_status_code(code)
                        .with_header(header),
                );
            }
        });
        ApiServer {
            url,
            stop,
            server,
            thread: Some(thread),
        }
    }

    /// A kubeconfig file pointing at this server, with one context `test`.
    pub fn kubeconfig(&self, dir: &Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\ncurrent-context: test\nusers:\n- name: test\n  user:\n    token: test-token\n",
            self.url
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

fn load_crds(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    fn walk(d: &Path, files: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).expect("crd dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, files);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    walk(dir, &mut files);
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read crd");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).expect("crd yaml");
            if !v.is_null() {
                out.push(serde_json::to_value(v).expect("json"));
            }
        }
    }
    out
}
