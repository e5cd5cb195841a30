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
    /// Secret's `data`), trimmed of a trailing newline — and, for a value
    /// of several lines (a PEM key), each of its lines: output is shown
    /// and masked line by line, where the whole value never appears.
    pub fn add(&mut self, value: &str) {
        for v in [value, value.trim_end_matches(['\n', '\r'])] {
            if v.chars().count() < MIN_LEN {
                continue;
            }
            let b64 = base64::engine::general_purpose::STANDARD.encode(v);
            self.push(v.to_string());
            self.push(b64);
            // As a JSON string shows it (an assertion's "found …").
            let json = serde_json::Value::String(v.to_string()).to_string();
            self.push(json[1..json.len() - 1].to_string());
        }
        if value.trim().contains('\n') {
            for line in value.lines().map(str::trim).filter(|l| !is_armor(l)) {
                if line.chars().count() >= MIN_LEN {
                    self.push(line.to_string());
                }
            }
        }
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    fn push(&mut self, s: String) {
        if !self.secrets.contains(&s) {
            self.secrets.push(s);
        }
    }

    /// Adds the values of a Secret's `data` (base64) and `stringData`,
    /// except those that `public` (the runbook as rendered: what anyone
    /// with the repository reads) already shows — a database owner named
    /// in the manifests is no secret, and masking every mention of it
    /// would garble the output. A value under a credential's key (a
    /// password, a token, a key) is masked even there: that the page
    /// happens to show it makes it no less a password.
    pub fn add_secret_object(&mut self, secret: &serde_json::Value, public: &str) {
        let mut values: Vec<(String, String)> = Vec::new();
        if let Some(data) = secret.get("data").and_then(|d| d.as_object()) {
            for (k, v) in data.iter().filter_map(|(k, v)| Some((k, v.as_str()?))) {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(v) {
                    if let Ok(text) = String::from_utf8(bytes) {
                        values.push((k.clone(), text));
                    }
                }
            }
        }
        if let Some(data) = secret.get("stringData").and_then(|d| d.as_object()) {
            values.extend(
                data.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
            );
        }
        for (k, v) in values {
            if is_credential_key(&k) || !public.contains(v.trim_end_matches(['\n', '\r'])) {
                self.add(&v);
            }
        }
    }

    /// A JSON value with every string in it masked: redacting the
    /// serialized text instead would miss a secret with a `"`, a `\\` or
    /// a newline, which JSON shows escaped.
    pub fn apply_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value as J;
        match value {
            J::String(s) => {
                let masked = self.apply(s);
                if masked != *s {
                    *s = masked;
                }
            }
            J::Array(items) => items.iter_mut().for_each(|v| self.apply_json(v)),
            J::Object(map) => map.values_mut().for_each(|v| self.apply_json(v)),
            J::Null | J::Bool(_) | J::Number(_) => {}
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

/// Whether a key (of a Secret's data, an environment variable, a
/// kubeconfig's auth-provider config) names a credential.
pub fn is_credential_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "secret", "token", "key", "credential", "auth"]
        .iter()
        .any(|w| k.contains(w))
}

/// A PEM armor line (`-----BEGIN RSA PRIVATE KEY-----`): public, the same
/// in every key.
fn is_armor(line: &str) -> bool {
    line.starts_with("-----") && line.ends_with("-----")
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

    #[test]
    fn each_line_of_a_multi_line_secret_is_masked_but_not_its_armor() {
        let mut r = Redactor::default();
        r.add("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nQEFAASCBKcwggSjAgEAAoIB\nab\n-----END PRIVATE KEY-----\n");
        assert_eq!(
            r.apply("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B"),
            "-----BEGIN PRIVATE KEY-----\n[redacted]"
        );
        assert_eq!(r.apply("  QEFAASCBKcwggSjAgEAAoIB  ab"), "  [redacted]  ab");
    }

    #[test]
    fn a_credential_is_masked_even_where_the_page_shows_it() {
        let mut r = Redactor::default();
        let page = "user `dbowner`, password `hunter22`, api key `k3y-in-page`";
        r.add_secret_object(
            &serde_json::json!({"stringData": {"username": "dbowner", "password": "hunter22", "API_KEY": "k3y-in-page"}}),
            page,
        );
        assert_eq!(
            r.apply(page),
            "user `dbowner`, password `[redacted]`, api key `[redacted]`"
        );
    }

    #[test]
    fn json_strings_are_masked_before_they_are_escaped() {
        let mut r = Redactor::default();
        let secret = "a\"b\\c\nline-two";
        r.add(secret);
        // Raw in a field, escaped in a message that quotes it as JSON.
        let quoted = serde_json::Value::String(secret.into()).to_string();
        let mut event = serde_json::json!({"raw": secret, "message": format!("found {quoted}"), "list": [secret], "n": 1});
        r.apply_json(&mut event);
        assert_eq!(
            event,
            serde_json::json!({"raw": "[redacted]", "message": "found \"[redacted]\"", "list": ["[redacted]"], "n": 1})
        );
    }
}
