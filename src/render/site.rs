//! The whole site in memory: every page rendered through the theme, plus
//! the navigation, search index, sitemap, 404 page and static files.
//! `docs build` writes it to disk; `docs serve` serves it from memory.

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{context, Value};
use serde::Serialize;

use super::links::{root_prefix, SiteLinks};
use super::markdown::{self, Rendered};
use super::search::{self, SearchDoc};
use super::theme::Theme;
use crate::check::schema::Schemas;
use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::project::Project;
use crate::values::Values;

#[derive(Default)]
pub struct Site {
    /// Site-relative path → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize)]
struct NavLink {
    title: String,
    url: String,
}

#[derive(Serialize)]
struct TocEntry<'a> {
    level: u8,
    id: &'a str,
    text: &'a str,
}

/// One rendered page: what the checks need, its final HTML, and its part
/// of the search index.
pub struct PageOut {
    pub rendered: Rendered,
    pub html: String,
    pub terms: Vec<String>,
    pub snippet: String,
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
        }
    }

    /// Renders page `i` of the project's pages.
    pub fn page(&self, i: usize) -> Result<PageOut> {
        let page = &self.project.content.pages[i];
        let expanded = self.values.expand(page)?;
        let mut rendered = markdown::render(page, &expanded, &self.links, markdown::Mode::Html)?;
        let html = std::mem::take(&mut rendered.html);
        let toc: Vec<TocEntry> = rendered
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
            source => page.display.to_string_lossy(),
            runbook => page.front.runbook,
            has_h1 => rendered.has_h1,
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
        rendered.text = String::new();
        Ok(PageOut {
            rendered,
            html,
            terms,
            snippet,
        })
    }

    /// Renders every page, on all cores.
    pub fn all_pages(&self) -> Result<Vec<PageOut>> {
        parallel_map(self.project.content.pages.len(), |i| self.page(i))
    }

    /// The checks of `docs check` on rendered pages. CLAUDE.md is left out:
    /// building is what regenerates it.
    pub fn check(&self, outs: &[PageOut], schemas: Option<&Schemas>) -> Vec<Diagnostic> {
        let pairs: Vec<(&Page, &markdown::Rendered)> = self
            .project
            .content
            .pages
            .iter()
            .zip(outs)
            .map(|(p, o)| (p, &o.rendered))
            .collect();
        let mut diags =
            crate::check::check_rendered(self.project, &pairs, schemas, &self.values).diagnostics;
        diags.retain(|d| d.code != "claude-md-stale");
        diags
    }

    /// The search index of the rendered pages.
    pub fn search_index(&self, outs: &[PageOut]) -> String {
        let docs: Vec<SearchDoc> = self
            .project
            .content
            .pages
            .iter()
            .zip(outs)
            .map(|(p, o)| SearchDoc {
                title: &p.title,
                url: &p.url,
                description: p.front.description.as_deref(),
                headings: o
                    .rendered
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

    /// Every file of the site, from rendered pages.
    pub fn files(&self, outs: &[PageOut]) -> Result<BTreeMap<String, Vec<u8>>> {
        let project = self.project;
        let pages = &project.content.pages;
        let mut files = BTreeMap::new();
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
            self.search_index(outs).into_bytes(),
        );
        files.insert("nav.js".into(), nav_js(&self.nav).into_bytes());
        files.insert(
            "sitemap.xml".into(),
            sitemap(&project.config.base_url, pages).into_bytes(),
        );
        for (page, out) in pages.iter().zip(outs) {
            files.insert(page.url.clone(), out.html.clone().into_bytes());
        }
        for (name, bytes) in &self.theme.assets {
            files.insert(name.clone(), bytes.clone());
        }
        let content_dir = project.root.join(&project.config.content_dir);
        for rel in &project.content.assets {
            files.insert(
                rel.clone(),
                crate::content::read_inside(&content_dir, rel, &project.config.content_dir)?,
            );
        }
        Ok(files)
    }
}

/// Renders the site. With `check`, runs the checks of `docs check` on the
/// rendered pages (validating against `schemas` when given).
pub fn build(
    project: &Project,
    theme: &Theme,
    check: bool,
    schemas: Option<&Schemas>,
) -> Result<Site> {
    let r = Renderer::new(project, theme);
    let outs = r.all_pages()?;
    let diagnostics = if check {
        r.check(&outs, schemas)
    } else {
        Vec::new()
    };
    Ok(Site {
        files: r.files(&outs)?,
        diagnostics,
    })
}

/// Runs `f(0..n)` on all cores, keeping order; the first error (in page
/// order) wins.
fn parallel_map<T: Send>(n: usize, f: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n.max(1));
    if threads <= 1 || n < 8 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    let f = &f;
    let parts: Vec<Vec<Result<T>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(f)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("render thread panicked"))
            .collect()
    });
    parts.into_iter().flatten().collect()
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
