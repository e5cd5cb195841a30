//! The outline of a page: its headings (with the anchors the site gives
//! them), its code blocks (fence attributes, text, position, step number),
//! its links and the first cells of its tables — everything later stages
//! need, from one pulldown-cmark pass with one set of parser options.
//!
//! The renderer, the checker and the runbook all read this outline, so the
//! site's "Step 6" and `docs run --from 6` cannot disagree, and an anchor
//! the checker accepts is one the site has.

use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::fence::{self, FenceInfo};
use super::{Expanded, Page};
use crate::code::Code;
use crate::error::{Error, Location, Result};

/// The Markdown extensions every reader of a page uses.
pub fn parser_options() -> Options {
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
    /// Columns (characters) of indentation of the fence, inside list items.
    pub indent: usize,
    /// Step number of a runnable (`run`) block, from 1, in document order.
    pub step: Option<usize>,
}

/// A link or image as written in the page.
#[derive(Debug, Clone)]
pub struct Link {
    pub dest: String,
    pub location: Location,
}

#[derive(Debug, Clone, Default)]
pub struct Outline {
    pub headings: Vec<Heading>,
    pub blocks: Vec<CodeBlock>,
    pub links: Vec<Link>,
    /// Text and line of the first cell of every table body row (the
    /// entries of an inventory table).
    pub table_rows: Vec<(String, usize)>,
    /// Whether the page starts with its own `# heading`.
    pub has_h1: bool,
}

/// Events of a page with their byte ranges in the expanded text, for a
/// renderer that walks them along with the outline.
pub type Events<'t> = Vec<(Event<'t>, Range<usize>)>;

/// pulldown-cmark panicked on a text: from this line on (1-based) it no
/// longer parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserPanic {
    pub line: usize,
}

impl ParserPanic {
    /// The error to report, at `location` (the line in the page's file).
    /// The panic's own message (a slice of the page, an assertion of the
    /// parser) would not help the author; what to do does.
    pub fn into_error(self, location: Location) -> Error {
        Error::at(
            location,
            "the Markdown parser (pulldown-cmark) fails on the page from this line (a bug of \
             the parser); rewording the line, or the heading or block quote it is in, avoids it",
        )
        .with_code(Code::Markdown)
    }
}

/// The events of Markdown `text` with their byte ranges, read by every
/// reader of a page. pulldown-cmark 0.13.6 panics on some inputs (the
/// outline fuzzer found `>}\nn\n> {}\n>=`, an attribute block in a setext
/// heading in a block quote); that becomes an error at the first line
/// from which the text no longer parses, not a crash.
pub fn events(text: &str) -> std::result::Result<Events<'_>, ParserPanic> {
    fn parse(t: &str) -> Events<'_> {
        Parser::new_ext(t, parser_options())
            .into_offset_iter()
            .collect()
    }
    crate::error::catch_quietly(|| parse(text)).map_err(|_| {
        // Only on failure: the shortest prefix of whole lines that fails.
        let ends = text.match_indices('\n').map(|(i, _)| i + 1);
        let line = ends
            .chain(std::iter::once(text.len()))
            .position(|end| crate::error::catch_quietly(|| parse(&text[..end]).len()).is_err())
            .map_or(1, |i| i + 1);
        ParserPanic { line }
    })
}

impl Outline {
    /// The outline of a page. A malformed fence attribute list is an error
    /// at its file, line and column.
    pub fn of(page: &Page, expanded: &Expanded) -> Result<Outline> {
        scan(page, expanded, false).map(|(o, _)| o)
    }

    /// The outline and the events it was read from (one pass for both).
    pub fn with_events<'t>(page: &Page, expanded: &'t Expanded) -> Result<(Outline, Events<'t>)> {
        scan(page, expanded, true)
    }

    /// Every anchor of the page: heading ids and `step-N`.
    pub fn anchors(&self) -> impl Iterator<Item = String> + '_ {
        self.headings.iter().map(|h| h.id.clone()).chain(
            self.blocks
                .iter()
                .filter_map(|b| b.step.map(|n| format!("step-{n}"))),
        )
    }
}

/// 1-based line and character column of byte offsets of a text.
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn at(&self, offset: usize) -> (usize, usize) {
        let i = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[i - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (i, col + 1)
    }
}

fn scan<'t>(page: &Page, expanded: &'t Expanded, keep: bool) -> Result<(Outline, Events<'t>)> {
    let text: &str = &expanded.text;
    let lines = Lines::new(text);
    let loc = |offset: usize| {
        let (line, col) = lines.at(offset);
        page.body_location(expanded.source_line(line), col)
    };
    let mut out = Outline::default();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut steps = 0;
    let mut heading: Option<(HeadingLevel, Option<String>, String, usize)> = None;
    let mut block: Option<(FenceInfo, String, Location)> = None;
    // Table state: in the head, current column, the first cell being read.
    let (mut in_head, mut column, mut cell): (bool, usize, Option<(String, usize)>) =
        (false, 0, None);

    let all = events(text).map_err(|e| {
        let line = e.line;
        e.into_error(page.body_location(expanded.source_line(line), 0))
    })?;
    for (event, range) in &all {
        let range = range.clone();
        match event {
            Event::Start(Tag::Heading { level, id, .. }) => {
                let line = loc(range.start).line;
                heading = Some((
                    *level,
                    id.as_ref().map(|i| i.to_string()),
                    String::new(),
                    line,
                ));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, explicit, plain, line)) = heading.take() {
                    let plain = plain.trim().to_string();
                    let id = unique_id(&mut ids, explicit.unwrap_or_else(|| slugify(&plain)));
                    let level = level as u8;
                    if level == 1 && out.headings.is_empty() {
                        out.has_h1 = true;
                    }
                    out.headings.push(Heading {
                        level,
                        id,
                        text: plain,
                        line,
                    });
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let at = loc(range.start);
                let info = match kind {
                    CodeBlockKind::Fenced(info) => fence::parse(info).map_err(|e| {
                        // The info string starts after the fence characters.
                        let fence_len = text[range.start..]
                            .find(|c: char| c != '`' && c != '~' && c != ' ')
                            .unwrap_or(3);
                        let col =
                            at.col + fence_len + info[..e.offset.min(info.len())].chars().count();
                        Error::at(
                            Location::new(&at.file, at.line, col),
                            format!("malformed code block attributes: {}", e.message),
                        )
                        .with_code(Code::Attribute)
                    })?,
                    CodeBlockKind::Indented => FenceInfo::default(),
                };
                block = Some((info, String::new(), at));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((info, code, at)) = block.take() {
                    let step = info.flag("run").then(|| {
                        steps += 1;
                        steps
                    });
                    out.blocks.push(CodeBlock {
                        info,
                        code,
                        line: at.line,
                        indent: at.col - 1,
                        step,
                    });
                }
            }
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                out.links.push(Link {
                    dest: dest_url.to_string(),
                    location: loc(range.start),
                });
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => column = 0,
            Event::Start(Tag::TableCell) if column == 0 && !in_head => {
                cell = Some((String::new(), loc(range.start).line));
            }
            Event::End(TagEnd::TableCell) => {
                if let Some((text, line)) = cell.take() {
                    out.table_rows.push((text.trim().to_string(), line));
                }
                column += 1;
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, code, _)) = &mut block {
                    code.push_str(t);
                } else if let Some((_, _, plain, _)) = &mut heading {
                    plain.push_str(t);
                }
                if let Some((c, _)) = &mut cell {
                    c.push_str(t);
                }
            }
            _ => {}
        }
    }
    Ok((out, if keep { all } else { Vec::new() }))
}

/// GitHub-compatible heading slug: lower case, letters, digits, `-` and `_`
/// kept, spaces become `-`, everything else dropped.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.extend(c.to_lowercase());
        } else if c == ' ' {
            out.push('-');
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::parse_page;

    fn outline(body: &str) -> Result<Outline> {
        let page = parse_page(
            format!("---\ntitle: T\n---\n{body}").into_bytes(),
            "a.md",
            "content/a.md".into(),
        )
        .unwrap();
        Outline::of(&page, &Expanded::unexpanded(&page.body))
    }

    #[test]
    fn heading_ids_are_stable_explicit_and_unique() {
        let o = outline(
            "# Title\n\n## Why can't ArgoCD do it?\n\n## Steps {#steps}\n\n## Steps\n\n## Steps\n",
        )
        .unwrap();
        let ids: Vec<&str> = o.headings.iter().map(|h| h.id.as_str()).collect();
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
        assert!(o.has_h1);
        assert_eq!(
            o.headings[1].line, 6,
            "line in the file, after front matter"
        );
    }

    #[test]
    fn runnable_blocks_are_numbered_in_document_order() {
        let o = outline("```bash {run name=\"check\"}\nkubectl get backups\n```\n\n```yaml {example}\na: 1\n```\n\n- item\n\n  ```bash {run}\n  echo hi\n  ```\n").unwrap();
        let steps: Vec<_> = o.blocks.iter().map(|b| b.step).collect();
        assert_eq!(steps, [Some(1), None, Some(2)]);
        assert_eq!(o.blocks[0].line, 4);
        assert_eq!(o.blocks[0].code, "kubectl get backups\n");
        assert_eq!(o.blocks[2].indent, 2, "inside a list item");
        assert_eq!(o.blocks[2].code, "echo hi\n");
        let anchors: Vec<String> = o.anchors().collect();
        assert!(anchors.contains(&"step-2".to_string()));
    }

    #[test]
    fn malformed_attributes_are_a_located_error() {
        let err = outline("text\n\n```yaml {source=\"x}\nx: 1\n```\n").unwrap_err();
        let loc = err.location.clone().unwrap();
        assert_eq!((loc.line, loc.col), (6, 17), "{err}");
        assert!(err.message.contains("unterminated"));
        assert_eq!(err.code, Some(Code::Attribute));
    }

    #[test]
    fn links_and_table_rows_with_lines_and_character_columns() {
        let o = outline(
            "é [b](guide/b.md#intro)\n\n| Secret | Keys |\n|---|---|\n| `a-secret` | x |\n| b | y |\n",
        )
        .unwrap();
        assert_eq!(o.links[0].dest, "guide/b.md#intro");
        assert_eq!((o.links[0].location.line, o.links[0].location.col), (4, 3));
        assert_eq!(
            o.table_rows,
            [("a-secret".to_string(), 8), ("b".to_string(), 9)]
        );
    }

    #[test]
    fn a_parser_panic_is_an_error_at_the_line_it_starts() {
        // Found by the outline fuzzer (minimized): pulldown-cmark 0.13.6
        // panics on an attribute block in a setext heading in a quote.
        let err = outline("ok\n\n>}\nn\n> {}\n>=\n\nmore\n").unwrap_err();
        assert_eq!(err.code, Some(Code::Markdown));
        assert_eq!(err.location.as_ref().unwrap().line, 9, "{err}");
        assert!(err.message.contains("pulldown-cmark"), "{err}");
        let e = events("# fine\n").unwrap();
        assert!(!e.is_empty());
    }

    #[test]
    fn slugs_match_github() {
        assert_eq!(slugify("Step-by-step recovery"), "step-by-step-recovery");
        assert_eq!(slugify("Why can't ArgoCD do it?"), "why-cant-argocd-do-it");
        assert_eq!(
            slugify("`serverName` lineage (v1 → v2)"),
            "servername-lineage-v1--v2"
        );
        assert_eq!(slugify("Ünïcode Überschrift"), "ünïcode-überschrift");
    }
}
