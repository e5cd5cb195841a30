//! The grammars of the highlighter: syntect's default set plus TOML,
//! linked once and checked in as `syntaxes.packdump`. Loading that dump
//! costs a fraction of a millisecond; the grammars themselves stay
//! serialized until a page first uses them (syntect deserializes each
//! syntax's contexts on first use), so a site loads only the ones its code
//! blocks need. Built at start-up instead, the defaults cost about a
//! millisecond and linking TOML half a millisecond more, on every run.
//!
//! After an upgrade of syntect, regenerate the dump with
//! `DOCS_WRITE_SYNTAXES=1 cargo test --lib syntaxes` (the tests fail until
//! then).

use syntect::parsing::SyntaxSet;

const DUMP: &[u8] = include_bytes!("syntaxes.packdump");

/// The syntax set, from the dump.
pub fn load() -> SyntaxSet {
    syntect::dumps::from_uncompressed_data(DUMP)
        .expect("syntaxes.packdump matches this syntect (see src/render/syntaxes.rs)")
}

/// The set the dump holds, built from its sources: syntect's defaults
/// (already linked) and the bundled TOML grammar, re-linked together.
/// Regex variables are dropped (linking has substituted them), and so are
/// the grammars no highlighted language reaches: loading the dump copies
/// every grammar's serialized contexts, a byte at a time.
#[cfg(test)]
fn build() -> SyntaxSet {
    let mut defs = sources();
    let keep = reachable(&link(&defs), &defs);
    for (i, def) in defs.iter_mut().enumerate() {
        def.variables.clear();
        if !keep[i] {
            def.contexts.clear();
        }
    }
    link(&defs)
}

/// syntect's default syntaxes (linked), then TOML.
#[cfg(test)]
fn sources() -> Vec<syntect::parsing::SyntaxDefinition> {
    let toml = syntect::parsing::SyntaxDefinition::load_from_str(
        include_str!("toml.sublime-syntax"),
        true,
        None,
    )
    .expect("the bundled TOML syntax is valid");
    let mut defs = SyntaxSet::load_defaults_newlines()
        .into_builder()
        .syntaxes()
        .to_vec();
    defs.push(toml);
    defs
}

#[cfg(test)]
fn link(defs: &[syntect::parsing::SyntaxDefinition]) -> SyntaxSet {
    let mut builder = syntect::parsing::SyntaxSetBuilder::new();
    for def in defs {
        builder.add(def.clone());
    }
    builder.build()
}

/// Which syntaxes of `set` (built from `defs`, in order) the highlighted
/// languages use, directly or through the grammars they embed. Linked
/// references are `ContextId`s, whose syntax index syntect does not expose
/// but serializes.
#[cfg(test)]
fn reachable(set: &SyntaxSet, defs: &[syntect::parsing::SyntaxDefinition]) -> Vec<bool> {
    let referenced: Vec<Vec<usize>> = defs
        .iter()
        .map(|def| {
            let json = serde_json::to_string(&def.contexts).expect("contexts serialize");
            json.split("\"syntax_index\":")
                .skip(1)
                .map(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().expect("an index")
                })
                .collect()
        })
        .collect();
    let mut keep = vec![false; defs.len()];
    let mut todo: Vec<usize> = super::highlight::LANGUAGES
        .iter()
        .map(|lang| {
            let syntax = set
                .find_syntax_by_token(lang)
                .expect("every language has a syntax");
            set.syntaxes()
                .iter()
                .position(|s| std::ptr::eq(s, syntax))
                .expect("in the set")
        })
        .collect();
    while let Some(i) = todo.pop() {
        if !std::mem::replace(&mut keep[i], true) {
            todo.extend(&referenced[i]);
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dump is what [`build`] makes now; `DOCS_WRITE_SYNTAXES=1`
    /// rewrites it.
    #[test]
    fn the_dump_keeps_what_the_languages_reach() {
        let defs = sources();
        let keep = reachable(&link(&defs), &defs);
        let kept: Vec<&str> = defs
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(d, _)| d.name.as_str())
            .collect();
        // Embedded grammars are reached: HTML's JavaScript and CSS, a
        // Makefile's shell.
        for name in [
            "HTML",
            "JavaScript",
            "CSS",
            "Makefile",
            "Bourne Again Shell (bash)",
            "TOML",
        ] {
            assert!(kept.contains(&name), "{name} in {kept:?}");
        }
        // Grammars nothing reaches are dropped.
        assert!(!kept.contains(&"LaTeX"), "{kept:?}");
        assert!(kept.len() < defs.len() / 2, "{kept:?}");
    }

    #[test]
    fn the_dump_is_current() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("syntaxes.packdump");
        syntect::dumps::dump_to_uncompressed_file(&build(), &fresh).unwrap();
        let fresh = std::fs::read(&fresh).unwrap();
        if std::env::var_os("DOCS_WRITE_SYNTAXES").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/render/syntaxes.packdump");
            std::fs::write(path, &fresh).unwrap();
            return;
        }
        assert!(
            fresh == DUMP,
            "src/render/syntaxes.packdump is stale: DOCS_WRITE_SYNTAXES=1 cargo test --lib syntaxes"
        );
    }

    /// Code in every language the highlighter knows, with embedded
    /// languages (HTML's script and style, a Makefile's shell).
    const SAMPLES: &[(&str, &str)] = &[
        ("yaml", "apiVersion: v1\nkind: Cluster # c\nspec:\n  a: \"s\"\n  b: [1, 2.5, true]\n  c: |\n    text\n  &x d: *x\n---\n- !!str e\n"),
        ("bash", "for b in $(kubectl get backups -o name); do\n  echo \"checking ${b}\" # c\n  cat <<EOF\nheredoc $HOME\nEOF\ndone\nexport A='x' && [[ -n $A ]] || exit 1\n"),
        ("sql", "SELECT count(*) AS n FROM assets WHERE id = 3 AND name LIKE 'a%';\n-- c\nVACUUM (ANALYZE) t;\nCREATE TABLE t (id bigint PRIMARY KEY);\n"),
        ("json", "{\"a\": [1, 2.5e3, true, null, \"s\\n\"], \"b\": {}}\n"),
        ("toml", "[site]\ntitle = \"x\" # c\nn = 3\nd = 1979-05-27T07:32:00Z\narr = [1, 'a']\n[[t]]\nk.v = { a = 1 }\n"),
        ("diff", "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-old\n+new\n same\n"),
        ("py", "import os\n@dec\ndef f(x: int) -> str:\n    '''doc'''\n    return f\"{x!r}\" + r'\\d' # c\nclass A(B): pass\n"),
        ("go", "package main\nimport \"fmt\"\nfunc main() {\n\tx := []int{1, 2}\n\tfmt.Println(`raw`, x) // c\n}\n"),
        ("rs", "fn main() -> Result<(), E> {\n    let x: &'static str = r#\"raw\"#; // c\n    println!(\"{x}\");\n    Ok(())\n}\n#[derive(Debug)]\nstruct S<T>(T);\n"),
        ("html", "<!DOCTYPE html>\n<html lang=\"en\"><head><style>a { color: red; }</style>\n<script>let x = 1; // c\n</script></head>\n<body><!-- c --><a href=\"x\">&amp;</a></body></html>\n"),
        ("css", "@media (max-width: 600px) {\n  a:hover, .b > #c { color: #fff; margin: 0 1.5em !important; }\n}\n/* c */\n"),
        ("js", "const f = async (a, ...b) => { await g(`t ${a}`); return /re+/g.test(b); }; // c\nclass A extends B {}\n"),
        ("make", "all: build\n\t@echo \"$(CC) $$HOME\" # c\nCC ?= gcc\n%.o: %.c\n\t$(CC) -c $< -o $@\n"),
    ];

    /// Every language parses to the same scopes with the dump as with
    /// syntect's default set (TOML: its own set, linked alone), so that
    /// highlighted pages are byte for byte what they were.
    #[test]
    fn the_dump_parses_like_the_sources() {
        use syntect::parsing::{ParseState, SyntaxDefinition, SyntaxSetBuilder};
        let defaults = SyntaxSet::load_defaults_newlines();
        let mut toml = SyntaxSetBuilder::new();
        toml.add(
            SyntaxDefinition::load_from_str(include_str!("toml.sublime-syntax"), true, None)
                .unwrap(),
        );
        let toml = toml.build();
        let dumped = load();
        let parse = |set: &SyntaxSet, lang: &str, code: &str| {
            let syntax = set.find_syntax_by_token(lang).unwrap();
            let mut state = ParseState::new(syntax);
            let ops: Vec<_> = syntect::util::LinesWithEndings::from(code)
                .map(|line| state.parse_line(line, set).unwrap())
                .collect();
            (syntax.name.clone(), ops)
        };
        let langs: Vec<&str> = SAMPLES.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            langs,
            super::super::highlight::LANGUAGES,
            "a sample per language"
        );
        for (lang, code) in SAMPLES {
            let canonical = super::super::highlight::Highlighter::canonical(lang);
            assert_eq!(canonical, Some(*lang), "languages are canonical names");
            let reference = if *lang == "toml" { &toml } else { &defaults };
            let (name, want) = parse(reference, lang, code);
            let (dumped_name, got) = parse(&dumped, lang, code);
            assert_eq!(dumped_name, name, "{lang}");
            assert!(
                want.iter().flatten().count() > 2 * code.lines().count(),
                "{lang} ({name}) highlights the sample"
            );
            assert_eq!(got, want, "{lang} ({name})");
        }
    }
}
