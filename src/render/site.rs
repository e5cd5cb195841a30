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
struct NavLink<'a> {
    title: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct TocEntry<'a> {
    level: u8,
    id: &'a str,
    text: &'a str,
}

struct PageOut {
    rendered: Rendered,
    html: String,
    terms: Vec<String>,
    snippet: String,
}

/// Renders the site. With `check`, runs the checks of `docs check` on the
/// rendered pages (validating against `schemas` when given).
pub fn build(
    project: &Project,
    theme: &Theme,
    check: bool,
    schemas: Option<&Schemas>,
) -> Result<Site> {
    let pages = &project.content.pages;
    let values = Values::new(project.manifests.clone());
    let links = SiteLinks::new(
        &project.content,
        project.root.join(&project.config.content_dir),
    );
    let site_ctx = context! {
        title => &project.config.title,
        description => &project.config.description,
        base_url => &project.config.base_url,
    };
    let nav: Vec<NavLink> = pages
        .iter()
        .map(|p| NavLink {
            title: &p.title,
            url: &p.url,
        })
        .collect();
    // Converted once: templates that list every page share one value.
    let nav_value = Value::from(Serde(&nav));

    let render_one = |i: usize| -> Result<PageOut> {
        let page = &pages[i];
        let expanded = values.expand(page)?;
        let mut rendered = markdown::render(page, &expanded, &links, markdown::Mode::Html)?;
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
            prev => Serde(i.checked_sub(1).map(|j| &nav[j])),
            next => Serde(nav.get(i + 1)),
        };
        let template = if page.is_home() {
            "index.html"
        } else {
            "page.html"
        };
        let html = theme.render(
            template,
            context! { site => &site_ctx, page => page_ctx, root => root_prefix(&page.url), pages => nav_value.clone() },
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
    };
    let outs = parallel_map(pages.len(), render_one)?;

    let mut site = Site::default();
    if check {
        let pairs: Vec<(&Page, &markdown::Rendered)> = pages
            .iter()
            .zip(&outs)
            .map(|(p, o)| (p, &o.rendered))
            .collect();
        site.diagnostics =
            crate::check::check_rendered(project, &pairs, schemas, &values).diagnostics;
        // Building is what regenerates CLAUDE.md: it is never stale here.
        site.diagnostics.retain(|d| d.code != "claude-md-stale");
    }
    if !pages.iter().any(Page::is_home) {
        let home = context! { title => &project.config.title, url => "index.html", toc => Value::from(Vec::<Value>::new()) };
        let html = theme.render(
            "index.html",
            context! { site => &site_ctx, page => home, root => "", pages => nav_value.clone() },
        )?;
        site.files.insert("index.html".into(), html.into_bytes());
    }
    let not_found = context! { title => "Page not found", url => "404.html" };
    let html = theme.render(
        "404.html",
        context! { site => &site_ctx, page => not_found, root => &project.config.base_url, pages => nav_value },
    )?;
    site.files.insert("404.html".into(), html.into_bytes());

    let docs: Vec<SearchDoc> = pages
        .iter()
        .zip(&outs)
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
    site.files
        .insert("search-index.js".into(), search::build(&docs).into_bytes());
    site.files
        .insert("nav.js".into(), nav_js(&nav).into_bytes());
    site.files.insert(
        "sitemap.xml".into(),
        sitemap(&project.config.base_url, pages).into_bytes(),
    );
    for (page, out) in pages.iter().zip(outs) {
        site.files.insert(page.url.clone(), out.html.into_bytes());
    }
    for (name, bytes) in &theme.assets {
        site.files.insert(name.clone(), bytes.clone());
    }
    let content_dir = project.root.join(&project.config.content_dir);
    for rel in &project.content.assets {
        let bytes = std::fs::read(content_dir.join(rel)).map_err(|e| {
            crate::error::Error::io(&project.config.content_dir.join(rel), "read", e)
        })?;
        site.files.insert(rel.clone(), bytes);
    }
    Ok(site)
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
    let data: Vec<(&str, &str)> = nav.iter().map(|n| (n.title, n.url)).collect();
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
