//! `docs serve`: the site built in memory, served on 127.0.0.1 with
//! tiny_http, rebuilt as files change, reloaded in the browser.

pub mod guard;
pub mod http;
pub mod live;
pub mod state;
pub mod watch;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use crate::config::Config;
use crate::error::{Error, Result};
use live::{Live, Problems};
use state::{Changes, State};

/// Request-handling threads; a slow client holds at most one of them.
pub const WORKERS: usize = 8;
/// A client that sends nothing for this long is dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Options {
    pub host: String,
    pub port: u16,
    pub open: bool,
    pub crds: Vec<PathBuf>,
}

pub fn run(root: &Path, opts: &Options, color: bool) -> Result<ExitCode> {
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
        None => eprintln!("Built the site in {} ms", started.elapsed().as_millis()),
        Some(e) => eprintln!("error: {e}\n(serving an error page until it is fixed)"),
    }
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
        eprintln!("{w}");
    }
    eprintln!("Serving on {url} (Ctrl-C to stop)");
    if opts.open {
        open_browser(&url);
    }

    let stop = Arc::new(AtomicBool::new(false));
    install_ctrl_c(stop.clone(), server.clone());
    let mut threads = Vec::new();
    {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            guard::run(listener, inner_addr, stop)
        }));
    }
    for _ in 0..WORKERS {
        let (server, live, stop) = (server.clone(), live.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match server.recv_timeout(Duration::from_millis(250)) {
                    Ok(Some(req)) => http::handle(req, &live),
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    {
        let (live, stop) = (live.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                live.expire();
            }
        }));
    }

    while let Some(changes) = watch.next(&|| stop.load(Ordering::SeqCst)) {
        let t = Instant::now();
        let outcome = state.apply(&changes, &live);
        match outcome.error {
            None => eprintln!("Rebuilt {} in {} ms", outcome.what, t.elapsed().as_millis()),
            Some(e) => eprintln!("error: {e}\n(still serving the last good build)"),
        }
        report(&state, color);
    }
    live.release_all();
    server.unblock();
    for t in threads {
        let _ = t.join();
    }
    eprintln!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

fn report(state: &State, color: bool) {
    let shown: Vec<_> = state
        .diagnostics()
        .iter()
        .filter(|d| d.severity != crate::diagnostic::Severity::Note)
        .cloned()
        .collect();
    crate::cmd::print_diagnostics(&shown, color);
}

/// Binds host:port. Accepted sockets inherit the timeouts (Linux copies
/// them from the listener), a second line of defence behind the guard.
fn bind(host: &str, port: u16) -> Result<TcpListener> {
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::new(format!("cannot resolve --host {host}: {e}")))?
        .next()
        .ok_or_else(|| Error::new(format!("--host {host} resolves to no address")))?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .map_err(|e| Error::new(format!("cannot open a socket: {e}")))?;
    socket.set_read_timeout(Some(CLIENT_TIMEOUT)).ok();
    socket.set_write_timeout(Some(CLIENT_TIMEOUT)).ok();
    socket.set_reuse_address(true).ok();
    socket.bind(&addr.into()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            Error::new(format!("port {port} on {host} is busy (another server, maybe another `docs serve`?): choose one with --port, or --port 0 for any free port"))
        } else {
            Error::new(format!("cannot listen on {host}:{port}: {e}"))
        }
    })?;
    socket
        .listen(128)
        .map_err(|e| Error::new(format!("cannot listen on {host}:{port}: {e}")))?;
    Ok(socket.into())
}

/// A warning when the server is reachable from other machines.
pub fn exposure_warning(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: listening on {} — anyone on your network can read these docs",
            addr.ip()
        )
    })
}

fn display_addr(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => a.to_string(),
    }
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
        eprintln!("\nStopping…");
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
        eprintln!("(could not start a browser with `{cmd}`; open {url} yourself)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_quiet() {
        assert!(exposure_warning("127.0.0.1:3000".parse().unwrap()).is_none());
        assert!(exposure_warning("[::1]:3000".parse().unwrap()).is_none());
        let w = exposure_warning("0.0.0.0:3000".parse().unwrap()).unwrap();
        assert!(w.contains("anyone on your network"), "{w}");
    }
}
