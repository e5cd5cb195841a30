//! `docs serve` end to end: a real server, real file edits, real HTTP.

use crate::common::serve::{request, Conn, Http, Serve};
use crate::common::Repo;

fn site_changed(after: u64) -> impl Fn(&serde_json::Value) -> bool {
    move |s| s["site"].as_u64().unwrap() > after
}

#[test]
fn an_edit_reloads_and_serves_the_new_content() {
    let repo = Repo::small("serve-edit");
    let serve = Serve::start(&repo.root);
    let first = serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let site = first["site"].as_u64().unwrap();
    assert!(serve.get("/a.html").text().contains("Alpha"));
    // Save through a temporary file and a rename, as editors do.
    let text = repo.read("content/a.md") + "\nMARKER-EDIT-1\n";
    repo.write("content/.a.md.tmp", &text);
    std::fs::rename(repo.path("content/.a.md.tmp"), repo.path("content/a.md")).unwrap();
    let state = serve.wait_for("the reload", site_changed(site));
    assert!(state["problems"]["build_error"].is_null());
    let page = serve.get("/a.html");
    assert!(page.text().contains("MARKER-EDIT-1"), "{}", page.text());
    assert!(
        page.text().contains("/__docs/live.js"),
        "the reload script is injected"
    );
    serve.wait_log("Rebuilt a.md in");
}

#[test]
fn pages_come_and_go_with_navigation_and_search() {
    let repo = Repo::small("serve-pages");
    let serve = Serve::start(&repo.root);
    let s = serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1)["site"]
        .as_u64()
        .unwrap();
    repo.write(
        "content/gamma.md",
        "---\ntitle: Gamma page\nweight: 3\n---\n# Gamma\n\nzymurgy\n",
    );
    let s2 = serve.wait_for("the new page", site_changed(s))["site"]
        .as_u64()
        .unwrap();
    assert_eq!(serve.get("/gamma.html").status, 200);
    assert!(serve.get("/nav.js").text().contains("Gamma page"));
    serve.wait_for("the search index", |_| {
        serve.get("/search-index.js").text().contains("zymurgy")
    });
    std::fs::remove_file(repo.path("content/gamma.md")).unwrap();
    serve.wait_for("the removal", site_changed(s2));
    assert_eq!(serve.get("/gamma.html").status, 404);
    assert!(!serve.get("/nav.js").text().contains("Gamma page"));
}

#[test]
fn a_broken_template_shows_an_error_and_recovers() {
    let repo = Repo::small("serve-template");
    repo.write("docs.toml", "title = \"T\"\ntheme = \"mytheme\"\n");
    repo.write("mytheme/templates/page.html", "{% extends \"layout.html\" %}{% block main %}<div class=\"good\">{{ page.content }}</div>{% endblock %}");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    assert!(serve.get("/a.html").text().contains("class=\"good\""));
    repo.write(
        "mytheme/templates/page.html",
        "{% extends \"layout.html\" %}{% block main %}{{ page.content {% endblock %}",
    );
    let broken = serve.wait_for("the error", |s| !s["problems"]["build_error"].is_null());
    let err = broken["problems"]["build_error"].as_str().unwrap();
    assert!(err.contains("mytheme/templates/page.html:1"), "{err}");
    assert!(
        serve.get("/a.html").text().contains("class=\"good\""),
        "the last good build is still served"
    );
    serve.wait_log("still serving the last good build");
    repo.write("mytheme/templates/page.html", "{% extends \"layout.html\" %}{% block main %}<div class=\"fixed\">{{ page.content }}</div>{% endblock %}");
    serve.wait_for("the recovery", |s| {
        s["problems"]["build_error"].is_null()
            && s["site"].as_u64().unwrap() > broken["site"].as_u64().unwrap()
    });
    assert!(serve.get("/a.html").text().contains("class=\"fixed\""));
}

#[test]
fn drift_shows_as_a_problem_and_manifest_edits_update_quoting_pages() {
    let repo = Repo::empty("serve-drift");
    repo.write(
        "manifests/c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  retention: \"14d\"\n",
    );
    repo.write("content/a.md", "# A\n\nRetention: {{ manifest(\"c.yaml\").data.retention }}.\n\n```yaml {source=\"c.yaml\" select=\"data\"}\nretention: \"14d\"\n```\n");
    let serve = Serve::start(&repo.root);
    let s = serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1)["site"]
        .as_u64()
        .unwrap();
    assert!(serve.get("/a.html").text().contains("Retention: 14d."));
    repo.write(
        "manifests/c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  retention: \"30d\"\n",
    );
    serve.wait_for("the page update", site_changed(s));
    assert!(serve.get("/a.html").text().contains("Retention: 30d."));
    let state = serve.wait_for("the drift", |s| {
        s["problems"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "block-drift")
    });
    let d = &state["problems"]["diagnostics"][0];
    assert_eq!(d["location"], "content/a.md:6:12");
    serve.wait_log("error[block-drift]");
}

#[test]
fn http_validators_compression_head_index_and_404() {
    let repo = Repo::small("serve-http");
    repo.write("content/guide/index.md", "# Guide home\n");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let page = serve.get("/a.html");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let etag = page.header("ETag").unwrap().to_string();
    let again = serve.request(&format!(
        "GET /a.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let css = serve.request("GET /style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n");
    assert_eq!(css.header("Content-Encoding"), Some("gzip"));
    assert_eq!(css.header("Content-Type"), Some("text/css; charset=utf-8"));
    let mut plain = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(&css.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert!(String::from_utf8(plain).unwrap().contains("--accent"));
    let head = serve.request("HEAD /a.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(serve.get("/").status, 200);
    let dir = serve.get("/guide");
    assert_eq!((dir.status, dir.header("Location")), (301, Some("/guide/")));
    assert!(serve.get("/guide/").text().contains("Guide home"));
    let missing = serve.get("/nope.html");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("Page not found"),
        "the site's own 404 page"
    );
    let post = serve.request(
        "POST /a.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(post.status, 405);
}

/// Markers of files that must never be served.
const SECRETS: [&str; 4] = [
    "SECRET-BESIDE-THE-PROJECT",
    "SECRET-IN-THE-PROJECT",
    "root:x:0:0",
    "title = \"Traversal kit\"",
];

fn assert_no_secret(what: &str, r: &Http) {
    let body = r.text();
    for s in SECRETS {
        assert!(!body.contains(s), "{what} leaked {s:?}: {body}");
    }
    assert!(
        !body.contains("\ntitle: Alpha"),
        "{what} leaked a Markdown source: {body}"
    );
}

#[test]
fn nothing_outside_the_site_is_ever_served() {
    // The project is <tmp>/site; a secret lies beside it, one inside it
    // (outside content/), and the config and sources are there too.
    let repo = Repo::empty("serve-traversal");
    repo.write("outside-secret.txt", "SECRET-BESIDE-THE-PROJECT");
    repo.write("site/secret.txt", "SECRET-IN-THE-PROJECT");
    repo.write("site/docs.toml", "title = \"Traversal kit\"\n");
    repo.write("site/content/a.md", "---\ntitle: Alpha\n---\n# Alpha\n");
    repo.write("site/content/guide/b.md", "# Beta\n");
    repo.write("site/content/inner.txt", "inner");
    let root = repo.path("site");
    let serve = Serve::start(&root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    // Sent as written: no client library normalizes them on the way.
    let probes: &[&[u8]] = &[
        b"/../secret.txt",
        b"/../../outside-secret.txt",
        b"/..%2fsecret.txt",
        b"/..%2f..%2foutside-secret.txt",
        b"/%2e%2e/secret.txt",
        b"/%2e%2e/%2e%2e/outside-secret.txt",
        b"/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        b"/.%2e/secret.txt",
        b"/%2e./secret.txt",
        b"/%2e%2e%2fsecret.txt",
        b"/%2e%2e%5csecret.txt",
        b"/..%5csecret.txt",
        b"/..%5c..%5coutside-secret.txt",
        b"/..\\secret.txt",
        b"/..\\..\\outside-secret.txt",
        b"/\\..\\secret.txt",
        b"/%5c%5c..%5csecret.txt",
        b"/a/..%2f..%2fsecret.txt",
        b"/guide/../../secret.txt",
        b"/guide/..%2f..%2fsecret.txt",
        b"/guide/%2e%2e/%2e%2e/secret.txt",
        b"/a.html/../../secret.txt",
        b"/a.html%2f..%2f..%2fsecret.txt",
        b"/inner.txt/../../secret.txt",
        b"/....//secret.txt",
        b"/..../secret.txt",
        b"/..;/secret.txt",
        b"/%2e%2e;/secret.txt",
        b"//etc/passwd",
        b"///etc/passwd",
        b"/etc/passwd",
        b"/%2fetc%2fpasswd",
        b"/%2f%2e%2e%2fsecret.txt",
        b"/%00/etc/passwd",
        b"/a.html%00",
        b"/secret.txt%00.html",
        b"/inner.txt%00/../../secret.txt",
        b"/a\x00/../secret.txt",
        b"/%25%32%65%25%32%65/secret.txt",
        b"/%252e%252e/secret.txt",
        b"/%252e%252e%252fsecret.txt",
        b"/..%255csecret.txt",
        b"/%c0%ae%c0%ae/secret.txt",
        b"/%c0%af..%c0%afsecret.txt",
        b"/..%c0%af../secret.txt",
        b"/%e0%80%ae%e0%80%ae/secret.txt",
        b"/%f0%80%80%ae%f0%80%80%ae/secret.txt",
        b"/%c1%9c..%c1%9csecret.txt",
        b"/\xc0\xae\xc0\xae/secret.txt",
        b"/%ef%bc%8e%ef%bc%8e/secret.txt",
        b"/%u002e%u002e/secret.txt",
        b"/..%09/secret.txt",
        b"/./secret.txt",
        b"/a/./../secret.txt",
        b"/a.html/..",
        b"/a.html/.",
        b"/C:%5c..%5csecret.txt",
        b"/C:/Windows/win.ini",
        b"/c%3a%5csecret.txt",
        b"/docs.toml",
        b"/content/a.md",
        b"/a.md",
        b"/../site/docs.toml",
        b"/secret.txt",
        b"/outside-secret.txt",
        b"/content/../secret.txt",
        b"/#/../secret.txt",
        b"../secret.txt",
        b"secret.txt",
        b"http://x/../secret.txt",
        b"http://x/%2e%2e/secret.txt",
        b"file:///etc/passwd",
        b"*",
        b"/ ../secret.txt",
    ];
    assert!(probes.len() >= 50, "{} probes", probes.len());
    for p in probes {
        let raw = [
            b"GET ".as_slice(),
            p,
            b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ]
        .concat();
        let r = request(serve.port, &raw);
        let shown = String::from_utf8_lossy(p);
        assert!(r.status == 400 || r.status == 404, "{shown}: {}", r.status);
        assert_no_secret(&shown, &r);
    }
    let inner = serve.get("/inner.txt");
    assert_eq!(inner.text(), "inner");

    // Symlinks out of content/ are refused by the loader (the build
    // fails and the last good site stays), never served.
    let links = [
        (
            "site/content/link.txt",
            repo.path("outside-secret.txt"),
            "/link.txt",
        ),
        ("site/content/up.txt", "../secret.txt".into(), "/up.txt"),
        (
            "site/content/dir",
            repo.root.clone(),
            "/dir/outside-secret.txt",
        ),
    ];
    for (link, target, url) in links {
        std::os::unix::fs::symlink(&target, repo.path(link)).unwrap();
        let shown = link.trim_start_matches("site/");
        let state = serve.wait_for("the refusal", |s| !s["problems"]["build_error"].is_null());
        let err = state["problems"]["build_error"].as_str().unwrap();
        assert!(
            err.contains(&format!("{shown}: a symlink to a file outside content")),
            "{err}"
        );
        let r = serve.get(url);
        assert_eq!(r.status, 404, "{url}");
        assert_no_secret(url, &r);
        std::fs::remove_file(repo.path(link)).unwrap();
        serve.wait_for("the recovery", |s| s["problems"]["build_error"].is_null());
        assert_eq!(serve.get("/inner.txt").text(), "inner");
    }
}

#[test]
fn oversized_and_slow_requests_do_not_stop_the_server() {
    let repo = Repo::small("serve-limits");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let r = serve.request(&format!(
        "GET /a.html HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 431);
    let r = serve.request(&format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(3000)
    ));
    assert_eq!(r.status, 414);
    let r = serve.request(
        "GET /a.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(r.status, 413);
    let r = serve.request("BROKEN\r\n\r\n");
    assert_eq!(r.status, 400);
    // A head that never ends is cut off at 16 KiB, not buffered forever.
    let r = serve.request(&format!(
        "GET /a.html HTTP/1.1\r\nX-Long: {}",
        "y".repeat(1 << 20)
    ));
    assert_eq!(r.status, 431);
    // Clients that connect and say nothing hold no worker: the site still
    // answers (a server stuck behind them would need 20 x 10 s of timeouts,
    // past the test client's 30 s read timeout).
    let idle: Vec<_> = (0..20)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap())
        .collect();
    assert_eq!(serve.get("/a.html").status, 200);
    drop(idle);
}

#[test]
fn busy_port_is_a_clear_error_and_ctrl_c_stops_cleanly() {
    let repo = Repo::small("serve-port");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let port = serve.port.to_string();
    let run = repo.docs(&["serve", "--port", &port]);
    run.fails();
    assert!(
        run.stderr
            .contains(&format!("port {port} on 127.0.0.1 is busy")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--port 0"));
    // Stopping does not wait for open connections: a kept-alive one and
    // a parked long-poll.
    let mut idle = Conn::open(serve.port);
    assert!(idle.get("GET", "/a.html").is_some());
    let version = serve.poll(0)["version"].as_u64().unwrap();
    let mut parked = Conn::open(serve.port);
    parked.send(format!("GET /__docs/poll?since={version} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let pid = serve.child.id().to_string();
    let mut serve = serve;
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    // Bounded: a server that never stops fails here, not in a hang.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Ctrl-C did not stop the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    serve.wait_log("Stopped.");
}

#[test]
fn a_non_ascii_page_is_redirected_and_no_worker_is_lost() {
    // Issue #13: `GET /caf%C3%A9` put a non-ASCII Location into a header,
    // a handler panicked (500) and its worker died; eight such requests
    // left a server that answered nothing.
    let repo = Repo::small("serve-cafe");
    repo.write("content/café/index.md", "# Café\n\nCAFE-PAGE\n");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    for i in 0..24 {
        let r = serve.get("/caf%C3%A9");
        assert_eq!(r.status, 301, "request {i}: {}", r.text());
        assert_eq!(r.header("Location"), Some("/caf%C3%A9/"), "request {i}");
    }
    assert!(serve.get("/caf%C3%A9/").text().contains("CAFE-PAGE"));
    assert_eq!(serve.get("/a.html").status, 200);
}

#[test]
fn a_kept_alive_connection_serves_request_after_request() {
    // Issue #13: the server answered HTTP/1.1 without `Connection: close`
    // and then closed, so the second request on a connection got nothing.
    let repo = Repo::small("serve-keepalive");
    let big: String = (0..4000)
        .map(|i| format!("Line {i} of a long page.\n\n"))
        .collect();
    repo.write("content/big.md", &format!("# Big\n\n{big}"));
    repo.write("content/guide/index.md", "# Guide home\n");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let mut c = Conn::open(serve.port);
    let first = c.get("GET", "/a.html").expect("a first answer");
    assert_eq!(first.header("Connection"), Some("keep-alive"));
    for i in 0..5 {
        let r = c
            .get("GET", "/a.html")
            .unwrap_or_else(|| panic!("answer {i} on the same connection"));
        assert_eq!((r.status, r.body.len()), (200, first.body.len()));
    }
    // HEAD: the length GET would send, and no body to mistake for the
    // next answer.
    let head = c.get("HEAD", "/a.html").unwrap();
    assert_eq!(
        head.header("Content-Length"),
        Some(first.body.len().to_string().as_str())
    );
    assert!(head.body.is_empty());
    let big = c.get("GET", "/big.html").unwrap();
    assert!(big.body.len() > 100_000 && big.text().contains("Line 3999 of"));
    assert_eq!(c.get("GET", "/nope.html").unwrap().status, 404);
    assert_eq!(c.get("GET", "/guide").unwrap().status, 301);
    let etag = first.header("ETag").unwrap();
    c.send(format!("GET /a.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes());
    assert_eq!(c.answer(false).unwrap().status, 304);
    let poll = c.get("GET", "/__docs/poll?since=0").unwrap();
    assert!(poll.text().contains("\"version\""));
    // Pipelined: both answered, in order.
    c.send(b"GET /a.html HTTP/1.1\r\nHost: x\r\n\r\nGET /guide/b.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(c.answer(false).unwrap().text().contains("Alpha"));
    assert!(c.answer(false).unwrap().text().contains("Beta"));
    // `Connection: close` is said, then done.
    c.send(b"GET /a.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let last = c.answer(false).unwrap();
    assert_eq!(
        (last.status, last.header("Connection")),
        (200, Some("close"))
    );
    assert!(c.closed());
    // HTTP/1.0 closes unless asked to keep the connection.
    let mut c = Conn::open(serve.port);
    c.send(b"GET /a.html HTTP/1.0\r\n\r\n");
    let r = c.answer(false).unwrap();
    assert_eq!((r.status, r.header("Connection")), (200, Some("close")));
    assert!(r
        .headers
        .iter()
        .all(|(k, _)| !k.eq_ignore_ascii_case("Transfer-Encoding")));
    assert!(c.closed());
    let mut c = Conn::open(serve.port);
    c.send(b"GET /a.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        c.answer(false).unwrap().header("Connection"),
        Some("keep-alive")
    );
    c.send(b"GET /guide/b.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(c.answer(false).unwrap().text().contains("Beta"));
    // A refused request closes the connection (its end is unknown).
    c.send(b"GET /a.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    let refused = c.answer(false).unwrap();
    assert_eq!(
        (refused.status, refused.header("Connection")),
        (413, Some("close"))
    );
    assert!(c.closed());
}

#[test]
fn concurrent_keep_alive_clients_are_all_answered() {
    // Issue #13: with 8 to 64 keep-alive clients, about half of the
    // requests failed.
    let repo = Repo::small("serve-concurrent");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let port = serve.port;
    let clients: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Conn::open(port);
                let mut failed = Vec::new();
                for i in 0..40 {
                    let path = if (t + i) % 2 == 0 {
                        "/a.html"
                    } else {
                        "/guide/b.html"
                    };
                    match c.get("GET", path) {
                        Some(r) if r.status == 200 => {}
                        other => {
                            failed.push(format!(
                                "client {t} request {i}: {:?}",
                                other.map(|r| r.status)
                            ));
                            c = Conn::open(port);
                        }
                    }
                }
                failed
            })
        })
        .collect();
    let failed: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 640 failed, first: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
}

#[cfg(target_os = "linux")]
#[test]
fn an_idle_server_does_not_spin() {
    // Issue #13: the accept loop polled every 5 ms. Idle, no thread of
    // the server should wake more than a few times a second.
    let repo = Repo::small("serve-idle");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let pid = serve.child.id();
    let switches = || -> std::collections::HashMap<String, u64> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter_map(|t| {
                let t = t.ok()?.path();
                let status = std::fs::read_to_string(t.join("status")).ok()?;
                let n = status
                    .lines()
                    .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
                    .trim()
                    .parse()
                    .ok()?;
                let name = std::fs::read_to_string(t.join("comm")).unwrap_or_default();
                Some((format!("{} ({})", t.display(), name.trim()), n))
            })
            .collect()
    };
    let before = switches();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let after = switches();
    for (thread, n) in after {
        let woke = n - before.get(&thread).copied().unwrap_or(0);
        assert!(
            woke <= 25,
            "{thread} woke {woke} times in a second while idle"
        );
    }
}
