//! Attributes on fenced code blocks:
//! ```` ```yaml {source="manifests/x.yaml" select="spec.backup"} ````
//! and ```` ```bash {run name=check-backups} ````.
//!
//! After the language comes an optional `{...}` list of `key=value`,
//! `key="quoted value"` (with `\"` and `\\` escapes) and bare flags,
//! separated by spaces or commas. Order is kept.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FenceInfo {
    pub lang: String,
    pub attrs: Vec<(String, Option<String>)>,
}

/// A malformed attribute list: the byte offset in the info string, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceError {
    pub offset: usize,
    pub message: String,
}

impl FenceInfo {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k == key)
    }
}

pub fn parse(info: &str) -> Result<FenceInfo, FenceError> {
    let start = info.len() - info.trim_start().len();
    let rest = &info[start..];
    let brace = rest.find('{').unwrap_or(rest.len());
    let lang = rest[..brace].trim();
    if lang.contains(char::is_whitespace) {
        let at = start + lang.find(char::is_whitespace).unwrap_or(0);
        return Err(err(at, "expected `{` after the language, found more words"));
    }
    let mut info_out = FenceInfo {
        lang: lang.to_string(),
        attrs: Vec::new(),
    };
    if brace == rest.len() {
        return Ok(info_out);
    }
    let base = start + brace + 1;
    let body = &rest[brace + 1..];
    let mut p = Parser {
        s: body,
        pos: 0,
        base,
    };
    loop {
        p.skip_separators();
        match p.peek() {
            None => return Err(err(info.len(), "attribute list has no closing `}`")),
            Some('}') => {
                p.pos += 1;
                let trailing = p.s[p.pos..].trim();
                if !trailing.is_empty() {
                    return Err(err(p.base + p.pos, "unexpected text after `}`"));
                }
                return Ok(info_out);
            }
            Some(_) => {
                let key_at = p.base + p.pos;
                let key = p.key()?;
                if info_out.attrs.iter().any(|(k, _)| *k == key) {
                    return Err(err(key_at, &format!("attribute `{key}` is given twice")));
                }
                let value = if p.peek() == Some('=') {
                    p.pos += 1;
                    Some(p.value()?)
                } else {
                    None
                };
                info_out.attrs.push((key, value));
            }
        }
    }
}

fn err(offset: usize, message: &str) -> FenceError {
    FenceError {
        offset,
        message: message.to_string(),
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    base: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn skip_separators(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn key(&mut self) -> Result<String, FenceError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        if self.pos == start {
            let found = self.peek().map_or("end".to_string(), |c| format!("`{c}`"));
            return Err(err(
                self.base + start,
                &format!("expected an attribute name, found {found}"),
            ));
        }
        Ok(self.s[start..self.pos].to_string())
    }

    fn value(&mut self) -> Result<String, FenceError> {
        match self.peek() {
            Some('"') => {
                let open = self.pos;
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => {
                            return Err(err(self.base + open, "unterminated quoted value"));
                        }
                        Some('"') => {
                            self.pos += 1;
                            return Ok(out);
                        }
                        Some('\\') => {
                            self.pos += 1;
                            match self.peek() {
                                Some(c @ ('"' | '\\')) => {
                                    out.push(c);
                                    self.pos += 1;
                                }
                                _ => {
                                    return Err(err(
                                        self.base + self.pos - 1,
                                        "only `\\\"` and `\\\\` escapes are allowed",
                                    ))
                                }
                            }
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += c.len_utf8();
                        }
                    }
                }
            }
            _ => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_whitespace() || c == ',' || c == '}' || c == '"' || c == '=' {
                        break;
                    }
                    self.pos += c.len_utf8();
                }
                if self.pos == start {
                    return Err(err(self.base + start, "`=` must be followed by a value"));
                }
                Ok(self.s[start..self.pos].to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: Option<&str>) -> (String, Option<String>) {
        (k.to_string(), v.map(str::to_string))
    }

    #[test]
    fn language_only() {
        assert_eq!(parse("yaml").unwrap().lang, "yaml");
        assert_eq!(parse("").unwrap(), FenceInfo::default());
    }

    #[test]
    fn quoted_unquoted_and_flags_keep_order() {
        let f = parse(r#"yaml {source="manifests/a b.yaml" select=spec.backup excerpt}"#).unwrap();
        assert_eq!(f.lang, "yaml");
        assert_eq!(
            f.attrs,
            vec![
                kv("source", Some("manifests/a b.yaml")),
                kv("select", Some("spec.backup")),
                kv("excerpt", None),
            ]
        );
        assert_eq!(f.get("select"), Some("spec.backup"));
        assert!(f.flag("excerpt"));
        assert!(!f.flag("run"));
    }

    #[test]
    fn run_step_with_commas_and_escapes() {
        let f = parse(r#"bash {run, name="say \"hi\"", confirm}"#).unwrap();
        assert!(f.flag("run"));
        assert_eq!(f.get("name"), Some("say \"hi\""));
        assert!(f.flag("confirm"));
    }

    #[test]
    fn attributes_without_language() {
        let f = parse("{example}").unwrap();
        assert_eq!(f.lang, "");
        assert!(f.flag("example"));
    }

    #[test]
    fn malformed_lists_are_errors_with_offsets() {
        let e = parse("yaml {source=\"x}").unwrap_err();
        assert!(e.message.contains("unterminated"), "{e:?}");
        assert_eq!(e.offset, 13);
        let e = parse("yaml {source=x").unwrap_err();
        assert!(e.message.contains("no closing"), "{e:?}");
        let e = parse("yaml {=x}").unwrap_err();
        assert!(e.message.contains("attribute name"), "{e:?}");
        let e = parse("yaml {a= }").unwrap_err();
        assert!(e.message.contains("followed by a value"), "{e:?}");
        let e = parse("yaml {a a}").unwrap_err();
        assert!(e.message.contains("twice"), "{e:?}");
        let e = parse("yaml {a} junk").unwrap_err();
        assert!(e.message.contains("after `}`"), "{e:?}");
        let e = parse("yaml extra {a}").unwrap_err();
        assert!(e.message.contains("more words"), "{e:?}");
    }
}
