//! `docs run`: load the repository, prepare the runbook, and execute it in
//! the process's one tokio runtime. Exit codes come from [`crate::run`].

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{RunArgs, RunOutput};
use crate::config::Config;
use crate::error::Result;
use crate::project::Project;
use crate::run::{self, Options, EXIT_USAGE};

pub fn run(root: &Path, args: &RunArgs, color: bool) -> Result<ExitCode> {
    let opts = Options {
        runbook: args.runbook.clone(),
        list: args.list,
        only: args.only.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        dry_run: args.dry_run,
        yes: args.yes,
        resume: args.resume,
        force: args.force,
        vars: args.vars.clone(),
        target: crate::cluster::Target {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        },
        journal: args.journal.clone(),
        json: args.output == RunOutput::Json,
        color,
    };
    let fail = |message: String| {
        eprintln!(
            "{}: {message}",
            if color {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            }
        );
        Ok(ExitCode::from(EXIT_USAGE))
    };
    let config = match Config::load(root) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let project = match Project::load_with(root, config) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let prepared = match run::prepare(&project, &opts) {
        Ok(p) => p,
        Err(stop) => return fail(stop.message),
    };
    if opts.list {
        print!(
            "{}",
            run::plan::list(
                &prepared.name,
                prepared.page,
                &prepared.runbook,
                &prepared.selected
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = super::runtime()?;
    let code = runtime.block_on(run::execute(root, &prepared, &opts));
    Ok(ExitCode::from(code))
}
