//! The transcript of a run (`transcript.md` in its directory): who ran
//! what against which context, each step's rendered command or manifest,
//! its output, timing and result — redacted before it is written.

use super::exec::Failure;
use super::journal;
use super::kube::Session;
use super::term;
use super::{Options, Prepared};
use crate::runbook::{Kind, Step};

pub fn header(p: &Prepared, session: &Session, opts: &Options) -> String {
    let mut s = format!(
        "# Transcript of `docs run {}`{}\n\n| | |\n|---|---|\n| runbook | {} |\n| by | {}@{} |\n| context | {} |\n| server | {} |\n| user | {} |\n| started | {} |\n",
        p.name,
        if opts.dry_run { " (dry run)" } else { "" },
        p.page.file.display(),
        std::env::var("USER").unwrap_or_else(|_| "someone".into()),
        super::preflight::hostname(),
        session.context,
        session.server,
        session.user,
        journal::now()
    );
    if !p.vars.is_empty() {
        s.push_str("\nVariables:\n\n");
        for (k, v) in &p.vars {
            s.push_str(&format!("- `{k}` = `{v}`\n"));
        }
    }
    s
}

pub fn step(
    step: &Step,
    output: &str,
    outcome: &Result<journal::StepResult, Failure>,
    secs: std::time::Duration,
) -> String {
    let lang = if matches!(step.kind, Kind::Shell { .. }) {
        "bash"
    } else {
        "yaml"
    };
    let mut s = format!(
        "\n## Step {}: {} ({})\n\nStarted {}, took {}.\n\n```{lang}\n{}```\n",
        step.number,
        step.name,
        step.kind_name(),
        journal::now(),
        term::format_duration(secs),
        step.text
    );
    if !output.is_empty() {
        s.push_str(&format!("\nOutput:\n\n```text\n{output}```\n"));
    }
    match outcome {
        Ok(r) => s.push_str(&format!("\nResult: **{}**\n", r.outcome)),
        Err(f) => s.push_str(&format!(
            "\nResult: **failed** ({}): {}\n",
            f.kind(),
            f.message()
        )),
    }
    s
}
