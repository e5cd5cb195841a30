//! One module per command; each returns the process exit code.

pub mod build;
pub mod check;

use crate::check::schema::Schemas;
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

/// The CRD schemas named in the config and on the command line, if any.
pub fn load_schemas(
    root: &std::path::Path,
    crds: &[std::path::PathBuf],
) -> crate::error::Result<Option<Schemas>> {
    if crds.is_empty() {
        return Ok(None);
    }
    Schemas::load(crds, root).map(Some)
}

pub fn print_diagnostics(diags: &[Diagnostic], color: bool) {
    for d in diags {
        eprintln!("{}", d.render(color));
    }
}
