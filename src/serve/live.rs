//! What the server serves right now, and the readers waiting for it to
//! change (long-poll: a waiting request is parked, not a thread).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tiny_http::{Request, Response};

use super::http::{Resp, SetHeader};

use crate::diagnostic::Diagnostic;

/// A file of the site, with its validators computed on first use.
pub struct File {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    etag: OnceLock<String>,
    gzip: OnceLock<Option<Vec<u8>>>,
}

impl File {
    pub fn new(path: &str, bytes: Vec<u8>) -> File {
        File {
            content_type: content_type(path),
            bytes,
            etag: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.bytes.hash(&mut h);
            format!("\"{:016x}-{:x}\"", h.finish(), self.bytes.len())
        })
    }

    /// The gzip-compressed body, for compressible types worth compressing.
    pub fn gzip(&self) -> Option<&[u8]> {
        self.gzip
            .get_or_init(|| {
                let compressible = self.content_type.starts_with("text/")
                    || self.content_type.contains("javascript")
                    || self.content_type.contains("json")
                    || self.content_type.contains("xml")
                    || self.content_type.contains("svg");
                if !compressible || self.bytes.len() < 512 {
                    return None;
                }
                use std::io::Write;
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&self.bytes).ok()?;
                enc.finish().ok()
            })
            .as_deref()
    }
}

pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "yaml" | "yml" => "text/yaml; charset=utf-8",
        "pdf" => "application/pdf",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Problems to show over the page: a failed build, or check findings.
#[derive(Default, Clone, Serialize)]
pub struct Problems {
    pub build_error: Option<String>,
    pub diagnostics: Vec<ProblemLine>,
}

#[derive(Clone, Serialize, PartialEq)]
pub struct ProblemLine {
    pub severity: &'static str,
    pub code: &'static str,
    pub location: String,
    pub message: String,
}

impl Problems {
    pub fn from_diagnostics(diags: &[Diagnostic]) -> Vec<ProblemLine> {
        diags
            .iter()
            .filter(|d| d.severity != crate::diagnostic::Severity::Note)
            .map(|d| ProblemLine {
                severity: d.severity.as_str(),
                code: d.code.as_str(),
                location: d.location.to_string(),
                message: d.message.clone(),
            })
            .collect()
    }
}

pub struct Snapshot {
    pub files: HashMap<String, Arc<File>>,
    /// Bumped whenever pages change (the browser reloads).
    pub site: u64,
    /// Bumped on any change, problems included (the browser re-polls).
    pub version: u64,
    pub problems: Problems,
}

#[derive(Serialize)]
struct State<'a> {
    version: u64,
    site: u64,
    problems: &'a Problems,
}

pub struct Live {
    now: RwLock<Arc<Snapshot>>,
    waiting: Mutex<Vec<(Request, Instant)>>,
}

/// At most this many parked long-polls; more are answered at once.
pub const MAX_WAITING: usize = 256;
/// A parked long-poll is answered (unchanged) after this long.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(25);

impl Live {
    pub fn new(files: HashMap<String, Arc<File>>, problems: Problems) -> Live {
        Live {
            now: RwLock::new(Arc::new(Snapshot {
                files,
                site: 1,
                version: 1,
                problems,
            })),
            waiting: Mutex::new(Vec::new()),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.now
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Publishes new files (`None`: unchanged) and problems, and answers
    /// every waiting reader. With `reload`, readers reload the page;
    /// otherwise (the search index, problems) they only update the overlay.
    pub fn publish(
        &self,
        files: Option<HashMap<String, Arc<File>>>,
        reload: bool,
        problems: Problems,
    ) {
        {
            let mut now = self.now.write().unwrap_or_else(PoisonError::into_inner);
            let next = Snapshot {
                files: files.unwrap_or_else(|| now.files.clone()),
                site: now.site + u64::from(reload),
                version: now.version + 1,
                problems,
            };
            *now = Arc::new(next);
        }
        self.release_all();
    }

    fn state_json(&self) -> String {
        let s = self.snapshot();
        serde_json::to_string(&State {
            version: s.version,
            site: s.site,
            problems: &s.problems,
        })
        .expect("state serializes")
    }

    /// The parked polls. A panic elsewhere cannot leave this list
    /// half-updated, so a poisoned lock is taken as it is.
    fn waiting(&self) -> MutexGuard<'_, Vec<(Request, Instant)>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers at once if the state is newer than `since`, else parks.
    pub fn poll(&self, req: Request, since: u64) {
        if self.snapshot().version > since {
            let _ = req.respond(json_response(&self.state_json()));
            return;
        }
        let mut waiting = self.waiting();
        if waiting.len() >= MAX_WAITING {
            drop(waiting);
            let _ = req.respond(json_response(&self.state_json()));
            return;
        }
        waiting.push((req, Instant::now()));
    }

    /// Answers parked polls older than the timeout (run periodically).
    pub fn expire(&self) {
        let old: Vec<(Request, Instant)> = {
            let mut waiting = self.waiting();
            let (old, keep): (Vec<_>, Vec<_>) = waiting
                .drain(..)
                .partition(|(_, at)| at.elapsed() >= POLL_TIMEOUT);
            *waiting = keep;
            old
        };
        self.answer(old);
    }

    /// Answers every parked poll (after a change, and on shutdown).
    pub fn release_all(&self) {
        let waiting = std::mem::take(&mut *self.waiting());
        self.answer(waiting);
    }

    /// Answers requests with the current state.
    fn answer(&self, reqs: Vec<(Request, Instant)>) {
        if reqs.is_empty() {
            return;
        }
        let body = self.state_json();
        for (req, _) in reqs {
            let _ = req.respond(json_response(&body));
        }
    }
}

fn json_response(body: &str) -> Resp {
    Response::from_string(body)
        .set("Content-Type", "application/json")
        .set("Cache-Control", "no-store")
}

/// The script injected into every served page: long-polls for changes,
/// reloads keeping the scroll position, and shows problems over the page.
pub const LIVE_JS: &str = r#"(function () {
  "use strict";
  var key = "docs-serve-scroll:" + location.pathname, version = 0, site = null;
  var y = sessionStorage.getItem(key);
  if (y !== null) { sessionStorage.removeItem(key); window.addEventListener("load", function () { window.scrollTo(0, +y); }); window.scrollTo(0, +y); }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function overlay(p) {
    var el = document.getElementById("docs-serve-problems");
    var lines = [];
    if (p.build_error) lines.push('<li class="error"><b>build failed</b> — ' + esc(p.build_error) + "</li>");
    p.diagnostics.forEach(function (d) { lines.push('<li class="' + d.severity + '"><b>' + d.severity + "[" + esc(d.code) + "]</b> " + esc(d.location) + " — " + esc(d.message) + "</li>"); });
    if (!lines.length) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement("div"); el.id = "docs-serve-problems"; el.setAttribute("role", "alert");
      el.style.cssText = "position:fixed;left:0;right:0;bottom:0;max-height:45vh;overflow:auto;z-index:99;background:#1f2328;color:#f0f0f0;font:13px/1.5 ui-monospace,monospace;padding:.6rem 1rem;border-top:3px solid #cf222e;box-shadow:0 -4px 16px rgba(0,0,0,.3)";
      document.body.appendChild(el);
    }
    el.innerHTML = "<div><b>docs serve</b>" + (p.build_error ? " — showing the last good build" : "") + '</div><ul style="margin:.3rem 0;padding-left:1.2rem">' + lines.join("") + "</ul>";
  }
  function poll() {
    fetch("/__docs/poll?since=" + version, { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (s) {
      if (site !== null && s.site !== site) { sessionStorage.setItem(key, String(window.scrollY)); location.reload(); return; }
      site = s.site; version = s.version; overlay(s.problems); poll();
    }).catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
"#;
