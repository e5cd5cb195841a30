//! The whole site in memory: every page rendered through the theme, plus
//! the navigation, search index, sitemap, 404 page and static files.
//! `docs build` writes it to disk; `docs serve` serves it from memory.

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{context, Value};
use serde::Serialize;

use rayon::prelude::*;

use super::markdown::{self, RunbookInfo};
use super::search::{self, SearchDoc};
use super::theme::Theme;
use crate::content::links::SiteLinks;
use crate::content::outline::Outline;
use crate::content::Page;
use crate::error::Result;
use crate::project::Project;
use crate::runbook::{self, Runbook};
use crate::values::Values;

/// The rendered site: every file, and the outline of every page (what the
/// checks of the command that built it read).
#[derive(Default)]
pub struct Site {
    /// Site-relative path → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    pub outlines: Vec<Outline>,
}

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

/// One rendered page: its outline (for the checks), its final HTML, and
/// its part of the search index.
pub struct PageOut {
    pub outline: Outline,
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
            outline,
            html,
            terms,
            snippet,
        })
    }

    /// Renders every page, on all cores; the first error in page order wins.
    pub fn all_pages(&self) -> Result<Vec<PageOut>> {
        (0..self.project.content.pages.len())
            .into_par_iter()
            .map(|i| self.page(i))
            .collect()
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

/// Renders the site: every file, and the pages' outlines for the checks
/// the command decides to run.
pub fn build(project: &Project, theme: &Theme) -> Result<Site> {
    let r = Renderer::new(project, theme);
    let outs = r.all_pages()?;
    let files = r.files(&outs)?;
    Ok(Site {
        files,
        outlines: outs.into_iter().map(|o| o.outline).collect(),
    })
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
