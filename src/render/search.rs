//! The offline search index: an inverted index from terms to pages, written
//! as `search-index.js` (a script, so it also loads from `file://`) and
//! fetched only when the reader first uses search.
//!
//! Postings are page numbers, delta-encoded in base 36 and joined by `,`:
//! pages 3, 7 and 40 are `"3,4,x"`. Pages carry their title, URL, a short
//! snippet and their headings (to link a hit straight to its section).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// Declares the stop words once, as a list and as a `match` (the list
/// searched word by word was a quarter of building search terms).
macro_rules! stop_words {
    ($($w:literal),* $(,)?) => {
        #[cfg(test)]
        const STOP_WORDS: &[&str] = &[$($w),*];

        fn is_stop_word(word: &str) -> bool {
            matches!(word, $($w)|*)
        }
    };
}

stop_words![
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "if",
    "in", "into", "is", "it", "its", "no", "not", "of", "on", "or", "so", "such", "that", "the",
    "their", "then", "there", "these", "they", "this", "to", "was", "we", "were", "when", "which",
    "will", "with", "you", "your",
];

pub struct SearchDoc<'a> {
    pub title: &'a str,
    pub url: &'a str,
    pub description: Option<&'a str>,
    pub headings: Vec<(&'a str, &'a str)>,
    /// A short summary shown under the result.
    pub snippet: &'a str,
    /// The page's distinct terms, from [`page_terms`].
    pub terms: &'a Terms,
}

#[derive(Serialize)]
struct Index<'a> {
    pages: Vec<IndexPage<'a>>,
    terms: BTreeMap<&'a str, String>,
}

#[derive(Serialize)]
struct IndexPage<'a> {
    t: &'a str,
    u: &'a str,
    d: String,
    h: Vec<(&'a str, &'a str)>,
}

/// The distinct terms of a page, sorted, in one string (`\n` between
/// terms, which are alphanumeric): a site of thousands of pages keeps them
/// all until the index is built, so one allocation per page, not one per
/// term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms(String);

impl Terms {
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|t| !t.is_empty())
    }
}

/// The distinct terms of a page (title and text), sorted: its words
/// (split at every character that is not a letter or digit) of at least
/// two characters, lower-cased, stop words removed. Computed while pages
/// render, in parallel.
///
/// Words already in lower case (most of them) are borrowed, not copied,
/// and a page's repeats cost one hash each: allocating every occurrence
/// was a sixth of the build's time.
pub fn page_terms(title: &str, text: &str) -> Terms {
    let mut seen: foldhash::HashSet<Cow<str>> = foldhash::HashSet::default();
    for w in words(title).chain(words(text)) {
        let ascii = w.is_ascii();
        if (ascii && w.len() < 2) || (!ascii && w.chars().count() < 2) {
            continue;
        }
        let word: Cow<str> = if ascii && !w.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Borrowed(w)
        } else if ascii {
            Cow::Owned(w.to_ascii_lowercase())
        } else {
            Cow::Owned(w.to_lowercase())
        };
        if !is_stop_word(&word) {
            seen.insert(word);
        }
    }
    let mut all: Vec<Cow<str>> = seen.into_iter().collect();
    all.sort_unstable();
    Terms(all.join("\n"))
}

/// The non-empty runs of letters and digits of `text`: what
/// `text.split(|c: char| !c.is_alphanumeric())` yields, without the empty
/// pieces, a byte at a time where the text is ASCII.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        let mut start = None;
        while at < bytes.len() {
            let (alnum, len) = if bytes[at].is_ascii() {
                (bytes[at].is_ascii_alphanumeric(), 1)
            } else {
                let c = text[at..].chars().next().expect("at a char boundary");
                (c.is_alphanumeric(), c.len_utf8())
            };
            match (alnum, start) {
                (true, None) => start = Some(at),
                (false, Some(s)) => {
                    let word = &text[s..at];
                    at += len;
                    return Some(word);
                }
                _ => {}
            }
            at += len;
        }
        start.map(|s| &text[s..])
    })
}

/// Builds `search-index.js`.
pub fn build(docs: &[SearchDoc]) -> String {
    let mut postings: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut pages = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        for term in doc.terms.iter() {
            postings.entry(term).or_default().push(i as u32);
        }
        pages.push(IndexPage {
            t: doc.title,
            u: doc.url,
            d: snippet(doc.description.unwrap_or(doc.snippet)),
            h: doc.headings.clone(),
        });
    }
    let terms: BTreeMap<&str, String> = postings
        .into_iter()
        .map(|(term, list)| (term, encode(&list)))
        .collect();
    let json = serde_json::to_string(&Index { pages, terms }).expect("index serializes");
    format!("window.DOCS_SEARCH_INDEX={json};\n")
}

fn encode(list: &[u32]) -> String {
    let mut out = String::new();
    let mut prev = 0;
    for (k, &n) in list.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(&base36(n - prev));
        prev = n;
    }
    out
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut buf = Vec::new();
    loop {
        buf.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    buf.reverse();
    String::from_utf8(buf).expect("ascii")
}

/// At most 160 characters of `text`, cut at a word, whitespace folded.
pub fn snippet(text: &str) -> String {
    const MAX: usize = 160;
    let mut out = String::with_capacity(MAX + 4);
    for word in text.split_whitespace() {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra > MAX {
            if out.is_empty() {
                out.extend(word.chars().take(MAX));
            }
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> Vec<u32> {
        let mut prev = 0;
        s.split(',')
            .map(|d| {
                prev += u32::from_str_radix(d, 36).unwrap();
                prev
            })
            .collect()
    }

    /// The definition of a page's terms, written plainly.
    fn reference_terms(title: &str, text: &str) -> Vec<String> {
        let mut all: Vec<String> = [title, text]
            .into_iter()
            .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.chars().count() >= 2)
            .map(str::to_lowercase)
            .filter(|w| !STOP_WORDS.contains(&w.as_str()))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    #[test]
    fn page_terms_are_the_distinct_lowercased_words() {
        let title = "Disaster Recovery: İstanbul ÉTÉ a A";
        let text = "The THE the kubectl Kubectl x y2 ß ÆØ été, straße\tVolSync_2 \
                    ёлка Ёлка 東京 ä ä-b the-an-and 3 33 \u{1F600}ok wal-g/\"CNPG\"";
        let terms = page_terms(title, text);
        let got: Vec<&str> = terms.iter().collect();
        let split: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        assert_eq!(words(text).collect::<Vec<_>>(), split);
        for t in [
            "",
            " ",
            "a",
            "ab",
            " ab",
            "ab ",
            "é",
            "-é-b",
            "日本語 x",
            "x\u{300}y",
        ] {
            let split: Vec<&str> = t
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(words(t).collect::<Vec<_>>(), split, "{t:?}");
        }
        assert_eq!(got, reference_terms(title, text));
        assert!(got.contains(&"kubectl") && got.contains(&"été") && !got.contains(&"the"));
        assert_eq!(page_terms("", "").iter().count(), 0);
    }

    #[test]
    fn snippets_cut_at_words() {
        assert_eq!(snippet("  a\n b  "), "a b");
        let long = "word ".repeat(50);
        let s = snippet(&long);
        assert!(s.ends_with("word…") && s.chars().count() <= 161, "{s}");
        assert_eq!(snippet(&"x".repeat(200)).chars().count(), 161);
    }

    #[test]
    fn postings_round_trip() {
        let list = [3, 7, 40, 1000, 1001];
        assert_eq!(encode(&list), "3,4,x,qo,1");
        assert_eq!(decode(&encode(&list)), list);
    }

    #[test]
    fn index_lists_pages_terms_and_headings() {
        let t0 = page_terms(
            "Disaster recovery",
            "Check firstRecoverabilityPoint with kubectl.",
        );
        let t1 = page_terms("Backups", "VolSync and kubectl, the PVC path.");
        let docs = [
            SearchDoc {
                title: "Disaster recovery",
                url: "dr.html",
                description: Some("Recover the database"),
                headings: vec![("verify", "Verify")],
                snippet: "Check",
                terms: &t0,
            },
            SearchDoc {
                title: "Backups",
                url: "b.html",
                description: None,
                headings: vec![],
                snippet: "VolSync and kubectl, the PVC path.",
                terms: &t1,
            },
        ];
        let js = build(&docs);
        let json = js
            .strip_prefix("window.DOCS_SEARCH_INDEX=")
            .unwrap()
            .trim_end()
            .trim_end_matches(';');
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["pages"][0]["u"], "dr.html");
        assert_eq!(v["pages"][0]["d"], "Recover the database");
        assert_eq!(v["pages"][0]["h"][0][0], "verify");
        assert_eq!(v["pages"][1]["d"], "VolSync and kubectl, the PVC path.");
        assert_eq!(decode(v["terms"]["kubectl"].as_str().unwrap()), [0, 1]);
        assert_eq!(
            decode(v["terms"]["firstrecoverabilitypoint"].as_str().unwrap()),
            [0]
        );
        assert_eq!(decode(v["terms"]["volsync"].as_str().unwrap()), [1]);
        assert!(v["terms"].get("the").is_none(), "stop words are dropped");
    }
}
