//! WATCH: a chunked stream of JSON event lines (ADDED, MODIFIED, DELETED,
//! BOOKMARK, ERROR) from the store's bounded history, like the API
//! server's watch cache: a resourceVersion older than the history is an
//! ERROR event with a 410 `Expired` Status (kube-rs' watcher then lists
//! again), label and field selectors filter (an object leaving the
//! selector is DELETED for the watcher), `timeoutSeconds` ends the stream,
//! and a test can cut every open watch.

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::http::{chunk, end_chunks, start_chunked};
use super::select::Selector;
use super::status::ApiError;
use super::tls::Conn;
use super::Shared;

pub struct WatchParams {
    pub res: usize,
    pub ns: Option<String>,
    pub selector: Selector,
    pub resource_version: Option<String>,
    pub timeout: Option<Duration>,
    pub bookmarks: bool,
    pub initial_events: bool,
    /// The apiVersion the client asked for.
    pub api_version: String,
    pub kind: String,
}

/// The longest a watch stays open when the client sets no timeout.
const MAX_WATCH: Duration = Duration::from_secs(1800);

fn line(w: &mut Conn, kind: &str, obj: &Value) -> io::Result<()> {
    let mut text = json!({"type": kind, "object": obj}).to_string();
    text.push('\n');
    chunk(w, text.as_bytes())
}

fn expired(w: &mut Conn, message: String) -> io::Result<()> {
    line(w, "ERROR", &ApiError::expired(message).to_status())?;
    end_chunks(w)
}

pub fn serve(shared: &Arc<Shared>, p: WatchParams, w: &mut Conn) -> io::Result<()> {
    start_chunked(w, 200, "application/json")?;
    let epoch = shared.watch_epoch.load(Ordering::SeqCst);
    let started = Instant::now();
    let limit = p.timeout.unwrap_or(MAX_WATCH).min(MAX_WATCH);
    let forced = std::mem::take(&mut shared.faults.lock().expect("faults").expire_next_watch);
    let requested: Option<u64> = p
        .resource_version
        .as_deref()
        .filter(|v| !v.is_empty() && *v != "0")
        .and_then(|v| v.parse().ok());
    let shown = |o: &Value| {
        let mut o = o.clone();
        o["apiVersion"] = json!(p.api_version);
        o
    };
    let in_scope =
        |e: &super::store::Event| e.res == p.res && p.ns.as_ref().is_none_or(|n| *n == e.ns);
    let (mut cursor, initial) = {
        let store = shared.store.lock().expect("store");
        if forced {
            let rv = requested.unwrap_or(0);
            drop(store);
            return expired(w, format!("too old resource version: {rv} ({})", rv + 1));
        }
        match requested {
            Some(rv) => {
                if store.events_after(rv).is_none() {
                    let oldest = store.oldest_rv();
                    drop(store);
                    return expired(w, format!("too old resource version: {rv} ({oldest})"));
                }
                (rv, Vec::new())
            }
            None => {
                let objs: Vec<Value> = store
                    .list(p.res, p.ns.as_deref())
                    .into_iter()
                    .filter(|o| p.selector.matches(o))
                    .map(shown)
                    .collect();
                (store.rv(), objs)
            }
        }
    };
    for o in &initial {
        line(w, "ADDED", o)?;
    }
    let bookmark = |w: &mut Conn, rv: u64, end_of_initial: bool| {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if end_of_initial {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            w,
            "BOOKMARK",
            &json!({"kind": p.kind, "apiVersion": p.api_version, "metadata": meta}),
        )
    };
    if p.initial_events && p.bookmarks {
        bookmark(w, cursor, true)?;
    }
    let mut last_sent = Instant::now();
    loop {
        if shared.stop.load(Ordering::SeqCst)
            || shared.watch_epoch.load(Ordering::SeqCst) != epoch
            || started.elapsed() >= limit
            || Instant::now() >= shared.deadline
        {
            return end_chunks(w);
        }
        let interval = shared.speeds.lock().expect("speeds").bookmark;
        let events = {
            let mut store = shared.store.lock().expect("store");
            let mut events = store.events_after(cursor);
            if events.as_ref().is_some_and(Vec::is_empty) {
                let wait = Duration::from_millis(100).min(limit.saturating_sub(started.elapsed()));
                store = shared.changed.wait_timeout(store, wait).expect("store").0;
                events = store.events_after(cursor);
            }
            match events {
                Some(e) => e,
                None => {
                    let oldest = store.oldest_rv();
                    drop(store);
                    return expired(w, format!("too old resource version: {cursor} ({oldest})"));
                }
            }
        };
        for e in events {
            cursor = e.rv;
            if !in_scope(&e) {
                continue;
            }
            let now_in = p.selector.matches(&e.obj);
            let was_in = e.old.as_ref().is_some_and(|o| p.selector.matches(o));
            let kind = match (e.kind, was_in, now_in) {
                ("MODIFIED", false, true) => "ADDED",
                ("MODIFIED", true, false) => "DELETED",
                (k, _, true) => k,
                _ => continue,
            };
            line(w, kind, &shown(&e.obj))?;
            last_sent = Instant::now();
        }
        if p.bookmarks && last_sent.elapsed() >= interval {
            bookmark(w, cursor, false)?;
            last_sent = Instant::now();
        }
        w.flush()?;
    }
}
