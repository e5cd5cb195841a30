//! The test side's controls of a running server: the request log to
//! assert on, faults to switch on and off, the simulated controllers and
//! their speeds, and the object-storage bucket.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::faults::{Faults, Rule};
use super::objstore::{self, BaseBackup, Bucket, Contents, Lineage};
use super::{cnpg, http, time, Git, LoggedRequest, Speeds, TestCluster};

impl TestCluster {
    // --- The request log. ---

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().expect("log").clone()
    }

    /// Requests with this method whose path starts with `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }

    /// Writes that were not dry runs.
    pub fn mutations(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(LoggedRequest::is_mutation)
            .collect()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().expect("log").clear();
    }

    // --- Faults. ---

    /// 403 Forbidden for a verb on a resource (`*` for any).
    pub fn forbid(&self, verb: &str, resource: &str) {
        self.shared
            .faults
            .lock()
            .expect("faults")
            .forbidden
            .push(Rule::new(verb, resource));
    }

    /// 500 for the next `times` matching requests (None: until cleared).
    pub fn fail(&self, verb: &str, resource: &str, times: Option<u32>) {
        self.shared
            .faults
            .lock()
            .expect("faults")
            .errors
            .push((Rule::new(verb, resource), times));
    }

    /// 503 Service Unavailable (which clients may retry) for matching
    /// requests, `times` times (None: until cleared).
    pub fn unavailable(&self, verb: &str, resource: &str, times: Option<u32>) {
        self.shared
            .faults
            .lock()
            .expect("faults")
            .unavailable
            .push((Rule::new(verb, resource), times));
    }

    /// Answers matching requests after `delay` (the effect happens first).
    pub fn delay(&self, verb: &str, resource: &str, delay: Duration) {
        self.shared
            .faults
            .lock()
            .expect("faults")
            .latency
            .push((Rule::new(verb, resource), delay));
    }

    pub fn clear_faults(&self) {
        *self.shared.faults.lock().expect("faults") = Faults::default();
    }

    /// Closes the listening socket (clients get "connection refused") and
    /// cuts open connections; `false` listens again on the same port.
    pub fn refuse_connections(&self, refuse: bool) {
        self.shared.refusing.store(refuse, Ordering::SeqCst);
        if refuse {
            http::wake_and_cut(&self.shared);
        }
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            let up =
                TcpStream::connect_timeout(&self.shared.addr, Duration::from_millis(100)).is_ok();
            if up != refuse {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Ends every open watch (clients reconnect).
    pub fn drop_watches(&self) {
        self.shared.watch_epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.changed.notify_all();
    }

    /// The next watch request gets a 410 Expired ERROR event.
    pub fn expire_next_watch(&self) {
        self.shared.faults.lock().expect("faults").expire_next_watch = true;
    }

    /// Forgets the event history: watches from an older resourceVersion
    /// (including open ones) get 410 Expired.
    pub fn compact_history(&self) {
        self.shared.store.lock().expect("store").compact();
        self.shared.changed.notify_all();
    }

    pub fn set_history(&self, events: usize) {
        self.shared.store.lock().expect("store").history = events.max(1);
    }

    // --- Controllers. ---

    pub fn set_controllers(&self, cnpg: bool, argocd: bool) {
        let mut sim = self.shared.sim.lock().expect("sim");
        sim.cnpg_on = cnpg;
        sim.argocd_on = argocd;
    }

    /// Pauses (false) or resumes the garbage collector.
    pub fn set_gc(&self, on: bool) {
        self.shared.sim.lock().expect("sim").gc_on = on;
    }

    /// Waits until the controllers have run `n` more rounds (to show that
    /// something did NOT happen within a number of rounds, not of seconds).
    pub fn wait_ticks(&self, n: u64) {
        let start = self.shared.ticks.load(Ordering::SeqCst);
        self.wait_until(
            &format!("{n} controller rounds"),
            Duration::from_secs(30),
            |c| (c.shared.ticks.load(Ordering::SeqCst) >= start + n).then_some(()),
        );
    }

    pub fn speeds(&self) -> Speeds {
        self.shared.speeds.lock().expect("speeds").clone()
    }

    pub fn set_speeds(&self, f: impl FnOnce(&mut Speeds)) {
        f(&mut self.shared.speeds.lock().expect("speeds"));
    }

    pub fn set_git(&self, git: Git) {
        self.shared.sim.lock().expect("sim").argo.git = Some(git);
    }

    /// CNPG: recovery Jobs started from now on fail (or not).
    pub fn fail_recovery_jobs(&self, fail: bool) {
        self.shared.sim.lock().expect("sim").cnpg.fail_recovery = fail;
    }

    /// CNPG: running Backups fail (or not).
    pub fn fail_backups(&self, fail: bool) {
        self.shared.sim.lock().expect("sim").cnpg.fail_backups = fail;
    }

    /// CNPG: `SELECT pg_switch_wal()` on a Cluster's primary.
    pub fn switch_wal(&self, ns: &str, cluster: &str) -> Option<String> {
        let mut sim = self.shared.sim.lock().expect("sim");
        let store = self.shared.store.lock().expect("store");
        let mut bucket = self.shared.bucket.lock().expect("bucket");
        cnpg::switch_wal(&store, &mut bucket, &mut sim.cnpg, ns, cluster)
    }

    /// CNPG: sets what a running Cluster's database holds (what its next
    /// base backup carries). False when the Cluster is not simulated yet.
    pub fn set_contents(&self, ns: &str, cluster: &str, contents: Contents) -> bool {
        let mut sim = self.shared.sim.lock().expect("sim");
        let store = self.shared.store.lock().expect("store");
        cnpg::set_contents(&store, &mut sim.cnpg, ns, cluster, contents)
    }

    /// CNPG: what a Cluster's database holds.
    pub fn contents(&self, ns: &str, cluster: &str) -> Option<Contents> {
        let sim = self.shared.sim.lock().expect("sim");
        let store = self.shared.store.lock().expect("store");
        cnpg::contents(&store, &sim.cnpg, ns, cluster)
    }

    // --- The object-storage bucket. ---

    pub fn bucket(&self) -> Bucket {
        self.shared.bucket.lock().expect("bucket").clone()
    }

    /// The lineage of a serverName (any destinationPath), empty if none.
    pub fn lineage(&self, server: &str) -> Lineage {
        self.bucket().by_server(server).cloned().unwrap_or_default()
    }

    /// Puts a base backup (and a few WAL segments) into a lineage.
    pub fn seed_backup(&self, destination: &str, server: &str, id: &str) {
        let mut b = self.shared.bucket.lock().expect("bucket");
        let l = b.entry(destination, server);
        l.base_backups.push(BaseBackup {
            id: id.into(),
            time: time::now(),
            by: "test".into(),
            contents: Contents::sample(),
        });
        for _ in 0..3 {
            let n = l.wal.len() as u64 + 1;
            l.wal.push(objstore::segment(1, n));
        }
    }
}
