//! One page's Markdown → HTML, walking the events of the page's outline
//! pass: headings get the ids the outline gave them, code blocks are
//! highlighted (runbook steps shown as numbered steps, sourced blocks with
//! the manifest they match), links to other pages are rewritten relative
//! to the page. Also collects the page's readable text for search.

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

use super::highlight::highlighter;
use super::{escape_attr, escape_html};
use crate::content::fence::FenceInfo;
use crate::content::links::{LinkTarget, SiteLinks};
use crate::content::outline::{CodeBlock, Events, Outline};
use crate::content::Page;
use crate::runbook::Step;

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub html: String,
    /// Readable text of the page, for the search index.
    pub text: String,
}

/// What the site says about a runbook's steps: the name `docs run` knows
/// the runbook by, and its parsed steps (by number).
pub struct RunbookInfo<'a> {
    pub name: &'a str,
    pub steps: &'a [Step],
}

pub fn render(
    page: &Page,
    outline: &Outline,
    events: Events,
    links: &SiteLinks,
    runbook: Option<&RunbookInfo>,
) -> Rendered {
    let mut out = Rendered::default();
    let mut html_events: Vec<Event> = Vec::with_capacity(events.len());
    let mut headings = outline.headings.iter();
    let mut blocks = outline.blocks.iter();
    let mut events = events.into_iter();
    while let Some((event, _)) = events.next() {
        match event {
            Event::Start(Tag::Heading { level, classes, .. }) => {
                let mut inner = Vec::new();
                for (ev, _) in events.by_ref() {
                    if matches!(ev, Event::End(TagEnd::Heading(_))) {
                        break;
                    }
                    inner.push(ev);
                }
                let Some(h) = headings.next() else { continue };
                let n = level as u8;
                let class = if classes.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"{}\"", escape_attr(&classes.join(" ")))
                };
                out.text.push_str(&h.text);
                out.text.push('\n');
                let id = escape_attr(&h.id);
                html_events.push(Event::Html(format!("<h{n} id=\"{id}\"{class}>").into()));
                html_events.extend(inner);
                html_events.push(Event::Html(
                    format!("<a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to this section\">#</a></h{n}>\n").into(),
                ));
            }
            Event::Start(Tag::CodeBlock(_)) => {
                for (ev, _) in events.by_ref() {
                    if matches!(ev, Event::End(TagEnd::CodeBlock)) {
                        break;
                    }
                }
                let Some(block) = blocks.next() else { continue };
                out.text.push_str(&block.code);
                let step = block
                    .step
                    .and_then(|n| runbook.and_then(|r| r.steps.iter().find(|s| s.number == n)));
                html_events.push(Event::Html(
                    code_block_html(block, step, runbook.map(|r| r.name)).into(),
                ));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => html_events.push(Event::Start(Tag::Link {
                link_type,
                dest_url: rewrite(&dest_url, page, links),
                title,
                id,
            })),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => html_events.push(Event::Start(Tag::Image {
                link_type,
                dest_url: rewrite(&dest_url, page, links),
                title,
                id,
            })),
            Event::Text(t) => {
                out.text.push_str(&t);
                out.text.push(' ');
                html_events.push(Event::Text(t));
            }
            Event::Code(t) => {
                out.text.push_str(&t);
                out.text.push(' ');
                html_events.push(Event::Code(t));
            }
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Item)
            | Event::End(TagEnd::TableRow) => {
                out.text.push('\n');
                html_events.push(event);
            }
            other => html_events.push(other),
        }
    }
    out.html.reserve(page.body.len() * 2);
    pulldown_cmark::html::push_html(&mut out.html, html_events.into_iter());
    out
}

/// A link as the built page needs it; broken links are left as written
/// (the checker reports them).
fn rewrite<'a>(dest: &CowStr<'a>, page: &Page, links: &SiteLinks) -> CowStr<'a> {
    match links.resolve(page, dest) {
        LinkTarget::Page { href, .. } => href.into(),
        LinkTarget::Unchanged | LinkTarget::Broken(_) => dest.clone(),
    }
}

fn code_block_html(block: &CodeBlock, step: Option<&Step>, runbook: Option<&str>) -> String {
    let info: &FenceInfo = &block.info;
    let lang = &info.lang;
    let mut classes = String::from("code");
    let mut caption = String::new();
    let mut id = String::new();
    if let Some(n) = block.step {
        classes.push_str(" step");
        id = format!(" id=\"step-{n}\"");
        let name = info.get("name");
        let name_html = name
            .map(|n| format!(" <span class=\"step-name\">{}</span>", escape_html(n)))
            .unwrap_or_default();
        let kind = step
            .map(Step::kind_name)
            .or_else(|| info.get("action"))
            .unwrap_or("shell");
        let destructive = step.map_or(info.flag("destructive"), |s| s.destructive);
        let badge = if destructive {
            " <span class=\"badge destructive\">destructive</span>"
        } else {
            ""
        };
        let command = match (runbook, name) {
            (Some(rb), Some(name)) => {
                let cmd = format!("docs run {rb} --only {name}");
                format!(
                    "<div class=\"step-run\"><code>{}</code><button class=\"copy\" type=\"button\" data-copy=\"{}\" aria-label=\"Copy the command\">Copy</button></div>",
                    escape_html(&cmd),
                    escape_attr(&cmd)
                )
            }
            _ => String::new(),
        };
        caption = format!(
            "<figcaption class=\"step-head\"><a class=\"step-num\" href=\"#step-{n}\">Step {n}</a> <span class=\"step-action\">{}</span>{name_html}{badge}{command}</figcaption>",
            escape_html(kind)
        );
    } else if let Some(source) = info.get("source") {
        classes.push_str(" sourced");
        let mut what = format!("<code>{}</code>", escape_html(source));
        if let Some(doc) = info.get("doc") {
            what.push_str(&format!(" · <code>{}</code>", escape_html(doc)));
        }
        if let Some(sel) = info.get("select") {
            what.push_str(&format!(" · <code>{}</code>", escape_html(sel)));
        }
        let verb = if info.flag("excerpt") {
            "Excerpt of"
        } else {
            "Matches"
        };
        caption = format!("<figcaption class=\"source\">{verb} {what}</figcaption>");
    } else if info.flag("example") {
        classes.push_str(" example");
        caption = "<figcaption class=\"example\">Example — not checked against the manifests</figcaption>".into();
    }
    let body = highlighter().highlight(lang, &block.code);
    let lang_attr = if lang.is_empty() {
        String::new()
    } else {
        format!(" data-lang=\"{}\"", escape_attr(lang))
    };
    let code_class = if lang.is_empty() {
        String::new()
    } else {
        format!(" class=\"language-{}\"", escape_attr(lang))
    };
    format!("<figure class=\"{classes}\"{id}{lang_attr}>{caption}<pre><code{code_class}>{body}</code></pre></figure>\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{parse_page, Expanded};
    use crate::runbook::Runbook;

    fn render_one(body: &str) -> Rendered {
        let page = parse_page(
            format!("---\ntitle: T\nrunbook: true\n---\n{body}").into_bytes(),
            "a.md",
            "content/a.md".into(),
        )
        .unwrap();
        let links = SiteLinks::for_test(&["a.md", "guide/b.md"]);
        let expanded = Expanded::unexpanded(&page.body);
        let (outline, events) = Outline::with_events(&page, &expanded).unwrap();
        let (rb, _) = Runbook::read(&page, &outline);
        let info = RunbookInfo {
            name: "a",
            steps: &rb.steps,
        };
        render(&page, &outline, events, &links, Some(&info))
    }

    #[test]
    fn headings_get_the_outline_ids_and_anchors() {
        let r = render_one("# Title\n\n## Steps {#steps}\n\n## Steps\n");
        assert!(
            r.html
                .contains("<h2 id=\"steps\">Steps<a class=\"anchor\" href=\"#steps\""),
            "{}",
            r.html
        );
        assert!(r.html.contains("<h2 id=\"steps-1\">"), "{}", r.html);
    }

    #[test]
    fn tables_footnotes_strikethrough_tasks() {
        let r = render_one(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ text[^1]\n\n- [x] done\n\n[^1]: a note\n",
        );
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("<del>old</del>"));
        assert!(r.html.contains("type=\"checkbox\""));
        assert!(r.html.contains("footnote-definition"));
    }

    #[test]
    fn runnable_blocks_are_steps_with_kind_name_and_command() {
        let r = render_one("```bash {run name=\"check\"}\nkubectl get backups\n```\n\n```yaml {example}\na: 1\n```\n\n```yaml {run action=delete name=drop}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n```\n");
        assert!(r.html.contains("id=\"step-1\""), "{}", r.html);
        assert!(r.html.contains(
            "Step 1</a> <span class=\"step-action\">shell</span> <span class=\"step-name\">check</span>"
        ), "{}", r.html);
        assert!(r.html.contains("Step 2</a> <span class=\"step-action\">delete</span> <span class=\"step-name\">drop</span> <span class=\"badge destructive\">destructive</span>"), "{}", r.html);
        assert!(
            r.html.contains("<code>docs run a --only drop</code>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("data-copy=\"docs run a --only check\""));
        assert!(r.html.contains("not checked against the manifests"));
    }

    #[test]
    fn sourced_blocks_say_what_they_match() {
        let r =
            render_one("```yaml {source=\"db/cluster.yaml\" select=\"spec.backup\"}\nx: 1\n```\n");
        assert!(
            r.html
                .contains("Matches <code>db/cluster.yaml</code> · <code>spec.backup</code>"),
            "{}",
            r.html
        );
    }

    #[test]
    fn links_between_pages_are_rewritten() {
        let r = render_one(
            "[b](guide/b.md#intro) [self](#top) [ext](https://example.org/x.md) [gone](nope.md)\n",
        );
        assert!(r.html.contains("href=\"guide/b.html#intro\""), "{}", r.html);
        assert!(r.html.contains("href=\"https://example.org/x.md\""));
        assert!(
            r.html.contains("href=\"nope.md\""),
            "broken links stay as written"
        );
    }

    #[test]
    fn search_text_includes_prose_and_code() {
        let r = render_one("## Verify\n\nRun `kubectl` now.\n\n```sql\nSELECT 1;\n```\n");
        assert!(r.text.contains("Verify"));
        assert!(r.text.contains("kubectl"));
        assert!(r.text.contains("SELECT 1;"));
    }
}
