//! Which steps a run runs: `--only NAME` (repeatable), `--from NAME`,
//! `--to NAME` (names or numbers), and the variables it runs them with
//! (front matter defaults, `--var NAME=VALUE`). Also `--list`.

use std::collections::BTreeMap;

use crate::content::Page;
use crate::runbook::{Runbook, Step};

/// The selection: for each step (by index), whether it runs.
pub fn select(
    runbook: &Runbook,
    only: &[String],
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<bool>, String> {
    let index = |name: &str| -> Result<usize, String> {
        runbook
            .steps
            .iter()
            .position(|s| s.name == name || s.number.to_string() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = runbook.steps.iter().map(|s| s.name.as_str()).collect();
                let hint = crate::suggest::closest(name, names.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                format!(
                    "the runbook has no step `{name}`{hint} (steps: {})",
                    names.join(", ")
                )
            })
    };
    let n = runbook.steps.len();
    if !only.is_empty() {
        if from.is_some() || to.is_some() {
            return Err("--only chooses steps by name; it does not go with --from or --to".into());
        }
        let mut sel = vec![false; n];
        for name in only {
            sel[index(name)?] = true;
        }
        return Ok(sel);
    }
    let first = from.map(index).transpose()?.unwrap_or(0);
    let last = match to {
        Some(t) => index(t)?,
        None => n.saturating_sub(1),
    };
    if n > 0 && first > last {
        return Err(format!(
            "--from {} comes after --to {}",
            from.unwrap_or_default(),
            to.unwrap_or_default()
        ));
    }
    Ok((0..n).map(|i| i >= first && i <= last).collect())
}

/// The variables of a run: every declared variable, from `--var` or its
/// default. An unknown name or a missing value is an error.
pub fn variables(
    page: &Page,
    given: &[(String, String)],
) -> Result<BTreeMap<String, String>, String> {
    let declared = &page.front.variables.0;
    let mut out = BTreeMap::new();
    for (name, value) in given {
        if !declared.iter().any(|(n, _)| n == name) {
            let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
            let hint = crate::suggest::closest(name, names.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(if names.is_empty() {
                format!("--var {name}: this runbook declares no variables")
            } else {
                format!(
                    "--var {name}: no such variable{hint} (variables: {})",
                    names.join(", ")
                )
            });
        }
        out.insert(name.clone(), value.clone());
    }
    let mut missing = Vec::new();
    for (name, var) in declared {
        if out.contains_key(name) {
            continue;
        }
        match &var.default {
            Some(d) => {
                out.insert(name.clone(), d.clone());
            }
            None => missing.push(format!("  --var {name}=…   {}", var.description)),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "these variables have no default; set them:\n{}",
            missing.join("\n")
        ));
    }
    Ok(out)
}

/// The names of the variables whose values are secret.
pub fn secret_variables(page: &Page) -> Vec<String> {
    page.front
        .variables
        .0
        .iter()
        .filter(|(_, v)| v.secret)
        .map(|(n, _)| n.clone())
        .collect()
}

/// One line per step for `--list` and the plan.
pub fn step_line(step: &Step, total: usize, note: &str) -> String {
    let width = total.to_string().len();
    let flag = if step.destructive {
        "  destructive"
    } else {
        ""
    };
    format!(
        "[{:>width$}/{total}] {:<32} {:<7}{flag}{note}",
        step.number,
        step.name,
        step.kind_name()
    )
    .trim_end()
    .to_string()
}

/// `--list`: the steps, their kinds, and the variables.
pub fn list(name: &str, page: &Page, runbook: &Runbook, selected: &[bool]) -> String {
    let mut out = format!("{} — {} ({})\n", name, page.title, page.file.display());
    let total = runbook.steps.len();
    for (step, sel) in runbook.steps.iter().zip(selected) {
        let note = if *sel { "" } else { "  (not selected)" };
        out.push_str(&step_line(step, total, note));
        out.push('\n');
    }
    if !page.front.variables.0.is_empty() {
        out.push_str("variables (--var NAME=VALUE):\n");
        for (n, v) in &page.front.variables.0 {
            let default = match (&v.default, v.secret) {
                (_, true) => " (secret)".to_string(),
                (Some(d), _) => format!(" (default: {d})"),
                (None, _) => " (required)".to_string(),
            };
            out.push_str(&format!("  {n}{default}: {}\n", v.description));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::outline::Outline;
    use crate::content::{parse_page, Expanded};

    fn page() -> Page {
        parse_page(
            b"---\nrunbook: true\nvariables:\n  when:\n    description: target time\n  name:\n    description: new name\n    default: db-pitr\n---\n```bash {run name=a}\n:\n```\n```bash {run name=b}\n:\n```\n```bash {run name=c}\n:\n```\n".to_vec(),
            "dr.md",
            "content/dr.md".into(),
        )
        .unwrap()
    }

    #[test]
    fn only_from_to_choose_steps_by_name_or_number() {
        let p = page();
        let o = Outline::of(&p, &Expanded::unexpanded(&p.body)).unwrap();
        let (rb, _) = Runbook::read(&p, &o);
        assert_eq!(select(&rb, &[], None, None).unwrap(), [true, true, true]);
        assert_eq!(
            select(&rb, &["b".into()], None, None).unwrap(),
            [false, true, false]
        );
        assert_eq!(
            select(&rb, &[], Some("b"), None).unwrap(),
            [false, true, true]
        );
        assert_eq!(
            select(&rb, &[], None, Some("2")).unwrap(),
            [true, true, false]
        );
        let e = select(&rb, &["bb".into()], None, None).unwrap_err();
        assert!(e.contains("did you mean `b`?"), "{e}");
        assert!(select(&rb, &[], Some("c"), Some("a")).is_err());
        assert!(select(&rb, &["a".into()], Some("a"), None).is_err());
    }

    #[test]
    fn variables_take_defaults_and_require_the_rest() {
        let p = page();
        let e = variables(&p, &[]).unwrap_err();
        assert!(
            e.contains("--var when=") && e.contains("target time"),
            "{e}"
        );
        let v = variables(&p, &[("when".into(), "2026-11-24".into())]).unwrap();
        assert_eq!(v["name"], "db-pitr");
        assert_eq!(v["when"], "2026-11-24");
        let e = variables(&p, &[("wen".into(), "x".into())]).unwrap_err();
        assert!(e.contains("did you mean `when`?"), "{e}");
    }
}
