//! The site: every page rendered through the theme, plus the navigation,
//! search index, sitemap, 404 page and static files. `docs build` streams
//! the pages out as they are rendered and keeps only what the search index
//! and the checks need of each ([`PageInfo`]); `docs serve` holds the whole
//! site in memory.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use minijinja::value::Serde;
use minijinja::{context, Value};
use serde::Serialize;

use rayon::prelude::*;

use super::markdown::{self, RunbookInfo};
use super::search::{self, SearchDoc, Terms};
use super::theme::Theme;
use crate::content::links::SiteLinks;
use crate::content::outline::Outline;
use crate::content::Page;
use crate::error::Result;
use crate::project::Project;
use crate::runbook::{self, Runbook};
use crate::values::Values;

#[derive(Serialize)]
struct NavLink {
    title: String,
    url: String,
}

#[derive(Serialize)]
struct StepEntry<'a> {
    number: usize,
    name: &'a str,
    kind: &'a str,
    destructive: bool,
}

#[derive(Serialize)]
struct TocEntry<'a> {
    level: u8,
    id: &'a str,
    text: &'a str,
}

/// Files of the site: site-relative path → bytes.
pub type Files = BTreeMap<String, Vec<u8>>;

/// What is kept of a rendered page once its HTML is out: its outline (for
/// the checks) and its part of the search index.
pub struct PageInfo {
    pub outline: Outline,
    pub terms: Terms,
    pub snippet: String,
}

/// One rendered page: its final HTML, and what is kept of it.
pub struct PageOut {
    pub info: PageInfo,
    pub html: String,
}

/// Renders pages and site files of one project with one theme.
pub struct Renderer<'a> {
    project: &'a Project,
    theme: &'a Theme,
    pub values: Values,
    links: SiteLinks,
    site_ctx: Value,
    nav: Vec<NavLink>,
    /// Converted once: templates that list every page share one value.
    nav_value: Value,
    /// Paths of theme and content files.
    taken: HashSet<String>,
}

impl<'a> Renderer<'a> {
    pub fn new(project: &'a Project, theme: &'a Theme) -> Self {
        let nav: Vec<NavLink> = project
            .content
            .pages
            .iter()
            .map(|p| NavLink {
                title: p.title.clone(),
                url: p.url.clone(),
            })
            .collect();
        Renderer {
            project,
            theme,
            values: Values::new(project.manifests.clone()),
            links: SiteLinks::new(
                &project.content,
                project.root.join(&project.config.content_dir),
            ),
            site_ctx: context! {
                title => &project.config.title,
                description => &project.config.description,
                base_url => &project.config.base_url,
            },
            nav_value: Value::from(Serde(&nav)),
            nav,
            taken: theme
                .assets
                .keys()
                .chain(&project.content.assets)
                .cloned()
                .collect(),
        }
    }

    /// Renders page `i` of the project's pages.
    pub fn page(&self, i: usize) -> Result<PageOut> {
        let page = &self.project.content.pages[i];
        let expanded = self.values.expand(page)?;
        let (outline, events) = Outline::with_events(page, &expanded)?;
        let runbook_name = runbook::stem(page);
        let steps = if page.front.runbook {
            Runbook::read(page, &outline).0.steps
        } else {
            Vec::new()
        };
        let info = RunbookInfo {
            name: &runbook_name,
            steps: &steps,
        };
        let rendered = markdown::render(
            page,
            &outline,
            events,
            &self.links,
            page.front.runbook.then_some(&info),
        );
        let html = rendered.html;
        let step_list: Vec<StepEntry> = steps
            .iter()
            .map(|s| StepEntry {
                number: s.number,
                name: &s.name,
                kind: s.kind_name(),
                destructive: s.destructive,
            })
            .collect();
        let toc: Vec<TocEntry> = outline
            .headings
            .iter()
            .filter(|h| (2..=3).contains(&h.level))
            .map(|h| TocEntry {
                level: h.level,
                id: &h.id,
                text: &h.text,
            })
            .collect();
        let page_ctx = context! {
            title => &page.title,
            description => &page.front.description,
            url => &page.url,
            source => page.file.to_string_lossy(),
            runbook => page.front.runbook.then_some(&runbook_name),
            steps => Serde(&step_list),
            has_h1 => outline.has_h1,
            toc => Serde(&toc),
            content => Value::from_safe_string(html),
            prev => Serde(i.checked_sub(1).map(|j| &self.nav[j])),
            next => Serde(self.nav.get(i + 1)),
        };
        let template = if page.is_home() {
            "index.html"
        } else {
            "page.html"
        };
        let html = self.theme.render(
            template,
            context! { site => &self.site_ctx, page => page_ctx, root => root_prefix(&page.url), pages => self.nav_value.clone() },
        )?;
        let terms = search::page_terms(&page.title, &rendered.text);
        let snippet = search::snippet(&rendered.text);
        Ok(PageOut {
            info: PageInfo {
                outline,
                terms,
                snippet,
            },
            html,
        })
    }

    /// Renders every page, on all cores; the first error in page order wins.
    pub fn all_pages(&self) -> Result<Vec<PageOut>> {
        self.each_page(|_, out| Ok(out))
    }

    /// Renders every page on all cores, handing each page's HTML to `emit`
    /// (with the page's index and URL) as soon as it is rendered, so that
    /// the site's pages are never all in memory at once. A page whose URL a
    /// theme or content file takes ([`Renderer::shadowed`]) is not emitted.
    /// The first error in page order wins.
    pub fn stream_pages<F>(&self, emit: F) -> Result<Vec<PageInfo>>
    where
        F: Fn(usize, &str, String) -> Result<()> + Sync,
    {
        self.each_page(|i, out| {
            let url = &self.project.content.pages[i].url;
            if !self.shadowed(url) {
                emit(i, url, out.html)?;
            }
            Ok(out.info)
        })
    }

    /// Renders page `i` and passes it to `then`, for every page on all
    /// cores. Once page `k` fails, pages after `k` are skipped: the error
    /// returned is the first in page order, whichever thread saw it first.
    fn each_page<T, F>(&self, then: F) -> Result<Vec<T>>
    where
        T: Send,
        F: Fn(usize, PageOut) -> Result<T> + Sync,
    {
        let failed = AtomicUsize::new(usize::MAX);
        let results: Vec<Option<Result<T>>> = (0..self.project.content.pages.len())
            .into_par_iter()
            .map(|i| {
                if i > failed.load(Ordering::Relaxed) {
                    return None;
                }
                let result = self.page(i).and_then(|out| then(i, out));
                if result.is_err() {
                    failed.fetch_min(i, Ordering::Relaxed);
                }
                Some(result)
            })
            .collect();
        // Every page before the first failure ran, so the first error (or,
        // without one, every page) is found in order.
        results.into_iter().map_while(|r| r).collect()
    }

    /// Whether a theme or content file has the URL `url`: the file wins
    /// over a page there, as it always has.
    pub fn shadowed(&self, url: &str) -> bool {
        self.taken.contains(url)
    }

    /// The search index of the rendered pages.
    pub fn search_index(&self, infos: &[PageInfo]) -> String {
        let docs: Vec<SearchDoc> = self
            .project
            .content
            .pages
            .iter()
            .zip(infos)
            .map(|(p, o)| SearchDoc {
                title: &p.title,
                url: &p.url,
                description: p.front.description.as_deref(),
                headings: o
                    .outline
                    .headings
                    .iter()
                    .filter(|h| h.level > 1)
                    .map(|h| (h.id.as_str(), h.text.as_str()))
                    .collect(),
                snippet: &o.snippet,
                terms: &o.terms,
            })
            .collect();
        search::build(&docs)
    }

    /// Every file of the site, from rendered pages (what `docs serve`
    /// holds), and what is kept of each page.
    pub fn files(&self, outs: Vec<PageOut>) -> Result<(Files, Vec<PageInfo>)> {
        let mut infos = Vec::with_capacity(outs.len());
        let mut pages = BTreeMap::new();
        for (page, out) in self.project.content.pages.iter().zip(outs) {
            if !self.shadowed(&page.url) {
                pages.insert(page.url.clone(), out.html.into_bytes());
            }
            infos.push(out.info);
        }
        let mut files = self.site_files(&infos)?;
        files.append(&mut pages);
        Ok((files, infos))
    }

    /// Every file of the site but the pages: the home page if no page is
    /// one, the 404 page, search index, navigation script, sitemap, theme
    /// and content files. Where paths collide, a theme or content file wins
    /// over a page ([`Renderer::shadowed`]), and a page over the files made
    /// here (which are then left out).
    pub fn site_files(&self, infos: &[PageInfo]) -> Result<Files> {
        let project = self.project;
        let pages = &project.content.pages;
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if !pages.iter().any(Page::is_home) {
            let home = context! { title => &project.config.title, url => "index.html", toc => Value::from(Vec::<Value>::new()) };
            let html = self.theme.render("index.html", context! { site => &self.site_ctx, page => home, root => "", pages => self.nav_value.clone() })?;
            files.insert("index.html".into(), html.into_bytes());
        }
        let not_found = context! { title => "Page not found", url => "404.html" };
        let html = self.theme.render(
            "404.html",
            context! { site => &self.site_ctx, page => not_found, root => &project.config.base_url, pages => self.nav_value.clone() },
        )?;
        files.insert("404.html".into(), html.into_bytes());
        files.insert(
            "search-index.js".into(),
            self.search_index(infos).into_bytes(),
        );
        files.insert("nav.js".into(), nav_js(&self.nav).into_bytes());
        files.insert(
            "sitemap.xml".into(),
            sitemap(&project.config.base_url, pages).into_bytes(),
        );
        let urls: HashSet<&str> = pages.iter().map(|p| p.url.as_str()).collect();
        files.retain(|path, _| !urls.contains(path.as_str()));
        for (name, bytes) in &self.theme.assets {
            files.insert(name.clone(), bytes.clone());
        }
        let content_dir = project.root.join(&project.config.content_dir);
        if !project.content.assets.is_empty() {
            let inside = crate::content::Inside::new(&content_dir, &project.config.content_dir)?;
            for rel in &project.content.assets {
                files.insert(rel.clone(), inside.read(rel)?);
            }
        }
        Ok(files)
    }
}

/// One script for the sidebar of every page, so that pages do not each
/// carry a copy of the whole navigation (output stays linear in pages).
fn nav_js(nav: &[NavLink]) -> String {
    let data: Vec<(&str, &str)> = nav
        .iter()
        .map(|n| (n.title.as_str(), n.url.as_str()))
        .collect();
    format!(
        "window.DOCS_NAV={};\n{}",
        serde_json::to_string(&data).expect("nav serializes"),
        r#"(function(){var s=document.currentScript,b=document.body,r=b.dataset.root||"",c=b.dataset.page,ul=document.createElement("ul");
window.DOCS_NAV.forEach(function(e){var li=document.createElement("li"),a=document.createElement("a");a.href=r+e[1];a.textContent=e[0];if(e[1]===c)a.setAttribute("aria-current","page");li.appendChild(a);ul.appendChild(li);});
s.parentNode.insertBefore(ul,s);var cur=ul.querySelector("[aria-current]");if(cur&&cur.scrollIntoView&&cur.offsetTop>window.innerHeight/2)s.parentNode.scrollTop=cur.offsetTop-100;})();
"#
    )
}

/// `../` repeated once per directory level of a site-relative URL.
pub fn root_prefix(url: &str) -> String {
    "../".repeat(url.matches('/').count())
}

fn sitemap(base_url: &str, pages: &[Page]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    let mut urls: Vec<&str> = vec!["index.html"];
    urls.extend(
        pages
            .iter()
            .filter(|p| !p.is_home())
            .map(|p| p.url.as_str()),
    );
    for url in urls {
        out.push_str(&format!(
            "  <url><loc>{}{}</loc></url>\n",
            super::escape_html(base_url),
            super::escape_html(url)
        ));
    }
    out.push_str("</urlset>\n");
    out
}
