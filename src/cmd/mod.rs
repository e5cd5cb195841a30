//! One module per command; each returns the process exit code.

pub mod build;

use crate::cli::Color;
use crate::diagnostic::Diagnostic;

/// Whether to colour output on stderr.
pub fn use_color(choice: Color) -> bool {
    use std::io::IsTerminal;
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

pub fn print_diagnostics(diags: &[Diagnostic], color: bool) {
    for d in diags {
        eprintln!("{}", d.render(color));
    }
}
