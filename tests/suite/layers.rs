//! The import graph of `src/` keeps the promise of the README: data flows
//! one way, with no cycle (scripts/imports.py says how, and draws it).

#[test]
fn src_imports_flow_one_way_without_cycles() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/imports.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .output()
        .expect("python3 runs scripts/imports.py");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The script reads the real tree: it sees the modules it must.
    let graph = String::from_utf8_lossy(&out.stdout);
    for m in ["content", "values", "runbook", "check", "render", "cmd"] {
        assert!(
            graph.contains(&format!(" {m} ")),
            "{m} missing from\n{graph}"
        );
    }
}

#[test]
fn the_layer_script_catches_upward_imports_and_cycles() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/imports.py");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("content")).unwrap();
    std::fs::write(src.join("content/mod.rs"), "use crate::cmd::build;\n").unwrap();
    std::fs::write(src.join("cmd.rs"), "use crate::content::Page;\n").unwrap();
    std::fs::write(src.join("error.rs"), "//! [x](crate::cmd) in a comment\n").unwrap();
    let out = std::process::Command::new("python3")
        .args([script, "--src", src.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("`content` (layer 1) imports `cmd` (layer 9): upward"),
        "{err}"
    );
    assert!(err.contains("cycle: cmd -> content -> cmd"), "{err}");
    assert!(!err.contains("`error`"), "comments are not imports: {err}");
}
