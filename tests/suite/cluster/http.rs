//! HTTP/1.1 over std's TcpListener, written for this server rather than
//! borrowed: watches need each event flushed as its own chunk, the
//! "unreachable cluster" fault needs the listening socket really closed
//! (connection refused) and reopened on the same port, and exec needs the
//! connection handed over after a websocket upgrade. Keep-alive, bodies by
//! Content-Length or chunked; anything malformed is a 400 and a closed
//! connection, never a panic.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tls::Conn;
use super::Shared;

const MAX_HEADER_LINE: usize = 64 * 1024;
const MAX_BODY: usize = 32 * 1024 * 1024;
const MAX_CONNECTIONS: usize = 256;

#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler answers: a whole body (sent after `delay`), or a
/// stream that writes to the connection itself and then closes it.
pub enum Reply {
    Full {
        code: u16,
        content_type: String,
        body: Vec<u8>,
        delay: Duration,
    },
    Stream(Streamer),
}

/// Writes a streamed answer (a watch) on the connection.
pub type Streamer = Box<dyn FnOnce(&mut Conn) -> io::Result<()> + Send>;

pub fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        410 => "Gone",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

pub fn write_full(
    w: &mut impl Write,
    code: u16,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache, private\r\n\r\n",
        reason(code),
        body.len()
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// Starts a chunked response; send chunks with [`chunk`], end with [`end_chunks`].
pub fn start_chunked(w: &mut impl Write, code: u16, content_type: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n",
        reason(code)
    );
    w.write_all(head.as_bytes())?;
    w.flush()
}

pub fn chunk(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    write!(w, "{:x}\r\n", data.len())?;
    w.write_all(data)?;
    w.write_all(b"\r\n")?;
    w.flush()
}

pub fn end_chunks(w: &mut impl Write) -> io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

enum ReadError {
    /// No byte of a next request arrived yet.
    Idle,
    Closed,
    Bad(String),
}

fn read_line(r: &mut BufReader<Conn>) -> Result<String, ReadError> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut buf)
        .map_err(|e| ReadError::Bad(e.to_string()))?;
    if n == 0 {
        return Err(ReadError::Closed);
    }
    if !buf.ends_with(b"\n") {
        return Err(ReadError::Bad("header line too long".into()));
    }
    String::from_utf8(buf)
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
        .map_err(|_| ReadError::Bad("header is not UTF-8".into()))
}

fn read_request(r: &mut BufReader<Conn>) -> Result<Request, ReadError> {
    // Wait for the first byte with a short timeout (to notice a stop),
    // then read the rest of the request with a generous one.
    match r.fill_buf() {
        Ok([]) => return Err(ReadError::Closed),
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            return Err(ReadError::Idle)
        }
        Err(_) => return Err(ReadError::Closed),
    }
    let _ = r
        .get_ref()
        .socket()
        .set_read_timeout(Some(Duration::from_secs(10)));
    let line = read_line(r)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(format!("malformed request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(ReadError::Bad(format!("malformed request line {line:?}")));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        ..Request::default()
    };
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        if req.headers.len() > 200 {
            return Err(ReadError::Bad("too many headers".into()));
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(ReadError::Bad(format!("malformed header {line:?}")));
        };
        req.headers
            .push((k.trim().to_string(), v.trim().to_string()));
    }
    if req
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        let _ = r.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    if req
        .header("Transfer-Encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let size_line = read_line(r)?;
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| ReadError::Bad("bad chunk size".into()))?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                break;
            }
            if req.body.len() + size > MAX_BODY {
                return Err(ReadError::Bad("body too large".into()));
            }
            let start = req.body.len();
            req.body.resize(start + size, 0);
            r.read_exact(&mut req.body[start..])
                .map_err(|e| ReadError::Bad(e.to_string()))?;
            read_line(r)?;
        }
    } else if let Some(len) = req.header("Content-Length") {
        let len: usize = len
            .parse()
            .map_err(|_| ReadError::Bad("bad Content-Length".into()))?;
        if len > MAX_BODY {
            return Err(ReadError::Bad("body too large".into()));
        }
        req.body.resize(len, 0);
        r.read_exact(&mut req.body)
            .map_err(|e| ReadError::Bad(e.to_string()))?;
    }
    Ok(req)
}

/// Binds 127.0.0.1 on `port` (0: any free port).
pub fn bind(port: u16) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Accepts connections until the server stops. While the server refuses
/// connections the listening socket is closed, and reopened afterwards on
/// the same port.
pub fn accept_loop(shared: Arc<Shared>, mut listener: Option<TcpListener>) {
    let mut next_id = 0u64;
    while !shared.stop.load(Ordering::SeqCst) && Instant::now() < shared.deadline {
        if shared.refusing.load(Ordering::SeqCst) {
            listener = None;
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let Some(l) = &listener else {
            // Reopen on the same port; retry briefly if it is still busy.
            listener = bind(shared.addr.port()).ok();
            if listener.is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        };
        let Ok((stream, _)) = l.accept() else {
            continue;
        };
        // A wake-up connection from `wake`, or a connection while refusing.
        if shared.stop.load(Ordering::SeqCst) || shared.refusing.load(Ordering::SeqCst) {
            continue;
        }
        let mut conns = shared.conns.lock().expect("connections");
        if conns.len() >= MAX_CONNECTIONS {
            continue;
        }
        next_id += 1;
        if let Ok(clone) = stream.try_clone() {
            conns.insert(next_id, clone);
        }
        drop(conns);
        let (sh, id) = (shared.clone(), next_id);
        std::thread::spawn(move || {
            serve_connection(&sh, stream);
            sh.conns.lock().expect("connections").remove(&id);
        });
    }
}

/// Unblocks the accept loop (after `stop` or `refusing` changed) and cuts
/// every open connection.
pub fn wake_and_cut(shared: &Shared) {
    let _ = TcpStream::connect_timeout(&shared.addr, Duration::from_millis(200));
    for (_, c) in shared.conns.lock().expect("connections").drain() {
        let _ = c.shutdown(std::net::Shutdown::Both);
    }
}

fn serve_connection(shared: &Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(conn) = Conn::new(stream, shared.tls.as_ref()) else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let idle_limit = Duration::from_secs(300);
    let mut idle_since = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) && idle_since.elapsed() < idle_limit {
        let _ = reader
            .get_ref()
            .socket()
            .set_read_timeout(Some(Duration::from_millis(200)));
        let req = match read_request(&mut reader) {
            Ok(r) => r,
            Err(ReadError::Idle) => continue,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(msg)) => {
                let body = super::status::ApiError::bad_request(msg)
                    .to_status()
                    .to_string();
                let _ = write_full(reader.get_mut(), 400, "application/json", body.as_bytes());
                reader.get_mut().close();
                return;
            }
        };
        idle_since = Instant::now();
        let close = req
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        match super::api::handle(shared, req) {
            Reply::Full {
                code,
                content_type,
                body,
                delay,
            } => {
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                if write_full(reader.get_mut(), code, &content_type, &body).is_err() || close {
                    reader.get_mut().close();
                    return;
                }
            }
            Reply::Stream(f) => {
                let _ = f(reader.get_mut());
                reader.get_mut().close();
                return;
            }
        }
    }
}
