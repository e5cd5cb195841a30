#!/usr/bin/env python3
"""Save-to-served latency: `docs serve` vs `mdbook serve`, same pages.

    python3 bench/serve.py [--sizes 100,1000] [--edits 20]

For each size: generate the corpus (bench/corpus.py), start both servers
on 127.0.0.1, then, one tool at a time, append a unique marker to a page
and poll the served page (every 2 ms, at most 30 s) until it contains the
marker. Reports median and max over the edits, and the ratio.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import REPO, build_docs, free_port, require_mdbook

HERE = os.path.dirname(os.path.abspath(__file__))


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except Exception:
        return ""


def wait_up(url, what, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        if fetch(url):
            return
        time.sleep(0.05)
    sys.exit(f"{what} did not come up at {url}")


def measure(page_file, url, edits, tag):
    times = []
    for i in range(edits):
        marker = f"LATENCY-{tag}-{i}-{time.time_ns()}"
        start = time.perf_counter()
        with open(page_file, "a") as f:
            f.write(f"\n\n{marker}\n")
        deadline = start + 30
        while marker not in fetch(url):
            if time.perf_counter() > deadline:
                sys.exit(f"{tag}: edit {i} never showed up at {url}")
            time.sleep(0.002)
        times.append(time.perf_counter() - start)
        time.sleep(0.3)  # let the server settle (watchers, debouncers)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--edits", type=int, default=20)
    # Outside the repository: mdbook's watcher honours parent .gitignore
    # files, and this repository ignores bench-out/, so mdbook would never
    # see an edit there.
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "docs-bench-serve"))
    args = ap.parse_args()
    mdbook = require_mdbook()
    docs = build_docs()
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        base = os.path.join(args.out, str(n))
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), str(n), base], check=True, stdout=subprocess.DEVNULL)
        page = "page-%04d" % (n // 2)
        result = {}
        for tool in ("docs", "mdbook"):
            port = free_port()
            if tool == "docs":
                cmd = [docs, "serve", "--port", str(port)]
                cwd, src = os.path.join(base, "docs"), os.path.join(base, "docs", "content", page + ".md")
            else:
                cmd = [mdbook, "serve", "-n", "127.0.0.1", "-p", str(port)]
                cwd, src = os.path.join(base, "mdbook"), os.path.join(base, "mdbook", "src", page + ".md")
            proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                url = f"http://127.0.0.1:{port}/{page}.html"
                wait_up(url, tool)
                time.sleep(1.0)
                result[tool] = measure(src, url, args.edits, tool)
            finally:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        d, m = result["docs"], result["mdbook"]
        rows.append((n, statistics.median(d), max(d), statistics.median(m), max(m)))
        print(f"N={n}: docs median {statistics.median(d) * 1000:.1f} ms max {max(d) * 1000:.1f} ms | "
              f"mdbook median {statistics.median(m) * 1000:.0f} ms max {max(m) * 1000:.0f} ms", flush=True)
    print()
    print("| pages | docs serve median | docs serve max | mdbook serve median | mdbook serve max | speed-up (median) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, dm, dx, mm, mx in rows:
        print(f"| {n} | {dm * 1000:.1f} ms | {dx * 1000:.1f} ms | {mm * 1000:.0f} ms | {mx * 1000:.0f} ms | {mm / dm:.0f}× |")
    print(f"\n{args.edits} edits per tool and size; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
