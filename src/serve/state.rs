//! The site being served, rebuilt as little as a change needs:
//! - a page edit re-renders that page (and the search index);
//! - a manifest change re-renders the pages that quote manifests;
//! - a new, renamed or deleted page, a title or order change, a theme or
//!   config change rebuild everything.
//!
//! A failed rebuild keeps the last good site and reports the error.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::live::{File, Live, Problems};
use crate::config::Config;
use crate::content;
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::manifests::ManifestIndex;
use crate::project::Project;
use crate::render::site::{PageInfo, Renderer};
use crate::render::theme::Theme;
use crate::schema::Schemas;

/// What changed on disk, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    pub everything: bool,
    pub manifests: bool,
    /// Pages, relative to the content directory.
    pub pages: BTreeSet<String>,
    /// Other content files, relative to the content directory.
    pub assets: BTreeSet<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        !self.everything && !self.manifests && self.pages.is_empty() && self.assets.is_empty()
    }
}

pub struct State {
    root: PathBuf,
    crd_dirs: Vec<PathBuf>,
    /// The last good build.
    good: Option<Good>,
    /// Diagnostics of the last good build.
    diagnostics: Vec<Diagnostic>,
}

struct Good {
    project: Project,
    theme: Theme,
    schemas: Option<Schemas>,
    infos: Vec<PageInfo>,
    files: BTreeMap<String, Vec<u8>>,
    /// The files as served; a partial rebuild replaces only its entries.
    served: HashMap<String, Arc<File>>,
}

/// What a rebuild did, for the terminal.
pub struct Outcome {
    pub what: String,
    pub error: Option<String>,
}

impl State {
    pub fn new(root: &Path, crd_dirs: Vec<PathBuf>) -> State {
        State {
            root: root.to_path_buf(),
            crd_dirs,
            good: None,
            diagnostics: Vec::new(),
        }
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Applies changes and publishes the result to `live`.
    pub fn apply(&mut self, changes: &Changes, live: &Live) -> Outcome {
        let result = if changes.everything || self.good.is_none() {
            self.full().map(|()| "everything".to_string())
        } else {
            self.partial(changes)
        };
        match result {
            Ok(what) => {
                let good = self.good.as_ref().expect("built");
                live.publish(
                    Some(good.served.clone()),
                    true,
                    Problems {
                        build_error: None,
                        diagnostics: Problems::from_diagnostics(&self.diagnostics),
                    },
                );
                // Search index and checks after the pages are out.
                self.after_publish(live);
                Outcome { what, error: None }
            }
            Err(e) => {
                let problems = Problems {
                    build_error: Some(e.to_string()),
                    diagnostics: Problems::from_diagnostics(&self.diagnostics),
                };
                live.publish(None, false, problems);
                Outcome {
                    what: "nothing (the last good build is still served)".into(),
                    error: Some(e.to_string()),
                }
            }
        }
    }

    fn full(&mut self) -> Result<()> {
        let mut config = Config::load(&self.root)?;
        // Served at the root whatever the published base URL.
        config.base_url = "/".into();
        config.crds.extend(self.crd_dirs.iter().cloned());
        let schemas = if config.crds.is_empty() {
            None
        } else {
            Some(Schemas::load(&config.crds, &self.root)?)
        };
        let project = Project::load_with(&self.root, config)?;
        let theme = Theme::load(&self.root, &project.config)?;
        let r = Renderer::new(&project, &theme);
        let outs = r.all_pages()?;
        let (files, infos) = r.files(outs)?;
        drop(r);
        let served = to_served(&files);
        self.good = Some(Good {
            project,
            theme,
            schemas,
            infos,
            files,
            served,
        });
        Ok(())
    }

    fn partial(&mut self, changes: &Changes) -> Result<String> {
        let good = self.good.as_mut().expect("a previous build");
        let content_dir = good.project.root.join(&good.project.config.content_dir);
        let mut rerender: BTreeSet<usize> = BTreeSet::new();
        let mut what = Vec::new();
        if changes.manifests {
            let config = &good.project.config;
            let idx = ManifestIndex::load(
                &good.project.root,
                &config.manifests_dir,
                &config.not_manifests(),
            )?;
            good.project.manifests = Arc::new(idx);
            for (i, p) in good.project.content.pages.iter().enumerate() {
                if p.body.contains("{{") || p.body.contains("{%") {
                    rerender.insert(i);
                }
            }
            what.push("manifests".to_string());
        }
        for rel in &changes.pages {
            let Some(i) = good
                .project
                .content
                .pages
                .iter()
                .position(|p| &p.rel == rel)
            else {
                return self.full().map(|()| format!("everything ({rel} is new)"));
            };
            if !content_dir.join(rel).exists() {
                return self
                    .full()
                    .map(|()| format!("everything ({rel} was removed)"));
            }
            let page = content::load_page(&content_dir, rel, &good.project.config.content_dir)?;
            let old = &good.project.content.pages[i];
            if page.title != old.title || page.front.weight != old.front.weight {
                return self
                    .full()
                    .map(|()| format!("everything (the title or order of {rel} changed)"));
            }
            good.project.content.pages[i] = page;
            rerender.insert(i);
            what.push(rel.clone());
        }
        let r = Renderer::new(&good.project, &good.theme);
        let mut fresh = Vec::new();
        for &i in &rerender {
            fresh.push((i, r.page(i)?));
        }
        drop(r);
        for (i, out) in fresh {
            let url = good.project.content.pages[i].url.clone();
            good.set(url, out.html.into_bytes());
            good.infos[i] = out.info;
        }
        for rel in &changes.assets {
            if content_dir.join(rel).symlink_metadata().is_err() {
                good.files.remove(rel);
                good.served.remove(rel);
            } else {
                let bytes =
                    content::read_inside(&content_dir, rel, &good.project.config.content_dir)?;
                good.set(rel.clone(), bytes);
            }
            what.push(rel.clone());
        }
        Ok(what.join(", "))
    }

    fn after_publish(&mut self, live: &Live) {
        let Some(good) = self.good.as_mut() else {
            return;
        };
        let r = Renderer::new(&good.project, &good.theme);
        let index = r.search_index(&good.infos);
        drop(r);
        let diagnostics = check(&good.project, &good.infos, good.schemas.as_ref());
        let index_changed = good
            .files
            .get("search-index.js")
            .is_none_or(|old| old.as_slice() != index.as_bytes());
        if index_changed {
            good.set("search-index.js".into(), index.into_bytes());
        }
        let problems_changed = Problems::from_diagnostics(&diagnostics)
            != Problems::from_diagnostics(&self.diagnostics);
        self.diagnostics = diagnostics;
        if index_changed || problems_changed {
            // Not a page change: readers update the overlay, no reload.
            live.publish(
                Some(good.served.clone()),
                false,
                Problems {
                    build_error: None,
                    diagnostics: Problems::from_diagnostics(&self.diagnostics),
                },
            );
        }
    }
}

/// The checks of `docs check` on the served pages. CLAUDE.md is left out:
/// building is what regenerates it.
fn check(project: &Project, infos: &[PageInfo], schemas: Option<&Schemas>) -> Vec<Diagnostic> {
    let pages: Vec<_> = project
        .content
        .pages
        .iter()
        .zip(infos)
        .map(|(p, o)| (p, &o.outline))
        .collect();
    crate::check::check_outlines(project, &pages, schemas).diagnostics
}

impl Good {
    /// Replaces one file, in the site and as served.
    fn set(&mut self, path: String, bytes: Vec<u8>) {
        self.served.insert(path.clone(), served_file(&path, &bytes));
        self.files.insert(path, bytes);
    }
}

/// Files as served: pages get the live-reload script.
pub fn to_served(files: &BTreeMap<String, Vec<u8>>) -> HashMap<String, Arc<File>> {
    files
        .iter()
        .map(|(k, v)| (k.clone(), served_file(k, v)))
        .collect()
}

fn served_file(path: &str, bytes: &[u8]) -> Arc<File> {
    let bytes = if path.ends_with(".html") {
        inject_live(bytes)
    } else {
        bytes.to_vec()
    };
    Arc::new(File::new(path, bytes))
}

fn inject_live(html: &[u8]) -> Vec<u8> {
    const TAG: &[u8] = b"<script src=\"/__docs/live.js\"></script>\n";
    match html.windows(7).rposition(|w| w == b"</body>") {
        Some(at) => [&html[..at], TAG, &html[at..]].concat(),
        None => [html, TAG].concat(),
    }
}
