//! The suite's test API server as a program, for benchmark scripts that
//! need a cluster to run `docs run` against:
//!
//! ```text
//! cargo run --example test-cluster -- /tmp/kubeconfig [git-dir branch]
//! ```
//!
//! Starts the server on 127.0.0.1 with the repository's `crds/`, writes a
//! kubeconfig (context `test`) to the path given, prints the server's URL
//! on one line, and runs until killed or until its standard input closes
//! (when standard input is /dev/null, as for `cmd &` in a script, only a
//! signal stops it). With a bare git directory and a branch, the
//! simulated Argo CD reads its manifests there.

#[path = "../tests/suite/cluster/mod.rs"]
mod cluster;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

fn stdin_is_dev_null() -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata("/proc/self/fd/0"),
        std::fs::metadata("/dev/null"),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(kubeconfig) = args.first() else {
        eprintln!("usage: test-cluster KUBECONFIG-PATH [GIT-DIR BRANCH]");
        std::process::exit(2);
    };
    let git = match (args.get(1), args.get(2)) {
        (Some(dir), Some(branch)) => Some(cluster::Git::Bare {
            git_dir: PathBuf::from(dir),
            branch: branch.clone(),
        }),
        _ => None,
    };
    let server = cluster::TestCluster::start_with(cluster::Options {
        git,
        lifetime: Duration::from_secs(24 * 3600),
        ..cluster::Options::default()
    });
    server.write_kubeconfig(&PathBuf::from(kubeconfig));
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    if stdin_is_dev_null() {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
