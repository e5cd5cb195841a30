//! The request head, parsed from bytes with no I/O: the gatekeeper
//! ([`super::guard`]) reads a client's bytes into a buffer and asks
//! [`parse`] whether a complete, acceptable head is there. Being a pure
//! function, it is fuzzed (`fuzz::targets::HTTP_HEAD`) and tested without
//! sockets.
//!
//! It is strict where leniency lets two parsers disagree about where a
//! request ends (request smuggling): lines end with CRLF only, no folded
//! lines, no space before a header's colon, one Host, and no request body
//! at all (the site is read-only). What it passes on is rebuilt from the
//! parts it checked, as HTTP/1.0 without hop-by-hop headers, so the
//! server behind answers once, with a Content-Length, and closes.

/// Largest request head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 64;

/// A complete request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Bytes of the buffer this head took (blank lines before it
    /// included); what follows is the next request (pipelining).
    pub len: usize,
    pub method: String,
    /// Whether the client may send another request on this connection.
    pub keep_alive: bool,
    /// The head to pass on: HTTP/1.0, hop-by-hop headers removed, header
    /// names lowercased; never longer than the head it comes from.
    pub upstream: Vec<u8>,
}

/// Why a head is refused: the answer to send before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    pub body: &'static str,
}

const fn refusal(code: u16, reason: &'static str, body: &'static str) -> Refusal {
    Refusal { code, reason, body }
}

const BAD_LINE: Refusal = refusal(400, "Bad Request", "malformed request line\n");
const BAD_HEADER: Refusal = refusal(400, "Bad Request", "malformed header line\n");
const BAD_ENDING: Refusal = refusal(400, "Bad Request", "lines must end with CRLF\n");
const BAD_HOST: Refusal = refusal(400, "Bad Request", "one Host header is required\n");
const BAD_VERSION: Refusal = refusal(
    505,
    "HTTP Version Not Supported",
    "only HTTP/1.0 and HTTP/1.1\n",
);
const TOO_LARGE: Refusal = refusal(
    431,
    "Request Header Fields Too Large",
    "request head too large\n",
);
const TOO_MANY: Refusal = refusal(
    431,
    "Request Header Fields Too Large",
    "too many request headers\n",
);
const BODY: Refusal = refusal(413, "Payload Too Large", "requests have no body here\n");

/// Headers that concern one connection only (RFC 9110 §7.6.1), never
/// passed on.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// `Ok(None)`: the head is not complete yet (read more). `Err`: refuse it
/// and close the connection.
pub fn parse(buf: &[u8]) -> Result<Option<Head>, Refusal> {
    // Blank lines before a request are ignored (RFC 9112 §2.2).
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let rest = window.get(start..).unwrap_or_default();
    let end = find(rest, b"\r\n\r\n");
    // Refuse a bare CR or LF as soon as it arrives, not at the timeout.
    let checked = end.map_or(rest.len(), |e| e + 4);
    check_line_endings(&rest[..checked])?;
    let Some(end) = end else {
        return if buf.len() >= MAX_HEAD {
            Err(TOO_LARGE)
        } else {
            Ok(None)
        };
    };
    let mut lines = split_crlf(&rest[..end]);
    let (method, target, minor) = request_line_parts(lines.next().unwrap_or_default())?;
    let header_lines: Vec<&[u8]> = lines.take(MAX_HEADERS + 1).collect();
    if header_lines.len() > MAX_HEADERS {
        return Err(TOO_MANY);
    }
    let mut headers = Vec::with_capacity(header_lines.len());
    for line in header_lines {
        headers.push(header_parts(line)?);
    }
    let mut hosts = 0;
    let (mut close, mut keep) = (false, false);
    let mut dropped: Vec<String> = Vec::new();
    for (name, value) in &headers {
        match name.as_str() {
            "host" => hosts += 1,
            "content-length" => {
                if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                    return Err(BAD_HEADER);
                }
                if value.iter().any(|&d| d != b'0') {
                    return Err(BODY);
                }
            }
            "transfer-encoding" => return Err(BODY),
            "connection" => {
                for token in value.split(|&b| b == b',') {
                    let token = String::from_utf8_lossy(token.trim_ascii()).to_ascii_lowercase();
                    close |= token == "close";
                    keep |= token == "keep-alive";
                    dropped.push(token);
                }
            }
            _ => {}
        }
    }
    if hosts > 1 || hosts == 0 && minor == 1 {
        return Err(BAD_HOST);
    }
    let mut upstream = Vec::with_capacity(end + 16);
    upstream.extend_from_slice(method.as_bytes());
    upstream.push(b' ');
    upstream.extend_from_slice(target);
    upstream.extend_from_slice(b" HTTP/1.0\r\n");
    for (name, value) in &headers {
        if HOP_BY_HOP.contains(&name.as_str()) || dropped.contains(name) {
            continue;
        }
        // `name:value`: never longer than the line it came from, so what
        // is passed on is bounded like what came in.
        upstream.extend_from_slice(name.as_bytes());
        upstream.push(b':');
        upstream.extend_from_slice(value);
        upstream.extend_from_slice(b"\r\n");
    }
    upstream.extend_from_slice(b"\r\n");
    Ok(Some(Head {
        len: start + end + 4,
        method,
        keep_alive: if minor == 1 { !close } else { keep && !close },
        upstream,
    }))
}

/// Every LF must follow a CR, and every CR precede an LF (a CR last in
/// the buffer may still get its LF).
fn check_line_endings(bytes: &[u8]) -> Result<(), Refusal> {
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match b {
            b'\n' => i > 0 && bytes[i - 1] == b'\r',
            b'\r' => bytes.get(i + 1).is_none_or(|&n| n == b'\n'),
            _ => true,
        };
        if !ok {
            return Err(BAD_ENDING);
        }
    }
    Ok(())
}

fn split_crlf(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match find(r, b"\r\n") {
            Some(i) => {
                rest = Some(&r[i + 2..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `METHOD SP target SP HTTP/1.x`, with the minor version.
fn request_line_parts(line: &[u8]) -> Result<(String, &[u8], u8), Refusal> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD_LINE);
    };
    if method.is_empty() || !method.iter().copied().all(is_tchar) {
        return Err(BAD_LINE);
    }
    // Visible ASCII only: clients percent-encode everything else.
    if target.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Err(BAD_LINE);
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        [b'H', b'T', b'T', b'P', b'/', d1, b'.', d2]
            if d1.is_ascii_digit() && d2.is_ascii_digit() =>
        {
            return Err(BAD_VERSION)
        }
        _ => return Err(BAD_LINE),
    };
    Ok((String::from_utf8_lossy(method).into_owned(), target, minor))
}

/// `name: value`, the name lowercased, the value without surrounding
/// blanks. No blank before the colon, no folded line, printable ASCII.
fn header_parts(line: &[u8]) -> Result<(String, &[u8]), Refusal> {
    let colon = line.iter().position(|&b| b == b':').ok_or(BAD_HEADER)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().copied().all(is_tchar) {
        return Err(BAD_HEADER);
    }
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return Err(BAD_HEADER);
    }
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    Ok((name, value.trim_ascii()))
}

/// A character of a token (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        parse(raw.as_bytes())
            .unwrap_or_else(|r| panic!("{raw:?} refused: {r:?}"))
            .unwrap_or_else(|| panic!("{raw:?} incomplete"))
    }

    fn refused(raw: &[u8]) -> u16 {
        match parse(raw) {
            Err(r) => r.code,
            Ok(h) => panic!("{:?} accepted: {h:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn a_complete_head_is_passed_on_as_http_1_0_without_hop_by_hop_headers() {
        let raw = "GET /a.html?x=1 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nAccept-Encoding:  gzip \r\n\r\n";
        let h = head(raw);
        assert_eq!(h.len, raw.len());
        assert_eq!(h.method, "GET");
        assert!(h.keep_alive);
        assert_eq!(
            String::from_utf8(h.upstream).unwrap(),
            "GET /a.html?x=1 HTTP/1.0\r\nhost:x\r\naccept-encoding:gzip\r\n\r\n"
        );
    }

    #[test]
    fn incomplete_heads_ask_for_more() {
        for raw in [
            "",
            "\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n\r",
        ] {
            assert_eq!(parse(raw.as_bytes()), Ok(None), "{raw:?}");
        }
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let ka = |raw: &str| head(raw).keep_alive;
        assert!(ka("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: x\r\nconnection: Keep-Alive, CLOSE\r\n\r\n"
        ));
        assert!(!ka("GET / HTTP/1.0\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn pipelined_requests_are_taken_one_at_a_time() {
        let one = "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        let two = "HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let both = format!("{one}{two}");
        let h = head(&both);
        assert_eq!((h.len, h.method.as_str()), (one.len(), "GET"));
        let h2 = head(&both[h.len..]);
        assert_eq!((h2.len, h2.method.as_str()), (two.len(), "HEAD"));
    }

    #[test]
    fn malformed_heads_are_refused() {
        let cases: &[(&[u8], u16)] = &[
            (b"BROKEN\r\n\r\n", 400),
            (b"GET /\r\nHost: x\r\n\r\n", 400),
            (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
            (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /a\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GET / HTTP/0.9\r\n\r\n", 505),
            (b"GET / FTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\r\n\r\n", 400),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                413,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -0\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 5\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                413,
            ),
            // Bare LF or CR: refused at once, complete or not.
            (b"GET / HTTP/1.1\nHost: x\n\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\nX: y", 400),
            (b"GET / HTTP/1.1\rHost: x", 400),
        ];
        for (raw, code) in cases {
            assert_eq!(refused(raw), *code, "{:?}", String::from_utf8_lossy(raw));
        }
        assert_eq!(
            head("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n").method,
            "GET"
        );
    }

    #[test]
    fn heads_are_bounded_in_size_and_header_count() {
        let long = format!("GET / HTTP/1.1\r\nX: {}", "y".repeat(MAX_HEAD));
        assert_eq!(refused(long.as_bytes()), 431);
        assert_eq!(refused(&b"\r\n".repeat(MAX_HEAD / 2)), 431);
        let fits: String = (0..MAX_HEADERS - 1)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        head(&format!("GET / HTTP/1.1\r\nHost: x\r\n{fits}\r\n"));
        assert_eq!(
            refused(format!("GET / HTTP/1.1\r\nHost: x\r\n{fits}X-Last: v\r\n\r\n").as_bytes()),
            431
        );
    }

    #[test]
    fn the_upstream_head_parses_to_itself() {
        let h = head("GET /x HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"a\"\r\n\r\n");
        let again = parse(&h.upstream).unwrap().unwrap();
        assert_eq!(again.upstream, h.upstream);
        assert!(!again.keep_alive);
    }
}
