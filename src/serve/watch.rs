//! Watching content/, manifests/, the theme and docs.toml with notify, and
//! turning bursts of events into one set of changes (debounced). Editors
//! that save through a temporary file and a rename work: the temporary
//! names are ignored, the final name is seen as changed.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::state::Changes;
use crate::config::Config;
use crate::content::is_ignored_name;
use crate::error::{Error, Result};

/// Quiet time that ends a burst of events, and the longest a burst may
/// delay a rebuild.
pub const QUIET: Duration = Duration::from_millis(8);
pub const MAX_DELAY: Duration = Duration::from_millis(150);

pub struct Watch {
    _watcher: RecommendedWatcher,
    pub events: Receiver<notify::Result<notify::Event>>,
    root: PathBuf,
    config: Config,
}

impl Watch {
    pub fn start(root: &Path, config: &Config) -> Result<Watch> {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |ev| {
            let _ = tx.send(ev);
        })
        .map_err(|e| Error::new(format!("cannot watch files: {e}")))?;
        let root = std::fs::canonicalize(root).map_err(|e| Error::io(root, "resolve", e))?;
        for dir in [&config.content_dir, &config.manifests_dir, &config.theme] {
            let full = root.join(dir);
            if full.is_dir() {
                watcher
                    .watch(&full, RecursiveMode::Recursive)
                    .map_err(|e| Error::new(format!("cannot watch {}: {e}", dir.display())))?;
            }
        }
        // docs.toml, and directories appearing at the top.
        watcher
            .watch(&root, RecursiveMode::NonRecursive)
            .map_err(|e| Error::new(format!("cannot watch {}: {e}", root.display())))?;
        Ok(Watch {
            _watcher: watcher,
            events: rx,
            root,
            config: config.clone(),
        })
    }

    /// Waits for the next burst of changes; `None` when `stop` says so.
    pub fn next(&self, stop: &dyn Fn() -> bool) -> Option<Changes> {
        let mut changes = Changes::default();
        // Wait for a first relevant event.
        loop {
            if stop() {
                return None;
            }
            match self.events.recv_timeout(Duration::from_millis(200)) {
                Ok(Ok(ev)) => {
                    self.classify(&ev, &mut changes);
                    if !changes.is_empty() {
                        break;
                    }
                }
                Ok(Err(_)) => {}
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
        // Then gather the rest of the burst.
        let started = Instant::now();
        while started.elapsed() < MAX_DELAY {
            match self.events.recv_timeout(QUIET) {
                Ok(Ok(ev)) => self.classify(&ev, &mut changes),
                Ok(Err(_)) => {}
                Err(_) => break,
            }
        }
        Some(changes)
    }

    fn classify(&self, ev: &notify::Event, changes: &mut Changes) {
        use notify::EventKind;
        if matches!(ev.kind, EventKind::Access(_)) {
            return;
        }
        for path in &ev.paths {
            classify_path(&self.root, &self.config, path, changes);
        }
    }
}

/// Sorts one changed path into `changes`.
pub fn classify_path(root: &Path, config: &Config, path: &Path, changes: &mut Changes) {
    let Ok(rel) = path.strip_prefix(root) else {
        return;
    };
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_ignored_name(&name) {
        return;
    }
    if rel == Path::new(crate::config::FILE_NAME) || rel.starts_with(&config.theme) {
        changes.everything = true;
    } else if let Ok(inner) = rel.strip_prefix(&config.content_dir) {
        let inner = inner.to_string_lossy().replace('\\', "/");
        if inner.is_empty() {
            changes.everything = true;
        } else if inner.ends_with(".md") {
            changes.pages.insert(inner);
        } else if path.is_dir() {
            // A directory appeared or went: pages may have come with it.
            changes.everything = true;
        } else {
            changes.assets.insert(inner);
        }
    } else if rel.starts_with(&config.manifests_dir) {
        changes.manifests = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(rel: &str) -> Changes {
        let mut c = Changes::default();
        classify_path(
            Path::new("/r"),
            &Config::default(),
            &Path::new("/r").join(rel),
            &mut c,
        );
        c
    }

    #[test]
    fn paths_sort_into_kinds() {
        assert!(classify("docs.toml").everything);
        assert!(classify("themes/default/templates/page.html").everything);
        assert!(classify("manifests/a/b.yaml").manifests);
        assert_eq!(
            classify("content/guide/a.md")
                .pages
                .into_iter()
                .collect::<Vec<_>>(),
            ["guide/a.md"]
        );
        assert_eq!(
            classify("content/images/x.svg")
                .assets
                .into_iter()
                .collect::<Vec<_>>(),
            ["images/x.svg"]
        );
        assert!(classify("content/.a.md.swp").is_empty());
        assert!(classify("content/a.md~").is_empty());
        assert!(
            classify("public/index.html").is_empty(),
            "the output is not watched"
        );
        assert!(classify("README.md").is_empty());
    }
}
