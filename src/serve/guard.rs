//! The gatekeeper in front of tiny_http. tiny_http reads request heads
//! with no size bound and its thread pool can queue new connections
//! behind stalled ones; so clients talk to this loop instead. Each
//! connection gets a thread (at most `max_connections`); each request
//! head is read within limits (size and header count by
//! [`super::head::parse`], time here), and only a complete request is
//! passed on to tiny_http on an internal loopback port
//! ([`super::upstream`]), whose answer is sent back with this
//! connection's framing.
//!
//! Connections are kept alive: requests are taken one after another (a
//! pipelined one waits its turn) until the client says `close`, stays
//! idle too long, or breaks a rule (then it is told, and the connection
//! closed, since where its next request would start is unknown).

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::head::{self, Head, Refusal};
use super::upstream::{self, reframe};

/// How long clients may take; [`Limits::default`] is what `docs serve`
/// uses (tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Concurrent client connections (long-polls included).
    pub max_connections: usize,
    /// A client must send a whole request head within this time, from
    /// connecting (the first request) or from its first byte (the next).
    pub head: Duration,
    /// A kept-alive connection with no new request for this long is closed.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            head: Duration::from_secs(10),
            idle: Duration::from_secs(10),
        }
    }
}

/// Longest wait for a client to take a chunk of its answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts clients until `stop` is set and [`wake`] is called. `accept`
/// blocks: an idle server uses no CPU.
pub fn run(listener: TcpListener, inner: SocketAddr, stop: Arc<AtomicBool>, limits: Limits) {
    // `bind` gives the listener a read timeout for accepted sockets to
    // inherit; on the listener itself it would end `accept` every 10 s.
    socket2::SockRef::from(&listener)
        .set_read_timeout(None)
        .ok();
    let active = Arc::new(AtomicUsize::new(0));
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors, say: wait for some to close
                // rather than spin.
                if !matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
        };
        let accepted = Instant::now();
        if active.load(Ordering::SeqCst) >= limits.max_connections {
            refuse(client, &TOO_MANY);
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (slot, stop) = (active.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("docs-conn".into())
            .spawn(move || {
                serve_connection(client, accepted, inner, &limits, &stop);
                slot.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // The thread never ran (its client is closed as the closure
            // is dropped): give its slot back.
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Wakes a [`run`] blocked in `accept` (after `stop` is set) by
/// connecting to it.
pub fn wake(addr: SocketAddr) {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let _ = TcpStream::connect_timeout(&SocketAddr::new(ip, addr.port()), Duration::from_secs(1));
}

const TOO_MANY: Refusal = Refusal {
    code: 503,
    reason: "Service Unavailable",
    body: "too many connections\n",
};
const TIMEOUT: Refusal = Refusal {
    code: 408,
    reason: "Request Timeout",
    body: "request not received in time\n",
};
const UPSTREAM: Refusal = Refusal {
    code: 502,
    reason: "Bad Gateway",
    body: "the server could not answer (restarting?)\n",
};

/// Answers a refusal (in one write: one packet) and closes.
fn refuse(mut client: TcpStream, r: &Refusal) {
    let answer = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        r.code,
        r.reason,
        r.body.len(),
        r.body
    );
    let _ = client.write_all(answer.as_bytes());
}

/// Why a connection ends without an answer to send.
enum End {
    /// Closed, idle, or gone: nothing to say.
    Quietly,
    Refuse(Refusal),
}

/// Serves requests on one connection until it ends.
fn serve_connection(
    mut client: TcpStream,
    accepted: Instant,
    inner: SocketAddr,
    limits: &Limits,
    stop: &AtomicBool,
) {
    client.set_nodelay(true).ok();
    client.set_write_timeout(Some(WRITE_TIMEOUT)).ok();
    let mut buf = Vec::with_capacity(1024);
    // The first head is due a fixed time after connecting.
    let mut deadline = Some(accepted + limits.head);
    loop {
        let head = match read_head(&mut client, &mut buf, deadline, limits) {
            Ok(h) => h,
            Err(End::Quietly) => return,
            Err(End::Refuse(r)) => return refuse(client, &r),
        };
        buf.drain(..head.len);
        let keep = head.keep_alive && !stop.load(Ordering::SeqCst);
        let answer = upstream::ask(inner, &head);
        let Some(out) = answer.and_then(|a| reframe(&a, &head, keep, limits.idle)) else {
            return refuse(client, &UPSTREAM);
        };
        if client.write_all(&out).is_err() || !keep {
            return;
        }
        // A pipelined request already (partly) here is due from now;
        // otherwise the wait is for the idle limit, then the head limit.
        deadline = (!buf.is_empty()).then(|| Instant::now() + limits.head);
    }
}

/// Reads until `buf` holds a complete head. With no `deadline`, waits
/// up to the idle limit for a first byte, which starts the head limit.
fn read_head(
    client: &mut TcpStream,
    buf: &mut Vec<u8>,
    mut deadline: Option<Instant>,
    limits: &Limits,
) -> Result<Head, End> {
    let mut chunk = [0u8; 4096];
    loop {
        match head::parse(buf) {
            Ok(Some(h)) => return Ok(h),
            Ok(None) => {}
            Err(r) => return Err(End::Refuse(r)),
        }
        let wait = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => limits.idle,
        };
        if wait.is_zero() {
            return Err(End::Refuse(TIMEOUT));
        }
        client.set_read_timeout(Some(wait)).ok();
        match client.read(&mut chunk) {
            Ok(0) => return Err(End::Quietly),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                deadline.get_or_insert_with(|| Instant::now() + limits.head);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // Idle between requests: close without a word (RFC 9112
                // §9.5); in the middle of a head: say why.
                return Err(match deadline {
                    None => End::Quietly,
                    Some(_) => End::Refuse(TIMEOUT),
                });
            }
            Err(_) => return Err(End::Quietly),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::live::{File, Live, Problems};
    use std::collections::HashMap;

    /// A gatekeeper with `limits` in front of tiny_http serving one page.
    struct Fixture {
        addr: SocketAddr,
        stop: Arc<AtomicBool>,
        server: Arc<tiny_http::Server>,
        guard: Option<std::thread::JoinHandle<()>>,
    }

    impl Fixture {
        fn start(limits: Limits) -> Fixture {
            let files = HashMap::from([(
                "a.html".to_string(),
                Arc::new(File::new("a.html", b"<p>A</p>".to_vec())),
            )]);
            let live = Arc::new(Live::new(files, Problems::default()));
            let inner = TcpListener::bind("127.0.0.1:0").unwrap();
            let inner_addr = inner.local_addr().unwrap();
            let server = Arc::new(tiny_http::Server::from_listener(inner, None).unwrap());
            let stop = Arc::new(AtomicBool::new(false));
            {
                let (server, stop) = (server.clone(), stop.clone());
                std::thread::spawn(move || crate::serve::http::work(&server, &live, &stop));
            }
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let s = stop.clone();
            let guard = std::thread::spawn(move || run(listener, inner_addr, s, limits));
            Fixture {
                addr,
                stop,
                server,
                guard: Some(guard),
            }
        }

        fn connect(&self) -> TcpStream {
            let c = TcpStream::connect(self.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            self.server.unblock();
            wake(self.addr);
        }
    }

    fn short() -> Limits {
        Limits {
            max_connections: 2,
            head: Duration::from_millis(300),
            idle: Duration::from_millis(200),
        }
    }

    /// Reads until the peer closes (bounded by the read timeout).
    fn rest(c: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn a_head_trickling_in_is_cut_off_at_the_head_limit() {
        // Each byte comes well within the limit; the head as a whole does
        // not. (A per-read timeout would wait for ever.)
        let f = Fixture::start(short());
        let mut c = f.connect();
        c.write_all(b"GET /a.html HTTP/1.1\r\nX-Slow: ").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut answer = Vec::new();
        for _ in 0..200 {
            if c.write_all(b"y").is_err() {
                break;
            }
            let mut buf = [0u8; 512];
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(_) if !answer.is_empty() => break,
                Err(_) => {}
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    }

    #[test]
    fn a_silent_client_is_answered_408() {
        let f = Fixture::start(short());
        let answer = rest(&mut f.connect());
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
        assert!(answer.contains("Connection: close"), "{answer}");
    }

    #[test]
    fn an_idle_kept_alive_connection_is_closed_quietly() {
        let f = Fixture::start(short());
        let mut c = f.connect();
        c.write_all(b"GET /a.html HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let answer = rest(&mut c);
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.contains("Connection: keep-alive\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\n<p>A</p>"),
            "nothing after the answer: {answer}"
        );
    }

    #[test]
    fn connections_beyond_the_limit_are_answered_503() {
        let f = Fixture::start(Limits {
            head: Duration::from_secs(10),
            ..short()
        });
        let _held: Vec<TcpStream> = (0..2).map(|_| f.connect()).collect();
        let answer = rest(&mut f.connect());
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    }

    #[test]
    fn a_blocked_accept_returns_when_woken() {
        let mut f = Fixture::start(Limits::default());
        let guard = f.guard.take().unwrap();
        f.stop.store(true, Ordering::SeqCst);
        wake(f.addr);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(guard.join().is_ok()));
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(true));
    }
}
