//! The live preview server: the site built in memory ([`state`]), served
//! on 127.0.0.1 with tiny_http behind a gatekeeper ([`guard`], [`head`],
//! [`upstream`], [`http`]),
//! rebuilt as files change ([`watch`]), reloaded in the browser
//! ([`live`]). `cmd::serve` drives it.

pub mod guard;
pub mod head;
pub mod http;
pub mod live;
pub mod state;
pub mod upstream;
pub mod watch;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::error::{Error, Result};

/// Request-handling threads; a slow client holds at most one of them.
pub const WORKERS: usize = 8;
/// A client that sends nothing for this long is dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds host:port. Accepted sockets inherit the timeouts (Linux copies
/// them from the listener): for tiny_http's internal port, a second line
/// of defence behind the guard, which sets its own on client sockets.
pub fn bind(host: &str, port: u16) -> Result<TcpListener> {
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
    // Inherited too: tiny_http writes an answer's head and body apart, and
    // Nagle may hold the body for the reader's delayed ACK (40 ms).
    socket.set_tcp_nodelay(true).ok();
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

pub fn display_addr(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => a.to_string(),
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
