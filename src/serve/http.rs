//! Answering one request from the in-memory site. Nothing is ever read from
//! disk here, so no path can reach outside the built site; paths are
//! still validated strictly so that probes get a clear 400.

use std::io::Cursor;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

use super::live::{Live, LIVE_JS};

/// Limits on what a client may send.
pub const MAX_HEADERS: usize = 64;
pub const MAX_URL: usize = 2048;

pub type Resp = Response<Cursor<Vec<u8>>>;

/// What to do with a request.
pub enum Answer {
    Now(Resp),
    /// A long-poll for a state newer than this version: park it.
    Park(u64),
}

/// A worker: answers requests until `stop`. A handler that panics costs
/// its request a 500, never the worker (nor, one by one, the server).
pub fn work(server: &Server, live: &Live, stop: &AtomicBool) {
    serve_requests(
        server,
        stop,
        |req| answer(req, live),
        |req, since| live.poll(req, since),
    );
}

fn serve_requests(
    server: &Server,
    stop: &AtomicBool,
    answer: impl Fn(&Request) -> Answer,
    park: impl Fn(Request, u64),
) {
    while !stop.load(Ordering::SeqCst) {
        let req = match server.recv_timeout(Duration::from_millis(250)) {
            Ok(Some(req)) => req,
            Ok(None) => continue,
            Err(_) => break,
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| answer(&req))) {
            Ok(Answer::Now(resp)) => {
                let _ = req.respond(resp);
            }
            Ok(Answer::Park(since)) => park(req, since),
            Err(_) => {
                // The panic message is already on stderr.
                eprintln!(
                    "error: internal error answering {} {} (answered 500; please report it)",
                    req.method(),
                    req.url()
                );
                let _ = req.respond(plain(500, "internal error\n"));
            }
        }
    }
}

/// Bytes that cannot go into a header value as they are: controls, and
/// everything beyond ASCII (which `utf8_percent_encode` always encodes;
/// tiny_http takes ASCII only). URLs are encoded before ([`url_path`]),
/// so `%` is left alone.
const HEADER_VALUE: &AsciiSet = CONTROLS;
/// What a path segment of a URL cannot hold as it is (RFC 3986).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Setting a header whatever its value: values are percent-encoded as
/// needed, so a page named `café` cannot make an invalid header.
pub trait SetHeader {
    fn set(self, name: &'static str, value: &str) -> Self;
}

impl SetHeader for Resp {
    fn set(self, name: &'static str, value: &str) -> Resp {
        match header(name, value) {
            Some(h) => self.with_header(h),
            None => self,
        }
    }
}

fn header(name: &'static str, value: &str) -> Option<Header> {
    let value = utf8_percent_encode(value, HEADER_VALUE).to_string();
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// A site path as a URL path: each segment percent-encoded.
fn url_path(path: &str) -> String {
    path.split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn plain(code: u16, text: &str) -> Resp {
    Response::from_string(text)
        .with_status_code(code)
        .set("Content-Type", "text/plain; charset=utf-8")
}

/// The answer to a request, or a long-poll to park.
pub fn answer(req: &Request, live: &Live) -> Answer {
    if req.headers().len() > MAX_HEADERS {
        return Answer::Now(plain(431, "too many request headers\n"));
    }
    if req.url().len() > MAX_URL {
        return Answer::Now(plain(414, "URL too long\n"));
    }
    if !matches!(req.method(), Method::Get | Method::Head) {
        return Answer::Now(plain(405, "only GET and HEAD\n").set("Allow", "GET, HEAD"));
    }
    if req.body_length().is_some_and(|n| n > 0) {
        return Answer::Now(plain(413, "requests have no body here\n"));
    }
    let url = req.url();
    let (raw_path, query) = url.split_once('?').unwrap_or((url, ""));
    match raw_path {
        "/__docs/live.js" => {
            return Answer::Now(
                Response::from_string(LIVE_JS)
                    .set("Content-Type", "text/javascript; charset=utf-8")
                    .set("Cache-Control", "no-store"),
            )
        }
        "/__docs/poll" => {
            let since = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("since="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            return Answer::Park(since);
        }
        _ => {}
    }
    match decode_path(raw_path) {
        Ok(path) => Answer::Now(respond_file(req, live, &path)),
        Err(why) => Answer::Now(plain(400, &format!("bad path: {why}\n"))),
    }
}

fn respond_file(req: &Request, live: &Live, path: &str) -> Resp {
    let snap = live.snapshot();
    let key = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let Some(file) = snap.files.get(&key) else {
        // A directory without its slash: redirect, so relative links work.
        if snap.files.contains_key(&format!("{key}/index.html")) {
            return Response::from_string("")
                .with_status_code(301)
                .set("Location", &format!("/{}/", url_path(&key)));
        }
        let body = snap
            .files
            .get("404.html")
            .map(|f| f.bytes.clone())
            .unwrap_or_else(|| b"not found\n".to_vec());
        return Response::from_data(body)
            .with_status_code(404)
            .set("Content-Type", "text/html; charset=utf-8")
            .set("Cache-Control", "no-store");
    };
    let accepts_gzip = req.headers().iter().any(|h| {
        h.field.equiv("Accept-Encoding")
            && h.value
                .as_str()
                .split(',')
                .any(|e| e.trim().starts_with("gzip"))
    });
    let gz = if accepts_gzip { file.gzip() } else { None };
    let etag = match gz {
        Some(_) => format!("{}-gz\"", file.etag().trim_end_matches('"')),
        None => file.etag().to_string(),
    };
    let if_none_match = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("If-None-Match"))
        .map(|h| h.value.as_str().to_string());
    let common = |r: Resp| {
        r.set("ETag", &etag)
            .set("Cache-Control", "no-cache")
            .set("Vary", "Accept-Encoding")
            .set("X-Content-Type-Options", "nosniff")
    };
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return common(Response::from_data(Vec::new()).with_status_code(StatusCode(304)));
    }
    let body = gz.map(<[u8]>::to_vec).unwrap_or_else(|| file.bytes.clone());
    let mut r = common(Response::from_data(body).set("Content-Type", file.content_type));
    if gz.is_some() {
        r = r.set("Content-Encoding", "gzip");
    }
    r
}

/// Turns a request path into a key of the site: percent-decoded, UTF-8,
/// no `.`/`..` segments, no encoded or back slashes, no NUL.
pub fn decode_path(raw: &str) -> Result<String, &'static str> {
    let rest = raw.strip_prefix('/').ok_or("must start with /")?;
    let mut out = Vec::new();
    let segments: Vec<&str> = rest.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            if i + 1 == segments.len() {
                break; // a trailing slash: a directory
            }
            return Err("empty path segment");
        }
        let bytes = percent_decode(seg).ok_or("bad percent-encoding")?;
        let s = String::from_utf8(bytes).map_err(|_| "not UTF-8")?;
        if s == "." || s == ".." {
            return Err("`.` and `..` are not allowed");
        }
        if s.contains(['/', '\\', '\0']) || s.contains(':') && i == 0 {
            return Err("encoded separators are not allowed");
        }
        out.push(s);
    }
    let mut path = out.join("/");
    if raw.ends_with('/') && !path.is_empty() {
        path.push('/');
    }
    Ok(path)
}

/// Percent-decodes a path segment; `None` unless every `%` is followed by
/// two hex digits (`%+f`, `%2`, `%zz` are refused, not passed on).
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let well_formed = b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    well_formed.then(|| percent_encoding::percent_decode(b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_handler_costs_a_500_not_the_worker() {
        use std::io::{Read, Write};
        use std::sync::Arc;
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let addr = server.server_addr().to_ip().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        // One worker: if a panic took it, nothing would answer after.
        let worker = {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::spawn(move || {
                let answer = |req: &Request| {
                    assert!(req.url() != "/boom", "a planted bug");
                    Answer::Now(plain(200, "fine\n"))
                };
                serve_requests(&server, &stop, answer, |_, _| {})
            })
        };
        let get = |path: &str| {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(c, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
            let mut out = String::new();
            let _ = c.read_to_string(&mut out);
            out
        };
        for _ in 0..3 {
            assert!(get("/boom").starts_with("HTTP/1.0 500 "));
        }
        let fine = get("/ok");
        assert!(
            fine.starts_with("HTTP/1.0 200 ") && fine.ends_with("fine\n"),
            "{fine}"
        );
        stop.store(true, Ordering::SeqCst);
        worker.join().unwrap();
    }

    #[test]
    fn header_values_are_always_valid() {
        for v in ["/café/", "a\r\nSet-Cookie: x", "nul\0", "ok", "%zz"] {
            let h = header("Location", v).unwrap();
            assert!(
                h.value.as_str().bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{v:?}"
            );
        }
        assert_eq!(
            url_path("café/100% sure?/a#b"),
            "caf%C3%A9/100%25%20sure%3F/a%23b"
        );
    }

    #[test]
    fn decodes_ordinary_paths() {
        assert_eq!(decode_path("/").unwrap(), "");
        assert_eq!(decode_path("/a.html").unwrap(), "a.html");
        assert_eq!(decode_path("/guide/b.html").unwrap(), "guide/b.html");
        assert_eq!(decode_path("/guide/").unwrap(), "guide/");
        assert_eq!(decode_path("/my%20page.html").unwrap(), "my page.html");
    }

    #[test]
    fn refuses_traversal_forms() {
        for p in [
            "/../etc/passwd",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E/%2E%2E/x",
            "/.%2e/x",
            "/a/%2f/b",
            "/a%2fb",
            "/a%5cb",
            "/..%5c..%5cx",
            "/a\\..\\b",
            "/%00",
            "/a%00.html",
            "//etc/passwd",
            "/a//b",
            "/./a",
            "/%",
            "/%zz",
            "/%+f",
            "/a%2",
            "/%-1",
            "/%c0%ae%c0%ae/x",
            "relative",
            "/C:%5cwindows",
            "/a/.",
        ] {
            assert!(decode_path(p).is_err(), "{p} must be refused");
        }
    }
}
