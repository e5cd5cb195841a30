//! `docs serve`: builds the site in memory, serves it, rebuilds what
//! changes and shows build and check problems in the page and here.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::print::errln;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::serve::live::{Live, Problems};
use crate::serve::state::{Changes, State};
use crate::serve::{bind, display_addr, exposure_warning, guard, http, watch, WORKERS};

pub fn run(root: &Path, opts: &ServeArgs, color: bool) -> Result<ExitCode> {
    let mut state = State::new(root, opts.crds.clone());
    // Watch before the first build: a save during start-up is not lost.
    let watch = watch::Watch::start(root, &Config::load(root).unwrap_or_default())?;
    let live = Arc::new(Live::new(Default::default(), Problems::default()));
    let started = Instant::now();
    let first = state.apply(
        &Changes {
            everything: true,
            ..Changes::default()
        },
        &live,
    );
    match &first.error {
        None => errln!("Built the site in {} ms", started.elapsed().as_millis()),
        Some(e) => errln!("error: {e}\n(serving an error page until it is fixed)"),
    };
    report(&state, color);

    let listener = bind(&opts.host, opts.port)?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::new(format!("cannot read the bound address: {e}")))?;
    // tiny_http listens on an internal loopback port behind the gatekeeper.
    let inner = bind("127.0.0.1", 0)?;
    let inner_addr = inner
        .local_addr()
        .map_err(|e| Error::new(format!("cannot read the bound address: {e}")))?;
    let server = Arc::new(
        tiny_http::Server::from_listener(inner, None)
            .map_err(|e| Error::new(format!("cannot start the server: {e}")))?,
    );
    let url = format!("http://{}/", display_addr(addr));
    if let Some(w) = exposure_warning(addr) {
        errln!("{w}");
    }
    errln!("Serving on {url} (Ctrl-C to stop)");
    if opts.open {
        open_browser(&url);
    }

    let stop = Arc::new(AtomicBool::new(false));
    install_ctrl_c(stop.clone(), server.clone());
    let mut threads = Vec::new();
    {
        let stop = stop.clone();
        threads.push(spawn("docs-accept", move || {
            guard::run(listener, inner_addr, stop, guard::Limits::default())
        })?);
    }
    for _ in 0..WORKERS {
        let (server, live, stop) = (server.clone(), live.clone(), stop.clone());
        threads.push(spawn("docs-worker", move || {
            http::work(&server, &live, &stop)
        })?);
    }
    {
        let (live, stop) = (live.clone(), stop.clone());
        threads.push(spawn("docs-expire", move || {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                live.expire();
            }
        })?);
    }

    while let Some(changes) = watch.next(&|| stop.load(Ordering::SeqCst)) {
        let t = Instant::now();
        let outcome = state.apply(&changes, &live);
        match outcome.error {
            None => errln!("Rebuilt {} in {} ms", outcome.what, t.elapsed().as_millis()),
            Some(e) => errln!("error: {e}\n(still serving the last good build)"),
        };
        report(&state, color);
    }
    live.release_all();
    server.unblock();
    guard::wake(addr);
    for t in threads {
        let _ = t.join();
    }
    errln!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| Error::new(format!("cannot start a thread: {e}")))
}

fn report(state: &State, color: bool) {
    let shown: Vec<_> = state
        .diagnostics()
        .iter()
        .filter(|d| d.severity != crate::diagnostic::Severity::Note)
        .cloned()
        .collect();
    super::print_diagnostics(&shown, color);
}

fn install_ctrl_c(stop: Arc<AtomicBool>, server: Arc<tiny_http::Server>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        errln!("\nStopping…");
        stop.store(true, Ordering::SeqCst);
        server.unblock();
    });
}

fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(cmd)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_err()
    {
        errln!("(could not start a browser with `{cmd}`; open {url} yourself)");
    }
}
