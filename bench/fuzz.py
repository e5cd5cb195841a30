#!/usr/bin/env python3
"""Runs every fuzz target of src/fuzz/ for a while and prints what it did.

    python3 bench/fuzz.py --seconds 400            # each target 400 s
    python3 bench/fuzz.py --seconds 60 --targets yaml,outline --seed 7

The library's tests are built once in release mode (`cargo test --release
--lib --no-run`) and copied aside; each target then runs in its own
process (`fuzz::targets::tests::long_all --ignored --nocapture` with
DOCS_FUZZ_TARGETS=NAME), so that its peak resident memory is its own. The
test prints one `FUZZ target=... inputs=... peak_rss_kib=...` line per
target; a panic fails the test with the input (text and hex), and an input
that runs past the hang limit aborts it after printing the input. Either
stops this script with exit status 1 and the output of the failing run.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TEST = "fuzz::targets::tests::long_all"
LINE = re.compile(r"^FUZZ (.*)$")


def build_test_binary(into):
    """Builds the library's tests in release mode and copies the binary
    into `into`, so that edits and builds during a long session do not
    change what runs."""
    cmd = ["cargo", "test", "--release", "--lib", "--no-run", "--message-format=json"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("building the tests failed:\n" + proc.stderr[-4000:])
    exe = None
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") \
                and msg["target"]["kind"] == ["lib"]:
            exe = msg["executable"]
    if not exe:
        sys.exit("no test executable in cargo's output")
    copy = os.path.join(into, "docs-fuzz")
    shutil.copy2(exe, copy)
    return copy


def run_test(exe, env_extra):
    env = dict(os.environ, **env_extra)
    cmd = [exe, TEST, "--exact", "--ignored", "--nocapture"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    found = []
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        if m:
            found.append(dict(kv.split("=", 1) for kv in m.group(1).split()))
    return proc, found


def fail(name, proc):
    sys.stderr.write("fuzz target %s FAILED (exit status %d)\n" % (name, proc.returncode))
    sys.stderr.write(proc.stdout[-6000:])
    sys.stderr.write(proc.stderr[-6000:])
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60, help="seconds per target")
    ap.add_argument("--targets", default="", help="comma-separated target names (default: all)")
    ap.add_argument("--seed", type=int, default=0x5EED, help="PRNG seed")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="docs-fuzz-")
    exe = build_test_binary(tmp)
    # Zero seconds per target: lists the targets.
    proc, listed = run_test(exe, {"DOCS_FUZZ_SECONDS": "0"})
    if proc.returncode != 0 or not listed:
        fail("(listing)", proc)
    names = [t["target"] for t in listed]
    if args.targets:
        wanted = [n.strip() for n in args.targets.split(",")]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            sys.exit("unknown targets %s; targets: %s" % (", ".join(unknown), ", ".join(names)))
        names = wanted

    rows = []
    started = time.time()
    for name in names:
        proc, found = run_test(exe, {
            "DOCS_FUZZ_SECONDS": str(args.seconds),
            "DOCS_FUZZ_TARGETS": name,
            "DOCS_FUZZ_SEED": str(args.seed),
        })
        if proc.returncode != 0 or len(found) != 1:
            fail(name, proc)
        row = found[0]
        rows.append(row)
        print("%-16s %12s inputs in %6s s, peak RSS %6.1f MiB" % (
            name, row["inputs"], row["seconds"], int(row["peak_rss_kib"]) / 1024.0), flush=True)

    total = sum(int(r["inputs"]) for r in rows)
    print()
    print("seed %d, %d s per target, %.0f s in all" % (args.seed, args.seconds, time.time() - started))
    print()
    print("| target | inputs | seconds | inputs/s | panics | hangs | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        secs = float(r["seconds"])
        print("| %s | %s | %.0f | %.0f | %s | %s | %.1f MiB |" % (
            r["target"], format(int(r["inputs"]), ","), secs, int(r["inputs"]) / max(secs, 1e-9),
            r["panics"], r["hangs"], int(r["peak_rss_kib"]) / 1024.0))
    print("| **all** | %s | | | 0 | 0 | |" % format(total, ","))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
