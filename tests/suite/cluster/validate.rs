//! Schema validation of created and updated objects with the checker's own
//! code (`docs::schema`), so that the test server rejects exactly
//! what `docs check` rejects. Every use of that module is in this file:
//! when it moves, this is the one line to change.

use std::path::{Path, PathBuf};

use docs::error::Location;
use docs::schema::Schemas;
use serde_json::Value;

pub struct Validator {
    schemas: Schemas,
}

impl Validator {
    /// The schemas of the CRDs under `dir` (an empty set when it has none).
    pub fn load(dir: &Path) -> Validator {
        let schemas = Schemas::load(&[PathBuf::from(dir)], Path::new("/")).unwrap_or_default();
        Validator { schemas }
    }

    /// (field, message) for every violation; empty when valid.
    pub fn check(&self, obj: &Value) -> Vec<(String, String)> {
        let Ok(text) = serde_yaml::to_string(obj) else {
            return vec![("".into(), "cannot be represented as YAML".into())];
        };
        let Ok(docs) = docs::yaml::parse(&text) else {
            return vec![("".into(), "cannot be parsed back".into())];
        };
        let mut out = Vec::new();
        let loc = |n: &docs::yaml::Node| Location::new("object", n.line, n.col);
        for d in &docs {
            self.schemas.validate(&d.root, &loc, &mut out);
        }
        out.into_iter()
            .filter(|d| d.severity == docs::diagnostic::Severity::Error)
            .map(|d| {
                let field = d.message.split('`').nth(1).unwrap_or("").to_string();
                (field, d.message)
            })
            .collect()
    }
}
