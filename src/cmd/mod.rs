//! One module per command; each returns the process exit code. The
//! commands decide what findings mean for them: `check` reports them,
//! `build` refuses to publish errors, `serve` shows them over the page.

pub mod build;
pub mod check;
pub mod print;
pub mod run;
pub mod serve;

use std::path::{Path, PathBuf};

use crate::cli::Color;
use crate::diagnostic::Diagnostic;
use crate::error::Result;
use crate::schema::Schemas;

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
pub fn load_schemas(root: &Path, crds: &[PathBuf]) -> Result<Option<Schemas>> {
    if crds.is_empty() {
        return Ok(None);
    }
    Schemas::load(crds, root).map(Some)
}

/// Prints diagnostics on stderr; stops when stderr is closed.
pub fn print_diagnostics(diags: &[Diagnostic], color: bool) {
    for d in diags {
        if !print::errln!("{}", d.render(color)) {
            break;
        }
    }
}

/// `s` for a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The single tokio runtime of the process, for a command that talks to a
/// cluster.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::new(format!("cannot start the async runtime: {e}")))
}
