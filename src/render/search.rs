//! The offline search index: an inverted index from terms to pages, written
//! as `search-index.js` (a script, so it also loads from `file://`) and
//! fetched only when the reader first uses search.
//!
//! Postings are page numbers, delta-encoded in base 36 and joined by `,`:
//! pages 3, 7 and 40 are `"3,4,x"`. Pages carry their title, URL, a short
//! snippet and their headings (to link a hit straight to its section).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

const STOP_WORDS: &[&str] = &[
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
    pub terms: &'a [String],
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

/// Lower-cased words of at least two characters, stop words removed.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
}

/// The distinct terms of a page (title and text), sorted. Computed while
/// pages render, in parallel.
pub fn page_terms(title: &str, text: &str) -> Vec<String> {
    let mut all: Vec<String> = terms(title).chain(terms(text)).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Builds `search-index.js`.
pub fn build(docs: &[SearchDoc]) -> String {
    let mut postings: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut pages = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        for term in doc.terms {
            postings.entry(term.as_str()).or_default().push(i as u32);
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
