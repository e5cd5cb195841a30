//! The small languages inside runbook steps: kubectl's `--for` forms,
//! durations (`1h30m`), and label selectors.

use std::time::Duration;

use super::step::WaitFor;
use crate::yaml::path;

/// `condition=Ready`, `condition=Ready=False`, `jsonpath={.status.phase}=x`,
/// `delete` — kubectl wait's `--for` forms.
pub fn parse_wait_for(text: &str) -> Result<WaitFor, String> {
    let text = text.trim();
    if text == "delete" {
        return Ok(WaitFor::Delete);
    }
    if let Some(c) = text.strip_prefix("condition=") {
        let (type_, status) = c.split_once('=').unwrap_or((c, "True"));
        if type_.is_empty() || status.is_empty() {
            return Err("expected `condition=TYPE` or `condition=TYPE=STATUS`".into());
        }
        return Ok(WaitFor::Condition {
            type_: type_.to_string(),
            status: status.to_string(),
        });
    }
    if let Some(j) = text.strip_prefix("jsonpath=") {
        let j = j
            .strip_prefix('{')
            .ok_or("expected `jsonpath={.path}=value`")?;
        let close = j.find('}').ok_or("`{` without `}`")?;
        let p = j[..close].trim_start_matches('.');
        let rest = &j[close + 1..];
        let value = match rest.strip_prefix('=') {
            Some(v) => Some(v.trim_matches(['"', '\'']).to_string()),
            None if rest.is_empty() => None,
            None => return Err(format!("unexpected `{rest}` after the path")),
        };
        let path = path::parse(p)?;
        if path.is_empty() {
            return Err("the path is empty".into());
        }
        return Ok(WaitFor::Field { path, value });
    }
    Err("expected `condition=TYPE`, `jsonpath={.path}=value` or `delete`".into())
}

/// `30s`, `5m`, `2h`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("`{t}` is not a duration (like `30s`, `5m`, `2h`, `1h30m`)");
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(d);
    }
    Ok(total)
}

/// A label selector as the API takes it: `k=v`, `k==v`, `k!=v`,
/// `k in (a,b)`, `k notin (a)`, `k`, `!k`, separated by commas.
pub fn check_selector(sel: &str) -> Result<(), String> {
    let key_ok = |k: &str| {
        let k = k.trim();
        !k.is_empty()
            && k.len() <= 317
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    };
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in sel.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&sel[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&sel[start..]);
    for part in parts {
        let p = part.trim();
        let ok = if let Some((k, _)) = p
            .split_once("!=")
            .or_else(|| p.split_once("=="))
            .or_else(|| p.split_once('='))
        {
            key_ok(k)
        } else if let Some((k, _)) = p.split_once(" notin ").or_else(|| p.split_once(" in ")) {
            key_ok(k)
        } else {
            key_ok(p.strip_prefix('!').unwrap_or(p))
        };
        if !ok {
            return Err(format!(
                "`{p}` is not a label requirement (`key=value`, `key in (a,b)`, `key`, `!key`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_forms_durations_and_selectors() {
        assert_eq!(parse_wait_for("delete"), Ok(WaitFor::Delete));
        assert_eq!(
            parse_wait_for("condition=Ready=False"),
            Ok(WaitFor::Condition {
                type_: "Ready".into(),
                status: "False".into()
            })
        );
        match parse_wait_for("jsonpath={.status.phase}=completed").unwrap() {
            WaitFor::Field { path, value } => {
                assert_eq!(path::render(&path), "status.phase");
                assert_eq!(value.as_deref(), Some("completed"));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_wait_for("ready").is_err());
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("m").is_err());
        assert!(check_selector("cnpg.io/cluster=x,app in (a, b),!gone").is_ok());
        assert!(check_selector("a b").is_err());
    }
}
