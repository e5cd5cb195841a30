//! One page's Markdown → HTML, with what the rest of the pipeline needs to
//! know about it: headings (for the table of contents and anchor checks),
//! code blocks with their attributes, links to other pages, and plain text
//! for the search index.

use std::collections::HashMap;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::highlight::highlighter;
use super::links::{self, LinkTarget, SiteLinks};
use super::{escape_attr, escape_html, slugify};
use crate::content::fence::{self, FenceInfo};
use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Location, Result};
use crate::values::Expanded;

pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub id: String,
    pub text: String,
    /// Line in the page's file.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct CodeBlock {
    pub info: FenceInfo,
    pub code: String,
    /// Line of the opening fence in the page's file.
    pub line: usize,
    /// Step number for runnable (`run`) blocks, from 1.
    pub step: Option<usize>,
    /// Columns of indentation of the fence (inside list items).
    pub indent: usize,
}

/// A link from this page to a page (possibly itself) and an anchor, checked
/// once every page is rendered.
#[derive(Debug, Clone)]
pub struct PageLink {
    pub target: String,
    pub anchor: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub html: String,
    pub headings: Vec<Heading>,
    pub blocks: Vec<CodeBlock>,
    pub links: Vec<PageLink>,
    /// Readable text of the page, for the search index.
    pub text: String,
    /// Whether the page starts with its own `# heading`.
    pub has_h1: bool,
    /// Text and line of the first cell of every table body row (the
    /// entries of an inventory table).
    pub first_cells: Vec<(String, usize)>,
    pub diagnostics: Vec<Diagnostic>,
}

struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// 1-based (line, column in bytes) of a byte offset.
    fn at(&self, offset: usize) -> (usize, usize) {
        let i = self.starts.partition_point(|&s| s <= offset);
        (i, offset - self.starts[i - 1] + 1)
    }
}

/// What to produce: the HTML page, or only what the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Html,
    Scan,
}

pub fn render(page: &Page, expanded: &Expanded, site: &SiteLinks, mode: Mode) -> Result<Rendered> {
    let text: &str = &expanded.text;
    let lines = Lines::new(text);
    let loc = |offset: usize| {
        let (line, col) = lines.at(offset);
        page.body_location(expanded.source_line(line), col)
    };
    let mut out = Rendered::default();
    let mut events: Vec<Event> = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut steps = 0;
    // Table state: in the head, current column, the first cell being read.
    let (mut in_head, mut column, mut cell): (bool, usize, Option<(String, usize)>) =
        (false, 0, None);
    let mut parser = Parser::new_ext(text, options()).into_offset_iter();

    while let Some((event, range)) = parser.next() {
        match event {
            Event::Start(Tag::Heading {
                level, id, classes, ..
            }) => {
                // Gather the heading's inline events to know its text.
                let mut inner = Vec::new();
                let mut plain = String::new();
                for (ev, _) in parser.by_ref() {
                    match &ev {
                        Event::End(TagEnd::Heading(_)) => break,
                        Event::Text(t) | Event::Code(t) => plain.push_str(t),
                        _ => {}
                    }
                    inner.push(ev);
                }
                let plain = plain.trim().to_string();
                let base = id.map(|i| i.to_string()).unwrap_or_else(|| slugify(&plain));
                let id = unique_id(&mut ids, base);
                let n = heading_number(level);
                if n == 1 && out.headings.is_empty() {
                    out.has_h1 = true;
                }
                let class = if classes.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"{}\"", escape_attr(&classes.join(" ")))
                };
                out.text.push_str(&plain);
                out.text.push('\n');
                out.headings.push(Heading {
                    level: n,
                    id: id.clone(),
                    text: plain,
                    line: loc(range.start).line,
                });
                let id = escape_attr(&id);
                events.push(Event::Html(format!("<h{n} id=\"{id}\"{class}>").into()));
                events.extend(inner);
                events.push(Event::Html(
                    format!("<a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to this section\">#</a></h{n}>\n").into(),
                ));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let at = loc(range.start);
                let info = match &kind {
                    CodeBlockKind::Fenced(info) => fence::parse(info).map_err(|e| {
                        // The info string starts after the fence characters.
                        let fence_len = text[range.start..]
                            .find(|c: char| c != '`' && c != '~' && c != ' ')
                            .unwrap_or(3);
                        Error::at(
                            Location::new(&at.file, at.line, at.col + fence_len + e.offset),
                            format!("malformed code block attributes: {}", e.message),
                        )
                        .with_code("attribute")
                    })?,
                    CodeBlockKind::Indented => FenceInfo::default(),
                };
                let mut code = String::new();
                for (ev, _) in parser.by_ref() {
                    match ev {
                        Event::End(TagEnd::CodeBlock) => break,
                        Event::Text(t) => code.push_str(&t),
                        _ => {}
                    }
                }
                let step = info.flag("run").then(|| {
                    steps += 1;
                    steps
                });
                out.text.push_str(&code);
                if mode == Mode::Html {
                    events.push(Event::Html(code_block_html(&info, &code, step).into()));
                }
                out.blocks.push(CodeBlock {
                    info,
                    code,
                    line: at.line,
                    step,
                    indent: at.col - 1,
                });
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = resolve(&dest_url, page, site, loc(range.start), &mut out);
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url: dest,
                    title,
                    id,
                }));
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = resolve(&dest_url, page, site, loc(range.start), &mut out);
                events.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url: dest,
                    title,
                    id,
                }));
            }
            Event::Start(Tag::TableHead) => {
                in_head = true;
                events.push(event);
            }
            Event::End(TagEnd::TableHead) => {
                in_head = false;
                events.push(event);
            }
            Event::Start(Tag::TableRow) => {
                column = 0;
                events.push(event);
            }
            Event::Start(Tag::TableCell) => {
                if column == 0 && !in_head {
                    cell = Some((String::new(), loc(range.start).line));
                }
                events.push(event);
            }
            Event::End(TagEnd::TableCell) => {
                if let Some((text, line)) = cell.take() {
                    out.first_cells.push((text.trim().to_string(), line));
                }
                column += 1;
                events.push(event);
            }
            Event::Text(t) => {
                note_text(&mut cell, &mut out.text, &t);
                events.push(Event::Text(t));
            }
            Event::Code(t) => {
                note_text(&mut cell, &mut out.text, &t);
                events.push(Event::Code(t));
            }
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Item)
            | Event::End(TagEnd::TableRow) => {
                out.text.push('\n');
                events.push(event);
            }
            other => events.push(other),
        }
    }
    if mode == Mode::Html {
        out.html.reserve(text.len() * 2);
        pulldown_cmark::html::push_html(&mut out.html, events.into_iter());
    }
    Ok(out)
}

fn resolve<'a>(
    dest: &CowStr<'a>,
    page: &Page,
    site: &SiteLinks,
    at: Location,
    out: &mut Rendered,
) -> CowStr<'a> {
    match links::resolve(page, dest, site) {
        LinkTarget::Unchanged => dest.clone(),
        LinkTarget::Page {
            href,
            target,
            anchor,
        } => {
            out.links.push(PageLink {
                target,
                anchor,
                location: at,
            });
            href.into()
        }
        LinkTarget::Broken { code, message } => {
            out.diagnostics.push(Diagnostic::error(code, at, message));
            dest.clone()
        }
    }
}

/// Inline text goes to the search text, and to the table cell being read.
fn note_text(cell: &mut Option<(String, usize)>, text: &mut String, t: &str) {
    if let Some((c, _)) = cell {
        c.push_str(t);
    }
    text.push_str(t);
    text.push(' ');
}

fn heading_number(level: HeadingLevel) -> u8 {
    level as u8
}

fn unique_id(ids: &mut HashMap<String, usize>, base: String) -> String {
    let base = if base.is_empty() {
        "section".to_string()
    } else {
        base
    };
    let n = ids.entry(base.clone()).or_insert(0);
    let id = if *n == 0 {
        base.clone()
    } else {
        format!("{base}-{n}")
    };
    *n += 1;
    if id != base {
        ids.insert(id.clone(), 1);
    }
    id
}

fn code_block_html(info: &FenceInfo, code: &str, step: Option<usize>) -> String {
    let lang = &info.lang;
    let mut classes = String::from("code");
    let mut caption = String::new();
    let mut id = String::new();
    if let Some(n) = step {
        classes.push_str(" step");
        id = format!(" id=\"step-{n}\"");
        let name = info
            .get("name")
            .map(|n| format!(" <span class=\"step-name\">{}</span>", escape_html(n)))
            .unwrap_or_default();
        let action = info.get("action").unwrap_or("shell");
        let action = format!(
            " <span class=\"step-action\">{}</span>",
            escape_html(action)
        );
        let badge = if info.flag("destructive") {
            " <span class=\"badge destructive\">destructive</span>"
        } else {
            ""
        };
        caption = format!("<figcaption class=\"step-head\"><a class=\"step-num\" href=\"#step-{n}\">Step {n}</a>{action}{name}{badge}</figcaption>");
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
    let body = highlighter().highlight(lang, code);
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
    use crate::content::parse_page;
    use crate::render::links::SiteLinks;

    fn render_one(body: &str) -> Result<Rendered> {
        let page = parse_page(
            format!("---\ntitle: T\n---\n{body}").into_bytes(),
            "a.md",
            "content/a.md".into(),
        )
        .unwrap();
        let site = SiteLinks::for_test(&["a.md", "guide/b.md"]);
        let expanded = crate::values::Expanded::unexpanded(&page.body);
        render(&page, &expanded, &site, Mode::Html)
    }

    #[test]
    fn heading_ids_are_stable_explicit_and_unique() {
        let r = render_one(
            "# Title\n\n## Why can't ArgoCD do it?\n\n## Steps {#steps}\n\n## Steps\n\n## Steps\n",
        )
        .unwrap();
        let ids: Vec<&str> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "title",
                "why-cant-argocd-do-it",
                "steps",
                "steps-1",
                "steps-2"
            ]
        );
        assert!(r.has_h1);
        assert!(
            r.html
                .contains("<h2 id=\"steps\">Steps<a class=\"anchor\" href=\"#steps\""),
            "{}",
            r.html
        );
        assert_eq!(
            r.headings[1].line, 6,
            "line in the file, after front matter"
        );
    }

    #[test]
    fn tables_footnotes_strikethrough_tasks() {
        let r = render_one(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ text[^1]\n\n- [x] done\n\n[^1]: a note\n",
        )
        .unwrap();
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("<del>old</del>"));
        assert!(r.html.contains("type=\"checkbox\""));
        assert!(r.html.contains("footnote-definition"));
    }

    #[test]
    fn runnable_blocks_become_numbered_steps() {
        let r = render_one("```bash {run name=\"check\"}\nkubectl get backups\n```\n\n```yaml {example}\na: 1\n```\n\n```bash {run}\necho hi\n```\n").unwrap();
        assert_eq!(
            r.blocks.iter().map(|b| b.step).collect::<Vec<_>>(),
            [Some(1), None, Some(2)]
        );
        assert!(r.html.contains("id=\"step-1\""), "{}", r.html);
        assert!(r.html.contains(
            "Step 1</a> <span class=\"step-action\">shell</span> <span class=\"step-name\">check</span>"
        ));
        assert!(r.html.contains("Step 2</a>"));
        assert!(r.html.contains("not checked against the manifests"));
        assert_eq!(r.blocks[0].line, 4);
    }

    #[test]
    fn sourced_blocks_say_what_they_match() {
        let r =
            render_one("```yaml {source=\"db/cluster.yaml\" select=\"spec.backup\"}\nx: 1\n```\n")
                .unwrap();
        assert!(
            r.html
                .contains("Matches <code>db/cluster.yaml</code> · <code>spec.backup</code>"),
            "{}",
            r.html
        );
        assert_eq!(r.blocks[0].info.get("select"), Some("spec.backup"));
    }

    #[test]
    fn malformed_attributes_are_a_located_error() {
        let err = render_one("text\n\n```yaml {source=\"x}\nx: 1\n```\n").unwrap_err();
        let loc = err.location.clone().unwrap();
        assert_eq!((loc.line, loc.col), (6, 17), "{err}");
        assert!(err.message.contains("unterminated"));
    }

    #[test]
    fn links_between_pages_are_rewritten_and_checked() {
        let r = render_one(
            "[b](guide/b.md#intro) [self](#top) [ext](https://example.org/x.md) [gone](nope.md)\n",
        )
        .unwrap();
        assert!(r.html.contains("href=\"guide/b.html#intro\""), "{}", r.html);
        assert!(r.html.contains("href=\"https://example.org/x.md\""));
        assert_eq!(r.links.len(), 2);
        assert_eq!(r.links[0].target, "guide/b.md");
        assert_eq!(r.links[0].anchor.as_deref(), Some("intro"));
        assert_eq!(r.links[1].target, "a.md");
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(r.diagnostics[0].code, "broken-link");
        assert_eq!(r.diagnostics[0].location.line, 4);
    }

    #[test]
    fn first_table_cells_are_collected() {
        let r =
            render_one("| Secret | Keys |\n|---|---|\n| `a-secret` | x |\n| b | y |\n").unwrap();
        assert_eq!(
            r.first_cells,
            [("a-secret".to_string(), 6), ("b".to_string(), 7)]
        );
    }

    #[test]
    fn search_text_includes_prose_and_code() {
        let r = render_one("## Verify\n\nRun `kubectl` now.\n\n```sql\nSELECT 1;\n```\n").unwrap();
        assert!(r.text.contains("Verify"));
        assert!(r.text.contains("kubectl"));
        assert!(r.text.contains("SELECT 1;"));
    }
}
