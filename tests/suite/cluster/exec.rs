//! `pods/exec` over the websocket protocol kubectl 1.32 speaks
//! (`v5.channel.k8s.io`, `v4.channel.k8s.io`): one byte of channel, then
//! data; 1 is stdout, 2 stderr, 3 the final Status. The simulated pods
//! answer `psql`: `SELECT pg_switch_wal()` returns an LSN and makes the
//! CNPG simulator archive a WAL segment; a few other queries get canned
//! rows; anything else is "0 rows". Other commands exit 127.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::http::{Reply, Request};
use super::status::ApiError;
use super::tls::Conn;
use super::websocket::{accept_key, read_frame, write_frame};
use super::{cnpg, store, Shared};

const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

pub fn upgrade(
    shared: &Arc<Shared>,
    req: &Request,
    pod: &Value,
    q: &[(String, String)],
) -> Result<Reply, ApiError> {
    let wants_ws = req
        .header("Upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let offered = req.header("Sec-WebSocket-Protocol").unwrap_or("");
    let protocol = PROTOCOLS
        .iter()
        .find(|p| offered.split(',').any(|o| o.trim() == **p));
    let (Some(key), true, Some(protocol)) = (req.header("Sec-WebSocket-Key"), wants_ws, protocol)
    else {
        return Err(ApiError::bad_request(
            "pods/exec: this test server speaks only websockets (v5.channel.k8s.io or v4.channel.k8s.io)",
        ));
    };
    if pod.pointer("/status/phase").and_then(Value::as_str) != Some("Running") {
        return Err(ApiError::bad_request(format!(
            "pod {} is not running",
            store::meta_str(pod, "name")
        )));
    }
    let argv: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let (out, err, code) = run(shared, pod, &argv);
    let accept = accept_key(key);
    let protocol = protocol.to_string();
    Ok(Reply::Stream(Box::new(move |w: &mut Conn| {
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n"
        );
        w.write_all(head.as_bytes())?;
        w.flush()?;
        // kubectl sets its streams up after the upgrade; output sent at
        // once can reach it before ("Unknown stream id 1, discarding
        // message") and be lost. A real process starts later than this.
        std::thread::sleep(Duration::from_millis(30));
        let send = |w: &mut Conn, channel: u8, data: &[u8]| -> io::Result<()> {
            if data.is_empty() {
                return Ok(());
            }
            let mut payload = vec![channel];
            payload.extend_from_slice(data);
            write_frame(w, 2, &payload)
        };
        send(w, 1, out.as_bytes())?;
        send(w, 2, err.as_bytes())?;
        let status = if code == 0 {
            json!({"metadata": {}, "status": "Success"})
        } else {
            json!({"metadata": {}, "status": "Failure",
                "message": format!("command terminated with non-zero exit code: error executing command {argv:?}, exit code {code}"),
                "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
        };
        send(w, 3, status.to_string().as_bytes())?;
        write_frame(w, 8, &1000u16.to_be_bytes())?;
        // Read what the client still sends (stdin close, its close frame).
        let _ = w.socket().set_read_timeout(Some(Duration::from_secs(2)));
        for _ in 0..64 {
            match read_frame(w) {
                Ok((8, _)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Ok(())
    })))
}

/// (stdout, stderr, exit code) of a command in a simulated pod.
fn run(shared: &Shared, pod: &Value, argv: &[String]) -> (String, String, i32) {
    let line = argv.join(" ");
    if !argv
        .iter()
        .any(|a| a == "psql" || a.ends_with("/psql") || a.starts_with("psql "))
    {
        return (
            String::new(),
            format!("simulated pod: {line}: command not found\n"),
            127,
        );
    }
    let sql = argv
        .iter()
        .position(|a| a == "-c" || a == "--command")
        .and_then(|i| argv.get(i + 1))
        .cloned()
        .unwrap_or_else(|| line.clone())
        .to_ascii_lowercase();
    // Tuples only (`-t`, also in `-XAtq`): bare rows, no header or count.
    let bare = argv.iter().any(|a| {
        a == "--tuples-only" || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains('t'))
    });
    let cluster = pod
        .pointer("/metadata/labels/cnpg.io~1cluster")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ns = store::meta_str(pod, "namespace");
    let contents = {
        let sim = shared.sim.lock().expect("sim");
        let store = shared.store.lock().expect("store");
        cnpg::contents(&store, &sim.cnpg, ns, cluster).unwrap_or_default()
    };
    let one = |h: &str, v: String| (vec![h.to_string()], vec![vec![v]]);
    let (headers, rows) = if sql.contains("pg_switch_wal") {
        let segment = {
            let mut sim = shared.sim.lock().expect("sim");
            let store = shared.store.lock().expect("store");
            let mut bucket = shared.bucket.lock().expect("bucket");
            cnpg::switch_wal(&store, &mut bucket, &mut sim.cnpg, ns, cluster)
        };
        shared.changed.notify_all();
        let n = segment
            .as_deref()
            .and_then(|s| u64::from_str_radix(&s[16..], 16).ok())
            .unwrap_or(1);
        if sql.contains("pg_walfile_name") {
            // The segment that the switch closed.
            one("pg_walfile_name", segment.unwrap_or_default())
        } else {
            one("pg_switch_wal", format!("0/{n:X}000000"))
        }
    } else if sql.contains("pg_is_in_recovery") {
        one("pg_is_in_recovery", "f".into())
    } else if sql.contains("version()") {
        one("version", "PostgreSQL 16.9 (simulated)".into())
    } else if sql.contains("pg_stat_archiver") || sql.contains("last_archived_wal") {
        let bucket = shared.bucket.lock().expect("bucket");
        let store = shared.store.lock().expect("store");
        let last = store
            .by_kind("postgresql.cnpg.io/v1", "Cluster")
            .and_then(|r| store.get(r, ns, cluster))
            .and_then(cnpg::target)
            .and_then(|(d, s)| bucket.get(&d, &s).and_then(|l| l.wal.last().cloned()))
            .unwrap_or_default();
        let time = super::time::now();
        if let Some(wanted) = sql.split(">= '").nth(1).and_then(|r| r.split('\'').next()) {
            // `last_archived_wal >= 'SEGMENT'`: has it been archived?
            let done = !last.is_empty() && last.to_ascii_lowercase().as_str() >= wanted;
            one("coalesce", if done { "t" } else { "f" }.into())
        } else if sql.contains("'last archived: '") {
            one(
                "?column?",
                format!("last archived: {last}, last failed: none"),
            )
        } else if sql.contains("'archived: '") {
            one("?column?", format!("archived: {last} at {time}"))
        } else {
            one("last_archived_wal", last)
        }
    } else if sql.contains("pg_extension") {
        let rows = contents
            .extensions
            .iter()
            .map(|e| vec![e.clone(), version_of(e).into()])
            .collect();
        (vec!["extname".into(), "extversion".into()], rows)
    } else if sql.contains("pg_class") {
        let mut tables = contents.tables.clone();
        tables.sort_by_key(|t| std::cmp::Reverse(t.1));
        let alias = |a: &str, d: &str| {
            if sql.contains(&format!(" as {a}")) {
                a.to_string()
            } else {
                d.to_string()
            }
        };
        let rows = tables
            .into_iter()
            .map(|(t, n)| vec![t, n.to_string()])
            .collect();
        (
            vec![alias("table", "relname"), alias("rows", "reltuples")],
            rows,
        )
    } else if let Some(table) = sql
        .split(" from ")
        .nth(1)
        .filter(|_| sql.contains("count("))
    {
        let table = table
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .next()
            .unwrap_or("");
        match contents.tables.iter().find(|(t, _)| t == table) {
            Some((_, n)) => one("count", n.to_string()),
            None => {
                return (
                    String::new(),
                    format!("ERROR:  relation \"{table}\" does not exist\n"),
                    1,
                )
            }
        }
    } else if sql.contains("select 1") {
        one("?column?", "1".into())
    } else {
        (Vec::new(), Vec::new())
    };
    (psql_output(&headers, &rows, bare), String::new(), 0)
}

fn version_of(extension: &str) -> &'static str {
    match extension {
        "vchord" => "0.4.3",
        "earthdistance" => "1.2",
        "cube" => "1.5",
        _ => "1.0",
    }
}

/// psql's aligned output (numbers right-aligned), or `-tA`'s bare rows.
fn psql_output(headers: &[String], rows: &[Vec<String>], bare: bool) -> String {
    if bare {
        return rows.iter().map(|r| format!("{}\n", r.join("|"))).collect();
    }
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let mut out = String::new();
    if !headers.is_empty() {
        let head: Vec<String> = headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| format!(" {h:^w$} "))
            .collect();
        out.push_str(&head.join("|"));
        out.push('\n');
        let sep: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        out.push_str(&sep.join("+"));
        out.push('\n');
    }
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                if numeric(c) {
                    format!(" {c:>w$} ")
                } else {
                    format!(" {c:<w$} ")
                }
            })
            .collect();
        out.push_str(cells.join("|").trim_end());
        out.push('\n');
    }
    let n = rows.len();
    out.push_str(&format!("({n} row{})\n\n", if n == 1 { "" } else { "s" }));
    out
}
