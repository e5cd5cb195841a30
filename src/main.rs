//! The `docs` command: parse the command line, run the command, turn its
//! outcome into an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use docs::cli::{Cli, Command};
use docs::cmd;

fn main() -> ExitCode {
    cmd::print::quit_on_closed_pipe();
    let cli = Cli::parse();
    let color = cmd::use_color(cli.color);
    let result = match &cli.command {
        Command::Build(args) => cmd::build::run(&cli.root, args, color),
        Command::Check(args) => cmd::check::run(&cli.root, args, color),
        Command::Serve(args) => cmd::serve::run(&cli.root, args, color),
        Command::Run(args) => cmd::run::run(&cli.root, args, color),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let prefix = if color {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            cmd::print::err(format_args!("{prefix}: {e}"));
            ExitCode::FAILURE
        }
    }
}
