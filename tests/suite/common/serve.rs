//! A running `docs serve` on an ephemeral 127.0.0.1 port, and a raw HTTP
//! client (so that probes are sent exactly as written).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub log: Arc<Mutex<String>>,
}

impl Serve {
    pub fn start(root: &std::path::Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_docs"))
            .args([
                "-C",
                root.to_str().unwrap(),
                "--color",
                "never",
                "serve",
                "--port",
                "0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start docs serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(p) = line.split("127.0.0.1:").nth(1) {
                    let _ = tx.send(
                        p.trim_end_matches(|c: char| !c.is_ascii_digit())
                            .split('/')
                            .next()
                            .unwrap_or("")
                            .parse::<u16>()
                            .unwrap_or(0),
                    );
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("docs serve printed its address");
        Serve { child, port, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded: 20 s) until the server has printed `needle`.
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "the server never printed {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> Http {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        ))
    }

    pub fn request(&self, raw: &str) -> Http {
        request(self.port, raw.as_bytes())
    }

    /// The live state once its version passes `since` (long-poll).
    pub fn poll(&self, since: u64) -> serde_json::Value {
        let r = self.get(&format!("/__docs/poll?since={since}"));
        assert_eq!(r.status, 200, "{}", r.text());
        serde_json::from_slice(&r.body).expect("poll json")
    }

    /// Polls until `pred` holds (bounded: 20 s).
    pub fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = self.poll(0);
        while !pred(&state) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last state {state}\nlog:\n{}",
                self.log()
            );
            state = self.poll(state["version"].as_u64().unwrap());
        }
        state
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Http {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends raw bytes on a new connection and reads one answer (by its
/// Content-Length, else to the end).
pub fn request(port: u16, raw: &[u8]) -> Http {
    let mut c = Conn::open(port);
    // The server may answer and close before reading everything (limits).
    c.send(raw);
    c.answer(false).unwrap_or_else(|| parse(&c.buf))
}

/// A client connection kept open across requests (keep-alive).
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes raw bytes (errors ignored: the server may have closed).
    pub fn send(&mut self, raw: &[u8]) {
        let _ = self.stream.write_all(raw);
    }

    /// `send` then `answer` for a GET (or HEAD) of `path` asking to keep
    /// the connection.
    pub fn get(&mut self, method: &str, path: &str) -> Option<Http> {
        self.send(format!("{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        self.answer(method == "HEAD")
    }

    /// Reads the next answer, framed by Content-Length or chunked, or to
    /// the end of the connection if it has neither; `None` if the
    /// connection ends (or times out) first. `head` says the request
    /// was HEAD (no body follows).
    pub fn answer(&mut self, head: bool) -> Option<Http> {
        let end = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head_text = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
        let code: u16 = head_text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let bodiless = head || code < 200 || code == 204 || code == 304;
        let field = |name: &str| {
            head_text
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let total = if bodiless {
            end
        } else if let Some(len) = field("content-length:").and_then(|v| v.parse::<usize>().ok()) {
            while self.buf.len() < end + len {
                if !self.fill() {
                    return None;
                }
            }
            end + len
        } else if field("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            loop {
                if let Some(n) = chunked_len(&self.buf[end..]) {
                    break end + n;
                }
                if !self.fill() {
                    return None;
                }
            }
        } else {
            while self.fill() {}
            self.buf.len()
        };
        let http = parse(&self.buf[..total]);
        self.buf.drain(..total);
        Some(http)
    }

    /// Whether the server has closed the connection (reads to its end;
    /// bounded by the read timeout).
    pub fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        self.buf.is_empty() && matches!(self.stream.read(&mut byte), Ok(0))
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }
}

/// The length of a complete chunked body at the start of `b`, if it is
/// all there.
fn chunked_len(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let nl = b[at..].windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[at..at + nl]).ok()?.trim(), 16).ok()?;
        at += nl + 2 + size + 2;
        if at > b.len() {
            return None;
        }
        if size == 0 {
            return Some(at);
        }
    }
}

fn parse(buf: &[u8]) -> Http {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf.get(end + 4..).unwrap_or_default().to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Transfer-Encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Http {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
    out
}
