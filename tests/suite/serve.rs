//! `docs serve` end to end: a real server, real file edits, real HTTP.

use crate::common::serve::Serve;
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

#[test]
fn nothing_outside_the_site_is_ever_served() {
    let repo = Repo::small("serve-traversal");
    repo.write("secret.txt", "TOP-SECRET-BYTES");
    repo.write("content/inner.txt", "inner");
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let probes = [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/.%2e/secret.txt",
        "/..%5csecret.txt",
        "/a/..%2f..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/....//secret.txt",
        "//etc/passwd",
        "/etc/passwd",
        "/%00/etc/passwd",
        "/a.html%00",
        "/..\\secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/docs.toml",
        "/content/a.md",
        "/./a.html",
        "/a.html/..",
        "/%2fetc%2fpasswd",
        "/C:%5c..%5csecret.txt",
        "/guide/../../secret.txt",
        "/%25%32%65%25%32%65/secret.txt",
    ];
    assert!(probes.len() >= 20);
    for p in probes {
        let r = serve.request(&format!(
            "GET {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(r.status == 400 || r.status == 404, "{p}: {}", r.status);
        let body = r.text();
        assert!(
            !body.contains("TOP-SECRET") && !body.contains("root:x:") && !body.contains("title = "),
            "{p} leaked: {body}"
        );
    }
    assert_eq!(serve.get("/inner.txt").text(), "inner");
    // A symlink out of the content tree is refused, not served.
    std::os::unix::fs::symlink(repo.path("secret.txt"), repo.path("content/link.txt")).unwrap();
    let state = serve.wait_for("the refusal", |s| !s["problems"]["build_error"].is_null());
    assert!(
        state["problems"]["build_error"]
            .as_str()
            .unwrap()
            .contains("content/link.txt: a symlink to a file outside content"),
        "{state}"
    );
    assert_eq!(serve.get("/link.txt").status, 404);
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
    let pid = serve.child.id().to_string();
    let mut serve = serve;
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = serve.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    serve.wait_log("Stopped.");
}
