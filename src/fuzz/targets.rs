//! The fuzz targets: one per parser that takes user input. Each `run`
//! feeds an input to the parser as the tool would (lossy UTF-8 where the
//! tool reads text) and ignores the result: errors are fine, panics are
//! not. `quick` tests run in `cargo test`; `long` ones for bench/fuzz.py.

use std::path::Path;

use super::Target;

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

pub const FRONT_MATTER: Target = Target {
    name: "front-matter",
    seeds: &[
        "---\ntitle: DR\nweight: 3\nrunbook: true\n---\n# Body\n",
        "---\nvariables:\n  target_time:\n    description: when\n    default: \"x\"\n    secret: false\n---\n",
        "---\r\ntitle: x\r\n...\r\nbody",
        "\u{feff}---\n---\n",
    ],
    dictionary: &[
        "---", "...", "\n", "title:", "weight:", "runbook:", "variables:", "description:",
        "default:", "secret:", " true", " -1", "&a", "*a", "[", "]", "{", "}", "'", "\"", ": ",
    ],
    run: |input| {
        let _ = crate::content::frontmatter::split(&text(input), Path::new("content/f.md"));
    },
};

pub const FENCE_INFO: Target = Target {
    name: "fence-info",
    seeds: &[
        r#"yaml {source="manifests/a b.yaml" select=spec.backup excerpt}"#,
        r#"bash {run, name="say \"hi\"", confirm}"#,
        "{example}",
        "yaml {run action=wait name=w troubleshoot=\"#x\"}",
    ],
    dictionary: &["{", "}", "=", "\"", "\\", ",", " ", "run", "name", "€"],
    run: |input| {
        let _ = crate::content::fence::parse(&text(input));
    },
};

pub const YAML: Target = Target {
    name: "yaml",
    seeds: &[
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: \"1\"\n",
        "a: &x [1, 2]\nb: *x\n---\nc: {d: e}\n",
        "key: |\n  block\n  text\nother: >-\n  folded\n",
        "- a\n- b: [1, {c: d}]\n- !!str 3\n",
    ],
    dictionary: &[
        "&a ", "*a", "&b ", "*b", "- ", ": ", "\n  ", "[", "]", "{", "}", "---\n", "...\n", "|",
        ">", "!!str ", "!!int ", "? ", "#", "'", "\"", "0x", ".inf", "~",
    ],
    run: |input| {
        let _ = crate::yaml::parse(&text(input));
    },
};

pub const SELECT_PATH: Target = Target {
    name: "select-path",
    seeds: &[
        "spec.backup.retentionPolicy",
        "status.conditions[type=Ready].status",
        "metadata.annotations[\"argocd.argoproj.io/sync-wave\"]",
        "spec.externalClusters[0].barmanObjectStore",
    ],
    dictionary: &["[", "]", ".", "=", "\"", "\\", "0", "name=", "€€"],
    run: |input| {
        let path = text(input);
        if let Ok(steps) = crate::yaml::path::parse(&path) {
            let _ = crate::yaml::path::render(&steps);
            let doc = crate::yaml::parse("spec:\n  a: [1, {name: x, v: 2}]\n€€: {a: 1}\n")
                .expect("fixed document");
            let _ = crate::yaml::path::select(&doc[0].root, &steps);
            let _ = crate::yaml::path::select_json(&doc[0].root.to_json(), &steps);
        }
    },
};

pub const CONFIG: Target = Target {
    name: "docs-toml",
    seeds: &[
        "title = \"Kit\"\nbase_url = \"/kit/\"\ncrds = [\"crds\"]\nallow = [\"cnpg-barman-deprecated\"]\n",
        "content_dir = \"docs\"\nmanifests_dir = \".\"\n",
    ],
    dictionary: &["=", "\"", "[", "]", "\n", "title", "allow", "crds", "base_url", "[table]"],
    run: |input| {
        let _ = crate::config::Config::parse(&text(input), Path::new("docs.toml"));
    },
};

pub const HTTP_HEAD: Target = Target {
    name: "http-head",
    seeds: &[
        "GET /a.html HTTP/1.1\r\nHost: localhost:3000\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: \"0123-4\"\r\n\r\n",
        "HEAD /guide/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\nGET /__docs/poll?since=3 HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    dictionary: &[
        "\r\n", "\r\n\r\n", "\n", "\r", " ", ": ", ":", "\t", "GET ", "HEAD ", " HTTP/1.1", " HTTP/1.0",
        " HTTP/2.0", "Host: x\r\n", "Connection: ", "close", "keep-alive", "Content-Length: ",
        "Transfer-Encoding: ", "Keep-Alive", "Upgrade", ",", "%2e%2e/", "/", "0", "00",
    ],
    run: |input| {
        use crate::serve::head::{parse, MAX_HEAD};
        let Ok(Some(head)) = parse(input) else {
            return;
        };
        // What is passed on is one complete head, taken from the input,
        // that parses to itself (the server behind sees what was checked).
        assert!(head.len <= input.len() && head.len <= MAX_HEAD);
        assert!(head.upstream.len() <= head.len);
        let again = parse(&head.upstream).expect("the upstream head parses").expect("complete");
        assert_eq!(again.len, head.upstream.len());
        assert_eq!(again.upstream, head.upstream);
        assert_eq!(again.method, head.method);
    },
};

/// Every target, for the long runs.
pub const ALL: &[&Target] = &[
    &FRONT_MATTER,
    &FENCE_INFO,
    &YAML,
    &SELECT_PATH,
    &CONFIG,
    &HTTP_HEAD,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{long, quick};

    #[test]
    fn front_matter() {
        quick(&FRONT_MATTER);
    }

    #[test]
    fn fence_info() {
        quick(&FENCE_INFO);
    }

    #[test]
    fn yaml() {
        quick(&YAML);
    }

    #[test]
    fn select_path() {
        quick(&SELECT_PATH);
    }

    #[test]
    fn config() {
        quick(&CONFIG);
    }

    #[test]
    fn http_head() {
        quick(&HTTP_HEAD);
    }

    /// `DOCS_FUZZ_SECONDS=600 cargo test --release --lib fuzz::targets::tests::long -- --ignored --nocapture`
    #[test]
    #[ignore = "long fuzzing session: bench/fuzz.py runs it"]
    fn long_all() {
        for t in ALL {
            long(t);
        }
    }
}
