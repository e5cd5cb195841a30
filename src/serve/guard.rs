//! A gatekeeper in front of tiny_http. tiny_http reads request heads with
//! no size bound and its thread pool can queue new connections behind
//! stalled ones; so clients talk to this loop instead. Each connection gets
//! a thread (at most `MAX_CONNECTIONS`), its request head is read with
//! limits (size, header count, time), and only a complete request is
//! passed on to tiny_http on an internal loopback port, whose answer is
//! copied back. tiny_http never waits on a slow client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Concurrent client connections (long-polls included).
pub const MAX_CONNECTIONS: usize = 256;
/// Largest request head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 64;
/// A client must send its whole request head within this time.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(listener: TcpListener, inner: SocketAddr, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    listener.set_nonblocking(true).ok();
    while !stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((c, _)) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => continue,
        };
        client.set_nonblocking(false).ok();
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            refuse(client, 503, "Service Unavailable", "too many connections\n");
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let active = active.clone();
        std::thread::spawn(move || {
            serve_one(client, inner);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn refuse(mut client: TcpStream, code: u16, reason: &str, body: &str) {
    let _ = write!(
        client,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// One request per connection: read the head within limits, forward it,
/// copy the answer back.
fn serve_one(mut client: TcpStream, inner: SocketAddr) {
    client.set_read_timeout(Some(HEAD_TIMEOUT)).ok();
    client.set_write_timeout(Some(Duration::from_secs(30))).ok();
    let head = match read_head(&mut client) {
        Ok(h) => h,
        Err(Refusal::Silent) => return,
        Err(Refusal::Answer(code, reason, body)) => return refuse(client, code, reason, body),
    };
    let Ok(mut upstream) = TcpStream::connect(inner) else {
        return refuse(client, 502, "Bad Gateway", "the server is restarting\n");
    };
    upstream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok();
    if upstream.write_all(&head).is_err() {
        return;
    }
    let mut buf = [0u8; 16 * 1024];
    loop {
        match upstream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if client.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
}

enum Refusal {
    Silent,
    Answer(u16, &'static str, &'static str),
}

/// Reads up to the blank line; rewrites the head to close after one
/// request (the answer is copied until the upstream closes).
fn read_head(client: &mut TcpStream) -> Result<Vec<u8>, Refusal> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let end = loop {
        if let Some(i) = find(&head, b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > MAX_HEAD {
            return Err(Refusal::Answer(
                431,
                "Request Header Fields Too Large",
                "request head too large\n",
            ));
        }
        match client.read(&mut buf) {
            Ok(0) => return Err(Refusal::Silent),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(_) => {
                return Err(Refusal::Answer(
                    408,
                    "Request Timeout",
                    "request not received in time\n",
                ))
            }
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    if request_line.split(' ').count() != 3 {
        return Err(Refusal::Answer(
            400,
            "Bad Request",
            "malformed request line\n",
        ));
    }
    let mut out = format!("{request_line}\r\n");
    let mut count = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        count += 1;
        if count > MAX_HEADERS {
            return Err(Refusal::Answer(
                431,
                "Request Header Fields Too Large",
                "too many request headers\n",
            ));
        }
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name == "content-length" && line.split(':').nth(1).is_some_and(|v| v.trim() != "0")
            || name == "transfer-encoding"
        {
            return Err(Refusal::Answer(
                413,
                "Payload Too Large",
                "requests have no body here\n",
            ));
        }
        if name == "connection" || name == "keep-alive" {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    Ok(out.into_bytes())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
