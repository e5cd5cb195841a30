"""Shared by the benchmark scripts: build `docs`, find mdBook, time a
process with its peak memory, pick a free port."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def build_docs():
    """Builds docs in release mode; returns the binary's path."""
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    # Where cargo put it: CARGO_TARGET_DIR (relative to REPO, where cargo
    # ran) if set.
    target = os.path.join(REPO, os.environ.get("CARGO_TARGET_DIR", "target"))
    return os.path.join(target, "release", "docs")


def require_mdbook():
    mdbook = shutil.which("mdbook")
    if not mdbook:
        sys.exit("mdbook not found on PATH: cargo install mdbook")
    return mdbook


def run(cmd, cwd):
    """Runs cmd to completion; returns (seconds, peak RSS in MiB, stderr).
    Exits on failure."""
    start = time.perf_counter()
    # stderr goes to a file: a pipe read after the wait would deadlock on
    # large output.
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("%s failed in %s:\n%s" % (" ".join(cmd), cwd, err[-3000:]))
    return elapsed, usage.ru_maxrss / 1024.0, err


def free_port():
    """A port free on 127.0.0.1 right now, for a server to listen on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
