//! Answering one request from the in-memory site. Nothing is ever read from
//! disk here, so no path can reach outside the built site; paths are
//! still validated strictly so that probes get a clear 400.

use std::io::Cursor;

use tiny_http::{Header, Method, Request, Response, StatusCode};

use super::live::{Live, LIVE_JS};

/// Limits on what a client may send.
pub const MAX_HEADERS: usize = 64;
pub const MAX_URL: usize = 2048;

type Resp = Response<Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn plain(code: u16, text: &str) -> Resp {
    Response::from_string(text)
        .with_status_code(code)
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
}

/// Handles a request, or parks it (long-poll).
pub fn handle(req: Request, live: &Live) {
    if req.headers().len() > MAX_HEADERS {
        let _ = req.respond(plain(431, "too many request headers\n"));
        return;
    }
    if req.url().len() > MAX_URL {
        let _ = req.respond(plain(414, "URL too long\n"));
        return;
    }
    if !matches!(req.method(), Method::Get | Method::Head) {
        let _ = req
            .respond(plain(405, "only GET and HEAD\n").with_header(header("Allow", "GET, HEAD")));
        return;
    }
    if req.body_length().is_some_and(|n| n > 0) {
        let _ = req.respond(plain(413, "requests have no body here\n"));
        return;
    }
    let url = req.url().to_string();
    let (raw_path, query) = url.split_once('?').unwrap_or((&url, ""));
    match raw_path {
        "/__docs/live.js" => {
            let r = Response::from_string(LIVE_JS)
                .with_header(header("Content-Type", "text/javascript; charset=utf-8"))
                .with_header(header("Cache-Control", "no-store"));
            let _ = req.respond(r);
            return;
        }
        "/__docs/poll" => {
            let since = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("since="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            live.poll(req, since);
            return;
        }
        _ => {}
    }
    let path = match decode_path(raw_path) {
        Ok(p) => p,
        Err(why) => {
            let _ = req.respond(plain(400, &format!("bad path: {why}\n")));
            return;
        }
    };
    let resp = respond_file(&req, live, &path);
    let _ = req.respond(resp);
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
                .with_header(header("Location", &format!("/{key}/")));
        }
        let body = snap
            .files
            .get("404.html")
            .map(|f| f.bytes.clone())
            .unwrap_or_else(|| b"not found\n".to_vec());
        return Response::from_data(body)
            .with_status_code(404)
            .with_header(header("Content-Type", "text/html; charset=utf-8"))
            .with_header(header("Cache-Control", "no-store"));
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
        r.with_header(header("ETag", &etag))
            .with_header(header("Cache-Control", "no-cache"))
            .with_header(header("Vary", "Accept-Encoding"))
            .with_header(header("X-Content-Type-Options", "nosniff"))
    };
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return common(Response::from_data(Vec::new()).with_status_code(StatusCode(304)));
    }
    let body = gz.map(<[u8]>::to_vec).unwrap_or_else(|| file.bytes.clone());
    let mut r =
        common(Response::from_data(body).with_header(header("Content-Type", file.content_type)));
    if gz.is_some() {
        r = r.with_header(header("Content-Encoding", "gzip"));
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
