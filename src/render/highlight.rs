//! Server-side syntax highlighting with syntect, into a handful of short CSS
//! classes (`hl-k` keyword, `hl-s` string, ...) that the theme colours with a
//! light and a dark palette.
//!
//! The syntax set is loaded once per process, from the dump of
//! [`super::syntaxes`]. Identical blocks are highlighted once (up to a bound
//! on memory). An unknown language renders as escaped plain text.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use syntect::parsing::{ParseState, Scope, ScopeStack, ScopeStackOp, SyntaxReference, SyntaxSet};

use super::escape_html;

/// Scope prefixes and the class they map to; the first match from the
/// innermost scope outwards wins.
const CATEGORIES: &[(&str, &str)] = &[
    ("comment", "c"),
    ("punctuation.definition.comment", "c"),
    ("string", "s"),
    ("constant.numeric", "n"),
    ("constant", "l"),
    ("entity.name.tag", "t"),
    ("entity.other.attribute-name", "t"),
    ("keyword", "k"),
    ("storage", "k"),
    ("entity.name", "e"),
    ("support.function", "f"),
    ("support", "f"),
    ("variable.parameter", "p"),
    ("variable", "v"),
    ("punctuation.definition.variable", "v"),
];

/// The languages highlighted, by canonical name (what the syntax dump is
/// made for).
#[cfg(test)]
pub const LANGUAGES: &[&str] = &[
    "yaml", "bash", "sql", "json", "toml", "diff", "py", "go", "rs", "html", "css", "js", "make",
];

pub struct Highlighter {
    syntaxes: SyntaxSet,
    categories: Vec<(Scope, &'static str)>,
    cache: Mutex<BlockCache>,
}

/// Highlighted blocks by language and code, and their size.
#[derive(Default)]
struct BlockCache {
    blocks: foldhash::HashMap<(&'static str, String), Arc<str>>,
    bytes: usize,
}

/// Bound of the block cache (code and HTML): a site whose blocks all
/// differ would otherwise keep every one of them.
const CACHE_BYTES: usize = 16 << 20;

thread_local! {
    /// Per thread: parse states hold regex captures that cannot cross threads.
    static LINES: RefCell<HashMap<&'static str, LineMemo>> = RefCell::new(HashMap::new());
}

type Ops = Vec<(usize, ScopeStackOp)>;

/// Parses of whole lines that started in one of a grammar's two common
/// states — fresh (a block's first line) or steady (its main context after
/// that): such a parse depends only on the line's text, and docs repeat
/// lines (`kind: Cluster`, `kubectl -n ...`) across blocks and pages.
struct LineMemo {
    fresh: ParseState,
    steady: ParseState,
    /// Parses from `fresh` and from `steady`, by line.
    parsed: [foldhash::HashMap<String, (Ops, ParseState)>; 2],
}

/// Upper bound of memoized lines per language, to bound memory.
const MEMO_LINES: usize = 50_000;

/// The process-wide highlighter, loaded on first use.
pub fn highlighter() -> &'static Highlighter {
    static H: OnceLock<Highlighter> = OnceLock::new();
    H.get_or_init(Highlighter::new)
}

impl Highlighter {
    fn new() -> Highlighter {
        Highlighter {
            syntaxes: super::syntaxes::load(),
            categories: CATEGORIES
                .iter()
                .map(|(s, c)| (Scope::new(s).expect("valid scope"), *c))
                .collect(),
            cache: Mutex::new(BlockCache::default()),
        }
    }

    /// Canonical name of a fence language, or `None` if it is not
    /// highlighted.
    pub fn canonical(lang: &str) -> Option<&'static str> {
        Some(match lang.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => "yaml",
            "bash" | "sh" | "shell" | "console" | "zsh" | "shell-session" => "bash",
            "sql" | "postgresql" | "psql" | "pgsql" => "sql",
            "json" => "json",
            "toml" => "toml",
            "diff" | "patch" => "diff",
            "python" | "py" => "py",
            "go" => "go",
            "rust" | "rs" => "rs",
            "html" => "html",
            "css" => "css",
            "js" | "javascript" => "js",
            "makefile" | "make" => "make",
            _ => return None,
        })
    }

    fn syntax(&self, canonical: &str) -> Option<(&SyntaxReference, &SyntaxSet)> {
        self.syntaxes
            .find_syntax_by_token(canonical)
            .map(|s| (s, &self.syntaxes))
    }

    /// HTML for the inside of a `<code>` element.
    pub fn highlight(&self, lang: &str, code: &str) -> Arc<str> {
        let Some(canonical) = Self::canonical(lang) else {
            return escape_html(code).into();
        };
        let key = (canonical, code.to_string());
        if let Some(hit) = self.cache.lock().expect("cache lock").blocks.get(&key) {
            return hit.clone();
        }
        let html: Arc<str> = match self.syntax(canonical) {
            Some((syntax, set)) => self.render(canonical, syntax, set, code).into(),
            None => escape_html(code).into(),
        };
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.bytes > CACHE_BYTES {
            *cache = BlockCache::default();
        }
        cache.bytes += code.len() + html.len();
        cache.blocks.insert(key, html.clone());
        html
    }

    /// Parses one line, through the memo when the state allows it.
    fn parse_line(
        &self,
        lang: &'static str,
        syntax: &SyntaxReference,
        set: &SyntaxSet,
        state: &mut ParseState,
        line: &str,
    ) -> Option<Ops> {
        LINES.with(|memo| {
            let mut memo = memo.borrow_mut();
            let entry = memo.entry(lang).or_insert_with(|| {
                let fresh = ParseState::new(syntax);
                let mut steady = fresh.clone();
                let _ = steady.parse_line("\n", set);
                LineMemo {
                    fresh,
                    steady,
                    parsed: Default::default(),
                }
            });
            let which = if *state == entry.steady {
                1
            } else if *state == entry.fresh {
                0
            } else {
                return state.parse_line(line, set).ok();
            };
            let parsed = &mut entry.parsed[which];
            if let Some((ops, after)) = parsed.get(line) {
                *state = after.clone();
                return Some(ops.clone());
            }
            let ops = state.parse_line(line, set).ok()?;
            if parsed.len() < MEMO_LINES {
                parsed.insert(line.to_string(), (ops.clone(), state.clone()));
            }
            Some(ops)
        })
    }

    fn render(
        &self,
        lang: &'static str,
        syntax: &SyntaxReference,
        set: &SyntaxSet,
        code: &str,
    ) -> String {
        let mut spans = Spans {
            out: String::with_capacity(code.len() * 3),
            class: None,
            pending: String::new(),
        };
        let mut state = ParseState::new(syntax);
        let mut stack = ScopeStack::new();
        for line in syntect::util::LinesWithEndings::from(code) {
            let Some(ops) = self.parse_line(lang, syntax, set, &mut state, line) else {
                // A grammar failure must not lose the code: show it plain.
                spans.push(None, line);
                continue;
            };
            let mut at = 0;
            for (pos, op) in ops {
                if pos > at {
                    spans.push(self.class_of(&stack), &line[at..pos]);
                    at = pos;
                }
                if stack.apply(&op).is_err() {
                    stack = ScopeStack::new();
                }
            }
            if at < line.len() {
                spans.push(self.class_of(&stack), &line[at..]);
            }
        }
        spans.finish()
    }

    fn class_of(&self, stack: &ScopeStack) -> Option<&'static str> {
        stack.as_slice().iter().rev().find_map(|scope| {
            self.categories
                .iter()
                .find(|(cat, _)| cat.is_prefix_of(*scope))
                .map(|(_, c)| *c)
        })
    }
}

/// Accumulates tokens, merging neighbours of the same class into one span
/// and never wrapping a newline (so lines stay whole when copied).
struct Spans {
    out: String,
    class: Option<&'static str>,
    pending: String,
}

impl Spans {
    fn push(&mut self, class: Option<&'static str>, text: &str) {
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                self.flush();
                self.out.push('\n');
            }
            if part.is_empty() {
                continue;
            }
            // Whitespace takes the class of its neighbours: no span breaks.
            let class = if part.trim().is_empty() {
                self.class
            } else {
                class
            };
            if class != self.class {
                self.flush();
                self.class = class;
            }
            self.pending.push_str(part);
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.class {
            Some(c) => {
                self.out.push_str("<span class=\"hl-");
                self.out.push_str(c);
                self.out.push_str("\">");
                self.out.push_str(&escape_html(&self.pending));
                self.out.push_str("</span>");
            }
            None => self.out.push_str(&escape_html(&self.pending)),
        }
        self.pending.clear();
    }

    fn finish(mut self) -> String {
        self.flush();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl(lang: &str, code: &str) -> String {
        highlighter().highlight(lang, code).to_string()
    }

    #[test]
    fn yaml_keys_strings_numbers_and_comments() {
        let h = hl("yaml", "name: \"db\" # note\nreplicas: 3\n");
        assert!(h.contains("<span class=\"hl-t\">name</span>"), "{h}");
        assert!(h.contains("<span class=\"hl-s\">&quot;db&quot;"), "{h}");
        assert!(h.contains("<span class=\"hl-c\"># note</span>\n"), "{h}");
        assert!(h.contains("<span class=\"hl-n\">3</span>"), "{h}");
    }

    #[test]
    fn every_required_language_highlights() {
        for (lang, code, class) in [
            ("bash", "for x in a; do echo \"$x\"; done\n", "hl-k"),
            ("sh", "echo 'hi' # c\n", "hl-c"),
            ("shell", "echo 'hi'\n", "hl-s"),
            ("console", "kubectl get pods # c\n", "hl-c"),
            ("sql", "SELECT count(*) FROM assets;\n", "hl-k"),
            ("json", "{\"a\": 1}\n", "hl-n"),
            ("toml", "[site]\ntitle = \"x\" # c\n", "hl-t"),
            ("toml", "n = 3\n", "hl-n"),
            ("yml", "a: b\n", "hl-t"),
        ] {
            let h = hl(lang, code);
            assert!(h.contains(class), "{lang}: expected {class} in {h}");
        }
    }

    #[test]
    fn unknown_language_is_escaped_plain_text() {
        assert_eq!(hl("brainfuck", "<a>&\n"), "&lt;a&gt;&amp;\n");
        assert_eq!(hl("", "x < y\n"), "x &lt; y\n");
    }

    #[test]
    fn text_survives_highlighting() {
        let code = "kubectl -n cloudnative-pg get backups -o jsonpath='{.items[*].status.phase}'\n";
        let h = hl("bash", code);
        let text: String = strip_tags(&h);
        assert_eq!(text, code.replace('\'', "&#39;"));
    }

    fn strip_tags(h: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in h.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }
}
