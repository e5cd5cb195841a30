//! The redaction promise under attack: no Secret value, secret variable
//! or kubeconfig credential reaches the terminal, the transcript, the
//! journal or the JSON events — in whatever form it is shown (a line of a
//! PEM key, JSON-escaped, quoted by an error) — nor `ps`, nor survives on
//! disk or as a process after a `kill -9` or a second Ctrl-C.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::{eventually, states, Bed};

/// Front matter with variables `password` and `pin` (secret) and `who`.
fn with_vars(body: &str) -> String {
    format!("---\ntitle: T\nrunbook: true\nvariables:\n  password:\n    description: a secret\n    secret: true\n  pin:\n    description: a short secret\n    secret: true\n    default: k9x\n  who:\n    description: not secret\n    default: operator-visible\n---\n{body}")
}

/// Everything a run leaves readable: its output, transcript and journal.
fn everything(bed: &Bed, run: &super::Ran) -> Vec<(&'static str, String)> {
    let mut all = vec![
        ("stdout", run.stdout.clone()),
        ("stderr", run.stderr.clone()),
    ];
    if bed.repo.path(".docs/runs/rb").exists() {
        all.push(("transcript", bed.transcript("rb")));
        all.push(("journal", bed.journal("rb").to_string()));
    }
    all
}

#[track_caller]
fn never_shown(bed: &Bed, run: &super::Ran, planted: &[&str]) {
    for (what, text) in everything(bed, run) {
        for p in planted {
            assert!(!text.contains(p), "{p:?} leaked into the {what}:\n{text}");
        }
    }
}

/// What a Secret's `data` holds (the test server, unlike a real one, does
/// not turn `stringData` into `data`).
fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A step that creates a Pod referencing Secret `creds` (so preflight
/// reads it, to redact its values).
const POD: &str = "```yaml {run action=create name=make}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n    - name: c\n      image: busybox\n      envFrom:\n        - secretRef:\n            name: creds\n```\n";

#[test]
fn a_shell_steps_script_is_not_on_its_command_line() {
    let body = "```bash {run name=peek readonly template}\nsecret='{{ vars.password }}'\ntr '\\0' ' ' < /proc/$$/cmdline > cmdline.txt\necho \"used ${#secret}\"\n```\n";
    let bed = Bed::small("run-leak-ps", "", false);
    bed.repo.write("content/rb.md", &with_vars(body));
    let run = bed.run(&["rb", "--var", "password=ps-planted-c0ffee"]);
    run.code(0).says("used 17");
    let cmdline = bed.repo.read("cmdline.txt");
    assert!(cmdline.contains("bash"), "{cmdline}");
    assert!(
        !cmdline.contains("ps-planted-c0ffee"),
        "the rendered script is in `ps`: {cmdline}"
    );
}

#[test]
fn the_transcript_header_masks_secret_variables_however_short() {
    let body = "```bash {run name=hi readonly}\necho hi\n```\n";
    let bed = Bed::small("run-leak-header", "", false);
    bed.repo.write("content/rb.md", &with_vars(body));
    let run = bed.run(&["rb", "--var", "password=hdr-planted-77"]);
    run.code(0);
    let transcript = bed.transcript("rb");
    assert!(
        transcript.contains("- `pin` = `[redacted]`")
            && transcript.contains("- `password` = `[redacted]`")
            && transcript.contains("- `who` = `operator-visible`"),
        "{transcript}"
    );
    never_shown(&bed, &run, &["hdr-planted-77", "`k9x`"]);
    let journal = bed.journal("rb");
    assert_eq!(journal["variables"]["pin"], "[redacted]", "{journal:#}");
}

#[test]
fn every_line_of_a_multi_line_secret_is_masked() {
    let pem_lines = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
        "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
    ];
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        pem_lines.join("\n")
    );
    let body = format!("{POD}\n```bash {{run name=leak}}\nkubectl -n ns get secret creds -o jsonpath='{{.data.tls\\.key}}' | base64 -d\necho printed-the-key\n```\n");
    let bed = Bed::small("run-leak-pem", &body, false);
    let c = &bed.cluster;
    c.create(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "ns"},
        "data": {"tls.key": b64(&pem)}}))
        .unwrap();
    let run = bed.run(&["rb", "--yes"]);
    run.code(0)
        .says("printed-the-key")
        .says("-----BEGIN PRIVATE KEY-----")
        .says("│ [redacted]");
    never_shown(&bed, &run, &pem_lines);
}

#[test]
fn a_password_the_page_happens_to_show_is_still_masked() {
    // The page names the user and (carelessly) the password: the user
    // stays readable, the password does not.
    let body = format!("The database user is `dbowner-visible`; its first password was `pw-in-page-5150`.\n\n{POD}\n```bash {{run name=leak}}\nfor k in username password; do kubectl -n ns get secret creds -o jsonpath=\"{{.data.$k}}\" | base64 -d; echo; done\n```\n");
    let bed = Bed::small("run-leak-public", &body, false);
    bed.cluster
        .create(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "ns"},
        "data": {"username": b64("dbowner-visible"), "password": b64("pw-in-page-5150")}}))
        .unwrap();
    let run = bed.run(&["rb", "--yes"]);
    run.code(0).says("│ dbowner-visible").says("│ [redacted]");
    never_shown(&bed, &run, &["pw-in-page-5150"]);
}

#[test]
fn json_events_mask_secrets_with_quotes_backslashes_and_newlines() {
    // An assertion that fails shows what it found, JSON-escaped; the
    // event carries that message, escaped once more.
    let secret = "q\"uo\\te-planted-31\nsecond-line-planted";
    let body = "```yaml {run action=assert name=check}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ns\nassert:\n  - path: data.v\n    equals: \"expected\"\n```\n";
    let bed = Bed::small("run-leak-json", "", false);
    bed.repo.write("content/rb.md", &with_vars(body));
    bed.cluster
        .create(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "ns"}, "data": {"v": secret}}))
        .unwrap();
    let var = format!("password={secret}");
    let run = bed.run(&["rb", "--output", "json", "--var", &var]);
    run.code(1).says("[redacted]");
    let failed: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["event"] == "step" && e["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("[redacted]"),
        "{}",
        failed[0]
    );
    never_shown(&bed, &run, &["planted"]);
}

#[test]
fn an_error_before_any_step_quotes_no_secret() {
    let body = "```yaml {run action=create name=make template}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n    - name: c\n      image: busybox\n      envFrom:\n        - secretRef:\n            name: {{ vars.password }}\n```\n";
    let bed = Bed::small("run-leak-stop", "", false);
    bed.repo.write("content/rb.md", &with_vars(body));
    let run = bed.run(&[
        "rb",
        "--yes",
        "--output",
        "json",
        "--var",
        "password=stop-planted-4242",
    ]);
    run.code(2)
        .says("needs the Secret `[redacted]` in namespace `ns`, which does not exist");
    assert!(run.stdout.contains("\"event\":\"error\""), "{}", run.stdout);
    never_shown(&bed, &run, &["stop-planted-4242"]);
}

/// Whether a live (not zombie) process is in group `pgid`.
fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        let Some(close) = stat.rfind(')') else {
            return false;
        };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        f.len() > 2 && f[2] == pgid.to_string() && f[0] != "Z" && f[0] != "X"
    })
}

/// The run directories `docs` left in a temporary directory.
fn private_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("docs-run-"))
        .collect()
}

/// Sends `docs` these signals, 100 ms apart, and waits for it.
fn signalled(child: std::process::Child, signals: &[i32]) -> std::process::Output {
    for (i, sig) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(child.id() as i32, *sig);
        }
    }
    child.wait_with_output().unwrap()
}

/// The step's group is gone within 5 s, its marker never touched.
#[track_caller]
fn group_gone(bed: &Bed, pgid: i32) {
    eventually(
        "the step's group to be gone",
        Duration::from_secs(5),
        || (!group_alive(pgid)).then_some(()),
    );
    assert!(!bed.repo.exists("marker"));
}

#[track_caller]
fn no_private_dirs(tmp: &Path) {
    let left = private_dirs(tmp);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A run of a step that records its process group, then sleeps; started
/// with its own TMPDIR. Returns the child and the step's group.
fn start_sleeper(bed: &Bed, tmp: &Path, ignore_term: bool) -> (std::process::Child, i32) {
    let trap = if ignore_term { "trap '' TERM\n" } else { "" };
    bed.repo.write(
        "content/rb.md",
        &format!("---\ntitle: T\nrunbook: true\n---\n```bash {{run name=sleeper}}\n{trap}echo $$ > pgid.txt\nsleep 30\ntouch marker\n```\n"),
    );
    let _ = std::fs::remove_file(bed.repo.path("pgid.txt"));
    let child = bed
        .command(&["rb", "--force"])
        .env("TMPDIR", tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start docs");
    let pgid = eventually("the step's group", Duration::from_secs(20), || {
        std::fs::read_to_string(bed.repo.path("pgid.txt"))
            .ok()?
            .trim()
            .parse::<i32>()
            .ok()
    });
    assert!(group_alive(pgid));
    (child, pgid)
}

#[test]
fn a_killed_run_leaves_no_process_and_the_next_run_sweeps_its_credentials() {
    let bed = Bed::small("run-leak-kill", "", false);
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, pgid) = start_sleeper(&bed, tmp.path(), false);
    let left = private_dirs(tmp.path());
    assert_eq!(left.len(), 1, "{left:?}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    group_gone(&bed, pgid);
    // kill -9 leaves the pinned kubeconfig: the next run sweeps it.
    assert_eq!(private_dirs(tmp.path()), left);
    bed.repo.write(
        "content/rb.md",
        "---\ntitle: T\nrunbook: true\n---\n```bash {run name=quick readonly}\necho quick\n```\n",
    );
    let out = bed
        .command(&["rb", "--force"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    no_private_dirs(tmp.path());
}

#[test]
fn a_second_ctrl_c_leaves_no_process_and_no_credentials() {
    let bed = Bed::small("run-leak-ctrl-c", "", false);
    let tmp = tempfile::tempdir().unwrap();
    // The step ignores SIGTERM: the first Ctrl-C's stop takes the grace
    // period, and the second one comes before it ends.
    let (child, pgid) = start_sleeper(&bed, tmp.path(), true);
    let out = signalled(child, &[libc::SIGINT, libc::SIGINT]);
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert_eq!(states(&bed.journal("rb"))[0].1, "started");
    group_gone(&bed, pgid);
    no_private_dirs(tmp.path());
}

#[test]
fn a_terminated_run_leaves_no_process_and_no_credentials() {
    let bed = Bed::small("run-leak-term", "", false);
    let tmp = tempfile::tempdir().unwrap();
    let (child, pgid) = start_sleeper(&bed, tmp.path(), false);
    let out = signalled(child, &[libc::SIGTERM]);
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    group_gone(&bed, pgid);
    no_private_dirs(tmp.path());
}
