//! The gatekeeper's side of tiny_http ([`super::guard`]): each request
//! goes to tiny_http's internal loopback port as HTTP/1.0 (as nginx talks
//! to its upstreams), so tiny_http never chunks: every answer has a
//! Content-Length and is read whole, by that length, before a byte goes
//! to the client. A client that reads slowly thus holds only its own
//! connection thread, never a tiny_http worker. The answer is then
//! re-framed for the client: HTTP/1.1, its length, keep-alive or close.
//!
//! One connection per request, not one kept per client: tiny_http gives
//! each open connection a thread of its pool for as long as it is open,
//! and its pool can leave a new connection queued until another one
//! closes (a lost wake-up in `TaskPool::spawn`). Kept connections made the
//! first request of some clients wait 1.3 to 2.1 s under bench/load.py;
//! a connection per request is a task of microseconds.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::head::Head;

/// Longest wait for tiny_http's answer (a long-poll is answered after
/// `live::POLL_TIMEOUT`, well within it).
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer head read from tiny_http (its heads are a few lines).
const MAX_ANSWER_HEAD: usize = 64 * 1024;

/// tiny_http's whole answer to `req` (head and body), or `None` if it
/// could not be had.
pub fn ask(inner: SocketAddr, req: &Head) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect(inner).ok()?;
    conn.set_nodelay(true).ok();
    conn.set_read_timeout(Some(TIMEOUT)).ok();
    exchange(&mut conn, &req.upstream, req).ok()
}

/// Sends a request and reads its answer, by its Content-Length if it has
/// one, else to the end of the connection.
fn exchange(conn: &mut TcpStream, wire: &[u8], req: &Head) -> Result<Vec<u8>, ()> {
    conn.write_all(wire).map_err(|_| ())?;
    let mut answer = Vec::with_capacity(16 * 1024);
    let end = loop {
        if let Some(i) = find(&answer, b"\r\n\r\n") {
            break i + 4;
        }
        if answer.len() > MAX_ANSWER_HEAD || !matches!(fill(conn, &mut answer), Ok(true)) {
            return Err(());
        }
    };
    let (code, length) = status_and_length(&answer[..end]).ok_or(())?;
    let body = if bodiless(&req.method, code) {
        Some(0)
    } else {
        length
    };
    match body {
        Some(n) => {
            while answer.len() < end + n {
                if !matches!(fill(conn, &mut answer), Ok(true)) {
                    return Err(());
                }
            }
            answer.truncate(end + n);
            Ok(answer)
        }
        // No length: the answer ends with the connection.
        None => {
            while matches!(fill(conn, &mut answer), Ok(true)) {}
            Ok(answer)
        }
    }
}

/// Reads more into `buf`: `Ok(false)` at the end of the stream.
fn fill(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match conn.read(&mut chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(true);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether an answer to `method` with status `code` has no body, whatever
/// its Content-Length says.
fn bodiless(method: &str, code: u16) -> bool {
    method == "HEAD" || code < 200 || code == 204 || code == 304
}

/// The status code and Content-Length of an answer head.
fn status_and_length(head: &[u8]) -> Option<(u16, Option<usize>)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let code = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok());
    Some((code, length))
}

/// tiny_http's answer with the client connection's framing: HTTP/1.1, a
/// Content-Length, `Connection: keep-alive` (with the idle limit) or
/// `close`. `None` if the answer is broken (cut short, or no head).
pub fn reframe(answer: &[u8], req: &Head, keep: bool, idle: Duration) -> Option<Vec<u8>> {
    let end = find(answer, b"\r\n\r\n")?;
    let text = std::str::from_utf8(&answer[..end]).ok()?;
    let body = &answer[end + 4..];
    let (code, length) = status_and_length(&answer[..end])?;
    let bodiless = bodiless(&req.method, code);
    let mut lines = text.split("\r\n");
    let status = lines.next()?.split_once(' ')?.1;
    let mut out = Vec::with_capacity(end + 128 + if bodiless { 0 } else { body.len() });
    out.extend_from_slice(format!("HTTP/1.1 {status}\r\n").as_bytes());
    for line in lines {
        let name = line.split(':').next().unwrap_or("").trim();
        let hop = [
            "content-length",
            "connection",
            "keep-alive",
            "transfer-encoding",
        ];
        if !hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
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
        let idle = idle.as_secs().max(1);
        out.extend_from_slice(
            format!("Connection: keep-alive\r\nKeep-Alive: timeout={idle}\r\n\r\n").as_bytes(),
        );
    } else {
        out.extend_from_slice(b"Connection: close\r\n\r\n");
    }
    if !bodiless {
        out.extend_from_slice(body);
    }
    Some(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::head;

    /// A stand-in for tiny_http: connection `i` answers its requests with
    /// `script[i]`, then closes. Returns its address and the requests seen.
    fn fake(script: Vec<Vec<&'static str>>) -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for replies in script {
                let (mut conn, _) = listener.accept().unwrap();
                for reply in replies {
                    let mut seen = Vec::new();
                    while find(&seen, b"\r\n\r\n").is_none() {
                        if !matches!(fill(&mut conn, &mut seen), Ok(true)) {
                            return;
                        }
                    }
                    let _ = tx.send(String::from_utf8_lossy(&seen).into_owned());
                    conn.write_all(reply.as_bytes()).unwrap();
                }
            }
        });
        (addr, rx)
    }

    fn get() -> Head {
        head::parse(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap()
    }

    fn body(answer: Option<Vec<u8>>) -> String {
        let a = String::from_utf8(answer.expect("an answer")).unwrap();
        a.split_once("\r\n\r\n").unwrap().1.to_string()
    }

    #[test]
    fn a_request_goes_as_http_1_0_and_its_answer_is_read_by_length() {
        // The connection stays open after the answer: reading stops at
        // its length, not at the end of the connection.
        let ok = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let (addr, seen) = fake(vec![vec![ok, ok]]);
        assert_eq!(body(ask(addr, &get())), "hi");
        assert_eq!(seen.recv().unwrap(), "GET /a HTTP/1.0\r\nhost:x\r\n\r\n");
    }

    #[test]
    fn a_head_answer_has_no_body_whatever_its_length() {
        let (addr, _) = fake(vec![vec![
            "HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\n",
            "",
        ]]);
        let head = head::parse(b"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        let answer = ask(addr, &head).unwrap();
        assert!(answer.ends_with(b"Content-Length: 9\r\n\r\n"));
    }

    #[test]
    fn an_answer_cut_short_is_no_answer() {
        let (addr, _) = fake(vec![vec!["HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nhi"]]);
        assert!(ask(addr, &get()).is_none());
    }

    #[test]
    fn an_unframed_or_cut_answer_is_never_passed_as_complete() {
        let req = head::parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        let idle = Duration::from_secs(10);
        let ok = reframe(
            b"HTTP/1.0 200 OK\r\nServer: t\r\nContent-Length: 2\r\n\r\nhi",
            &req,
            true,
            idle,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(ok).unwrap(),
            "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\nhi"
        );
        let cut = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhi";
        assert!(reframe(cut, &req, true, idle).is_none());
        assert!(reframe(b"HTTP/1.0 200 OK\r\nContent-", &req, true, idle).is_none());
        assert!(reframe(b"", &req, true, idle).is_none());
    }
}
