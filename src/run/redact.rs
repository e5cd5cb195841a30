//! Redaction: the values of Secrets the run touches, of variables marked
//! `secret: true`, and the credentials of the kubeconfig never reach the
//! terminal, the journal or the transcript. Every text the run shows or
//! writes goes through [`Redactor::apply`].

use base64::Engine;

pub const MASK: &str = "[redacted]";

/// Values shorter than this are not redacted: masking every `1` or `ab`
/// would garble the output without protecting anything.
const MIN_LEN: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so that a value containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Adds a secret value, and the forms it is shown in: base64 (as in a
    /// Secret's `data`), trimmed of a trailing newline.
    pub fn add(&mut self, value: &str) {
        for v in [value, value.trim_end_matches(['\n', '\r'])] {
            if v.chars().count() < MIN_LEN {
                continue;
            }
            let b64 = base64::engine::general_purpose::STANDARD.encode(v);
            for s in [v.to_string(), b64] {
                if !self.secrets.contains(&s) {
                    self.secrets.push(s);
                }
            }
        }
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Adds the values of a Secret's `data` (base64) and `stringData`,
    /// except those that `public` (the runbook as rendered: what anyone
    /// with the repository reads) already shows — a database owner named
    /// in the manifests is no secret, and masking every mention of it
    /// would garble the output.
    pub fn add_secret_object(&mut self, secret: &serde_json::Value, public: &str) {
        let mut values: Vec<String> = Vec::new();
        if let Some(data) = secret.get("data").and_then(|d| d.as_object()) {
            for v in data.values().filter_map(|v| v.as_str()) {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(v) {
                    if let Ok(text) = String::from_utf8(bytes) {
                        values.push(text);
                    }
                }
            }
        }
        if let Some(data) = secret.get("stringData").and_then(|d| d.as_object()) {
            values.extend(data.values().filter_map(|v| v.as_str()).map(str::to_string));
        }
        for v in values {
            if !public.contains(v.trim_end_matches(['\n', '\r'])) {
                self.add(&v);
            }
        }
    }

    /// The text with every secret value masked.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_and_their_base64_longest_first() {
        let mut r = Redactor::default();
        r.add("s3cr3t-key");
        r.add("s3cr3t");
        r.add("ab");
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t-key");
        let out = r.apply(&format!("key=s3cr3t-key short=s3cr3t data={b64} tiny=ab"));
        assert_eq!(
            out,
            "key=[redacted] short=[redacted] data=[redacted] tiny=ab"
        );
    }

    #[test]
    fn secret_objects_give_decoded_and_encoded_values() {
        let mut r = Redactor::default();
        r.add_secret_object(
            &serde_json::json!({
                "data": {
                    "AWS_SECRET_ACCESS_KEY": base64::engine::general_purpose::STANDARD.encode("wJalrXUtnFEMI"),
                    "username": base64::engine::general_purpose::STANDARD.encode("immich"),
                },
                "stringData": {"password": "hunter22"}
            }),
            "owner: immich",
        );
        assert_eq!(
            r.apply("wJalrXUtnFEMI hunter22 immich"),
            "[redacted] [redacted] immich",
            "a value the repository shows is public"
        );
    }
}
