//! Machine formats of findings: JSON lines and GitHub annotations (the
//! human form is [`Diagnostic::render`]).

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity};

#[derive(Serialize)]
struct JsonDiag<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    file: String,
    line: usize,
    column: usize,
    related: Vec<JsonLoc<'a>>,
    notes: &'a [String],
    diff: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLoc<'a> {
    file: String,
    line: usize,
    column: usize,
    label: &'a str,
}

pub fn json(d: &Diagnostic) -> String {
    let j = JsonDiag {
        severity: d.severity,
        code: d.code.as_str(),
        message: &d.message,
        file: d.location.file.to_string_lossy().into_owned(),
        line: d.location.line,
        column: d.location.col,
        related: d
            .related
            .iter()
            .map(|(l, label)| JsonLoc {
                file: l.file.to_string_lossy().into_owned(),
                line: l.line,
                column: l.col,
                label,
            })
            .collect(),
        notes: &d.notes,
        diff: d.diff.as_deref(),
    };
    serde_json::to_string(&j).expect("diagnostics serialize")
}

/// A workflow command; see GitHub's "Workflow commands" documentation.
pub fn github(d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut msg = d.message.clone();
    for (loc, label) in &d.related {
        msg.push_str(&format!("\n{label}: {loc}"));
    }
    for n in &d.notes {
        msg.push_str(&format!("\nnote: {n}"));
    }
    let mut props = format!(
        "file={}",
        escape_property(&d.location.file.to_string_lossy())
    );
    if d.location.line > 0 {
        props.push_str(&format!(",line={}", d.location.line));
    }
    if d.location.col > 0 {
        props.push_str(&format!(",col={}", d.location.col));
    }
    props.push_str(&format!(
        ",title={}",
        escape_property(&format!("docs check: {}", d.code))
    ));
    format!("::{level} {props}::{}", escape_data(&msg))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    fn diag() -> Diagnostic {
        Diagnostic::error(
            crate::code::Code::BlockDrift,
            Location::new("content/a.md", 41, 3),
            "differs: 100%",
        )
        .with_related(Location::new("manifests/c.yaml", 88, 7), "manifest")
        .with_note("run --fix")
    }

    #[test]
    fn json_has_stable_fields() {
        let v: serde_json::Value = serde_json::from_str(&json(&diag())).unwrap();
        assert_eq!(v["severity"], "error");
        assert_eq!(v["code"], "block-drift");
        assert_eq!(v["file"], "content/a.md");
        assert_eq!(v["line"], 41);
        assert_eq!(v["column"], 3);
        assert_eq!(v["related"][0]["file"], "manifests/c.yaml");
        assert_eq!(v["related"][0]["line"], 88);
        assert_eq!(v["notes"][0], "run --fix");
    }

    #[test]
    fn github_annotations_escape_data_and_properties() {
        assert_eq!(
            github(&diag()),
            "::error file=content/a.md,line=41,col=3,title=docs check%3A block-drift::differs: 100%25%0Amanifest: manifests/c.yaml:88:7%0Anote: run --fix"
        );
    }
}
