#!/usr/bin/env python3
"""`docs serve` under load, with nginx serving the same pages as reference.

    python3 bench/load.py [--pages 100] [--requests 10000] [--clients 64] [--slow 64]

Generates the corpus (bench/corpus.py), builds it once with `docs build`
for nginx, then for each server in turn (`docs serve`, nginx on the built
site), on 127.0.0.1:

1. keep-alive load: `--clients` threads, each with one persistent
   http.client connection, share `--requests` GETs cycling over every file
   of the site (pages, CSS, JS). Latency is per request, from sending it
   to having read the whole body. An error is an exception, a status other
   than 200, or a connection the server closed or asked to close (each
   client must keep its one connection). 0 errors are required.
2. slow clients: `--slow` clients connect and send a request head one byte
   a second; once they are all under way, the keep-alive load runs again.
   Reported: that load's latencies and errors, and what became of the slow
   clients (both servers cut a head off after 10 s: nginx is given
   `client_header_timeout 10s` to match `docs serve`).

Both servers are warmed up first (one pass over every file). The client is
Python (64 threads, one GIL) on the same 2 cores as the server: latencies
include its time, for both servers alike. nginx: `apt-get install
nginx-light`; `--no-nginx` runs `docs serve` alone.
"""
import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from harness import build_docs, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD_BEFORE = os.getloadavg()[0]
SLOW_HEAD = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def site_paths(public):
    """Every HTML, CSS and JS file of the built site, as URL paths."""
    out = []
    for d, _, files in os.walk(public):
        for f in files:
            if f.endswith((".html", ".css", ".js")):
                rel = os.path.relpath(os.path.join(d, f), public).replace(os.sep, "/")
                out.append("/" + rel)
    return sorted(out)


def wait_up(port, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/index.html")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{what} did not come up on port {port}")


def load(port, paths, requests, clients):
    """Runs the keep-alive load; returns (latencies in s, errors, wall s)."""
    lock = threading.Lock()
    next_i = [0]
    latencies, errors = [], []

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= requests:
                break
            path = paths[(i * 7 + k) % len(paths)]
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                took = time.perf_counter() - start
                if r.status != 200 or not body:
                    raise RuntimeError(f"status {r.status}, {len(body)} bytes")
                if r.will_close:
                    raise RuntimeError("the server closed the connection")
                mine.append(took)
            except Exception as e:  # noqa: BLE001 - every failure counts
                with lock:
                    errors.append(f"{path}: {type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - start


def slow_client(port, results, started):
    """Sends SLOW_HEAD a byte a second; records (outcome, seconds)."""
    start = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1.0)
    outcome = "no answer"
    sent = 0
    try:
        while True:
            if sent < len(SLOW_HEAD):
                s.sendall(SLOW_HEAD[sent:sent + 1])
                sent += 1
                if sent == 2:
                    started.release()
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            while data and b"\r\n" not in data:
                more = s.recv(4096)
                if not more:
                    break
                data += more
            if not data:
                outcome = "closed without an answer"
            else:
                parts = data.split(b" ", 2)
                code = parts[1].decode(errors="replace") if len(parts) > 1 else "?"
                outcome = f"answered {code}"
            break
    except OSError as e:
        outcome = f"{type(e).__name__}"
        if sent < 2:
            started.release()
    finally:
        s.close()
    results.append((outcome, time.perf_counter() - start, sent))


def cpu_seconds(pgid):
    """User + system CPU time of every process in a process group (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state ppid pgrp ... utime(12) stime(13).
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(name, port, pgid, paths, args):
    # Warm-up: every file once (page gzip and ETag caches, nginx's open
    # file cache, Python's imports).
    load(port, paths, len(paths), 4)
    cpu = cpu_seconds(pgid)
    lat, errs, wall = load(port, paths, args.requests, args.clients)
    cpu = cpu_seconds(pgid) - cpu
    row = {"name": name, "lat": lat, "errors": errs, "wall": wall, "cpu": cpu}
    results, started = [], threading.Semaphore(0)
    slow = [threading.Thread(target=slow_client, args=(port, results, started)) for _ in range(args.slow)]
    for t in slow:
        t.start()
    for _ in slow:
        started.acquire()
    lat2, errs2, wall2 = load(port, paths, args.requests, args.clients)
    for t in slow:
        t.join()
    row.update(slat=lat2, serrors=errs2, swall=wall2, slow=results)
    return row


def nginx_conf(tmp, port, public):
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
user root;
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_timeout 10s;
    keepalive_requests 1000000;
    client_header_timeout 10s;
    types {{ text/html html; text/css css; text/javascript js; }}
    server {{
        listen 127.0.0.1:{port};
        root {public};
    }}
}}
""")
    return conf


def report(rows, args):
    print()
    print(f"{args.requests} GETs over {args.clients} keep-alive connections, {args.pages}-page site, "
          f"{os.cpu_count()} cores, load average before the run {LOAD_BEFORE:.1f}")
    print()
    print("| server | errors | p50 | p99 | max | requests/s | server CPU per request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        lat = r["lat"]
        print(f"| {r['name']} | {len(r['errors'])} | {pct(lat, 50) * 1e3:.2f} ms | {pct(lat, 99) * 1e3:.2f} ms "
              f"| {max(lat) * 1e3:.1f} ms | {len(lat) / r['wall']:.0f} | {r['cpu'] / args.requests * 1e6:.0f} µs |")
    print()
    print(f"The same load while {args.slow} other clients send a request head a byte a second:")
    print()
    print("| server | errors | p50 | p99 | max | requests/s | slow clients' outcome |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        lat = r["slat"]
        outcomes = {}
        for outcome, secs, sent in r["slow"]:
            outcomes.setdefault(outcome, []).append((secs, sent))
        said = "; ".join(
            f"{len(v)} × {k} after {statistics.median(s for s, _ in v):.1f} s "
            f"({statistics.median(n for _, n in v):.0f} bytes sent)"
            for k, v in sorted(outcomes.items()))
        print(f"| {r['name']} | {len(r['serrors'])} | {pct(lat, 50) * 1e3:.2f} ms | {pct(lat, 99) * 1e3:.2f} ms "
              f"| {max(lat) * 1e3:.1f} ms | {len(lat) / r['swall']:.0f} | {said} |")
    if len(rows) == 2:
        d, n = rows
        print()
        print(f"docs serve / nginx: p50 {pct(d['lat'], 50) / pct(n['lat'], 50):.2f}×, "
              f"p99 {pct(d['lat'], 99) / pct(n['lat'], 99):.2f}× (lower is better for docs serve)")
    for r in rows:
        for e in (r["errors"] + r["serrors"])[:5]:
            print(f"  {r['name']} error: {e}")
    if any(r["errors"] or r["serrors"] for r in rows):
        sys.exit("errors: see above")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--slow", type=int, default=64)
    ap.add_argument("--no-nginx", action="store_true")
    args = ap.parse_args()
    nginx = None if args.no_nginx else shutil.which("nginx")
    if not args.no_nginx and not nginx:
        sys.exit("nginx not found on PATH: apt-get install nginx-light (or --no-nginx)")
    docs = build_docs()
    with tempfile.TemporaryDirectory(prefix="docs-bench-load-") as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), str(args.pages), tmp],
                       check=True, stdout=subprocess.DEVNULL)
        project = os.path.join(tmp, "docs")
        subprocess.run([docs, "build"], cwd=project, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        public = os.path.join(project, "public")
        paths = site_paths(public)
        rows = []
        servers = [("docs serve", lambda port: [docs, "serve", "--port", str(port)])]
        if nginx:
            servers.append(("nginx", lambda port: [nginx, "-e", os.path.join(tmp, "error.log"),
                                                   "-c", nginx_conf(tmp, port, public)]))
        for name, cmd in servers:
            port = free_port()
            proc = subprocess.Popen(cmd(port), cwd=project, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                wait_up(port, name)
                print(f"{name}: measuring", flush=True)
                rows.append(measure(name, port, proc.pid, paths, args))
            finally:
                os.killpg(proc.pid, signal.SIGINT if name == "docs serve" else signal.SIGQUIT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        report(rows, args)


if __name__ == "__main__":
    main()
