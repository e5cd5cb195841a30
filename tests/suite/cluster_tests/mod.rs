//! Tests of the suite's test API server (tests/suite/cluster/): real
//! kubectl and real kube-rs over HTTPS against it, then its simulated
//! CNPG and Argo CD controllers. Each test starts its own server on an
//! ephemeral port; waits poll with bounded deadlines.

mod api;
mod argocd;
mod cnpg;
mod faults;
mod watch;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{json, Value};

use crate::cluster::TestCluster;

pub const NS: &str = "cloudnative-pg";

/// A temporary directory for kubeconfigs and kubectl's cache.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("docs-test-cluster-")
        .tempdir()
        .expect("temporary directory")
}

/// Real kubectl against the server (its own kubeconfig and cache).
pub fn kubectl(c: &TestCluster, dir: &Path, args: &[&str]) -> Output {
    let kubeconfig = c.kubeconfig(dir);
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("--request-timeout=20s")
        .args(args)
        .output()
        .expect("run kubectl (v1.32 on PATH)")
}

/// kubectl's stdout, asserting success.
pub fn kubectl_ok(c: &TestCluster, dir: &Path, args: &[&str]) -> String {
    let out = kubectl(c, dir, args);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// kubectl fed a manifest on stdin.
pub fn kubectl_stdin(c: &TestCluster, dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let kubeconfig = c.kubeconfig(dir);
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubectl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("kubectl output")
}

/// A kube-rs client from the server's kubeconfig (context `test`).
pub async fn client(c: &TestCluster, dir: &Path) -> Client {
    client_for(c, dir, None).await
}

pub async fn client_for(c: &TestCluster, dir: &Path, context: Option<&str>) -> Client {
    let kc = Kubeconfig::read_from(c.kubeconfig(dir)).expect("read kubeconfig");
    let opts = KubeConfigOptions {
        context: context.map(String::from),
        ..KubeConfigOptions::default()
    };
    let mut cfg = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .expect("kubeconfig");
    cfg.connect_timeout = Some(Duration::from_secs(5));
    cfg.read_timeout = Some(Duration::from_secs(20));
    Client::try_from(cfg).expect("client")
}

pub fn cnpg(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "postgresql.cnpg.io".into(),
        version: "v1".into(),
        api_version: "postgresql.cnpg.io/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub fn clusters(client: &Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), NS, &cnpg("Cluster", "clusters"))
}

/// The kube-rs API error of a result (panics when it is not one).
pub fn api_error<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A server with the namespace of the kit.
pub fn server() -> TestCluster {
    let c = TestCluster::start();
    c.seed_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n"
    ));
    c
}

/// A CNPG Cluster; `bootstrap` and `target` (the backup serverName).
pub fn cluster_json(name: &str, bootstrap: Value, target: &str, external: Option<&str>) -> Value {
    let store = |server: &str| {
        json!({"destinationPath": "s3://bucket/cnpg", "serverName": server,
        "s3Credentials": {"accessKeyId": {"name": "s3", "key": "ID"}, "secretAccessKey": {"name": "s3", "key": "KEY"}}})
    };
    let mut c = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"instances": 1, "storage": {"size": "1Gi"}, "bootstrap": bootstrap,
            "backup": {"barmanObjectStore": store(target)}}});
    if let Some(src) = external {
        c["spec"]["externalClusters"] =
            json!([{"name": "source", "barmanObjectStore": store(src)}]);
    }
    c
}

pub fn initdb() -> Value {
    json!({"initdb": {"database": "app", "owner": "app"}})
}

pub fn recovery() -> Value {
    json!({"recovery": {"source": "source"}})
}

pub fn phase(c: &TestCluster, name: &str) -> String {
    c.get("clusters.postgresql.cnpg.io", NS, name)
        .and_then(|o| {
            o.pointer("/status/phase")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default()
}

pub fn wait_phase(c: &TestCluster, name: &str, want: &str) -> Value {
    c.wait_for_field(
        "clusters.postgresql.cnpg.io",
        NS,
        name,
        "/status/phase",
        want,
    )
}
