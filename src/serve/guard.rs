//! The gatekeeper in front of tiny_http. tiny_http reads request heads
//! with no size bound and its thread pool can queue new connections
//! behind stalled ones; so clients talk to this loop instead. Each
//! connection gets a thread (at most `max_connections`); each request
//! head is read within limits (size and header count by
//! [`super::head::parse`], time here), and only a complete request is
//! passed on to tiny_http on an internal loopback port.
//!
//! Connections are kept alive: requests are taken one after another (a
//! pipelined one waits its turn) until the client says `close`, stays
//! idle too long, or breaks a rule. Each request goes to tiny_http on a
//! fresh connection as HTTP/1.0 (as nginx talks to its upstreams), so
//! tiny_http answers with a Content-Length and closes; the whole answer
//! is read before any byte goes to the client, so a client that reads
//! slowly holds only its own connection thread, never a tiny_http worker.
//! The answer is then sent with this connection's framing: HTTP/1.1, its
//! Content-Length, and `Connection: keep-alive` or `close`.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::head::{self, Head, Refusal};

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

/// Longest wait for tiny_http's answer (a long-poll is answered after
/// `live::POLL_TIMEOUT`, well within it).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
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

/// Answers a refusal and closes.
fn refuse(mut client: TcpStream, r: &Refusal) {
    let _ = write!(
        client,
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        r.code,
        r.reason,
        r.body.len(),
        r.body
    );
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
        let Some(answer) = ask_upstream(inner, &head.upstream) else {
            return refuse(client, &UPSTREAM);
        };
        let keep = head.keep_alive && !stop.load(Ordering::SeqCst);
        let Some((out, keep)) = reframe(&answer, &head, keep, limits) else {
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

/// Sends one request to tiny_http and reads its whole answer (it closes
/// after answering an HTTP/1.0 request).
fn ask_upstream(inner: SocketAddr, head: &[u8]) -> Option<Vec<u8>> {
    let mut upstream = TcpStream::connect(inner).ok()?;
    upstream.set_nodelay(true).ok();
    upstream.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok();
    upstream.write_all(head).ok()?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).ok()?;
    Some(answer)
}

/// tiny_http's answer with this connection's framing: HTTP/1.1, a
/// Content-Length, and whether the connection stays open. `None` if the
/// answer is broken (cut short, or no head).
fn reframe(answer: &[u8], req: &Head, keep: bool, limits: &Limits) -> Option<(Vec<u8>, bool)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&answer[..end]).ok()?;
    let body = &answer[end + 4..];
    let mut lines = text.split("\r\n");
    let status = lines.next()?.split_once(' ')?.1;
    let code: u16 = status.get(..3)?.parse().ok()?;
    let bodiless = req.method == "HEAD" || code < 200 || code == 204 || code == 304;
    let mut out = Vec::with_capacity(end + 128 + if bodiless { 0 } else { body.len() });
    out.extend_from_slice(format!("HTTP/1.1 {status}\r\n").as_bytes());
    let mut length = None;
    for line in lines {
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = line.split_once(':')?.1.trim().parse::<usize>().ok();
            continue;
        }
        if ["connection", "keep-alive", "transfer-encoding"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if bodiless {
        // HEAD: the length of what GET would send.
        if let Some(n) = length {
            out.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
        }
    } else {
        if length.is_some_and(|n| n != body.len()) {
            return None;
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    if keep {
        let idle = limits.idle.as_secs().max(1);
        out.extend_from_slice(
            format!("Connection: keep-alive\r\nKeep-Alive: timeout={idle}\r\n\r\n").as_bytes(),
        );
    } else {
        out.extend_from_slice(b"Connection: close\r\n\r\n");
    }
    if !bodiless {
        out.extend_from_slice(body);
    }
    Some((out, keep))
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
    fn an_unframed_or_cut_answer_is_never_passed_as_complete() {
        let req = head::parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        let l = Limits::default();
        let ok = reframe(
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            &req,
            true,
            &l,
        )
        .unwrap();
        let text = String::from_utf8(ok.0).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("Content-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\nhi"), "{text}");
        assert!(reframe(
            b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhi",
            &req,
            true,
            &l
        )
        .is_none());
        assert!(reframe(b"HTTP/1.0 200 OK\r\nContent-", &req, true, &l).is_none());
        assert!(reframe(b"", &req, true, &l).is_none());
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
