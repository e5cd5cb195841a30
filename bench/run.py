#!/usr/bin/env python3
"""`docs run`: how soon a wait returns after its condition becomes true,
and how long `docs run --list` takes.

    python3 bench/run.py [--waits 20] [--lists 20]

Builds `docs` and the suite's test API server (`examples/test-cluster`) in
release mode, starts the server on 127.0.0.1, and:

  - wait latency: a one-step runbook waits (on a watch) for a ConfigMap's
    `data.state` to be `done`. Once the run has started its watch, the
    script PATCHes the ConfigMap straight over HTTPS; the latency is from
    the moment the PATCH is sent (an upper bound: the change is stored
    somewhere during that request) to the run's `done` event on its stdout
    (`--output json`, read as it is written). Repeated `--waits` times.
  - `--list`: wall time of `docs run cnpg-disaster-recovery --list` in this
    repository (parse the page and its manifests, print the steps; no
    cluster), repeated `--lists` times.

Prints the median, min and max of each.
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

from harness import REPO, build_docs

RUNBOOK = """---
title: Wait benchmark
runbook: true
---
```yaml {run action=wait name=wait-flag}
apiVersion: v1
kind: ConfigMap
metadata:
  name: flag
  namespace: bench
for: jsonpath={.data.state}=done
timeout: 1m
```
"""


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))


def build_server():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "test-cluster"],
                   cwd=REPO, check=True)
    return os.path.join(target_dir(), "release", "examples", "test-cluster")


def kubeconfig_parts(path):
    text = open(path).read()
    server = re.search(r"server:\s*(\S+)", text).group(1)
    token = re.search(r"token:\s*(\S+)", text).group(1)
    ca = re.search(r"certificate-authority-data:\s*(\S+)", text).group(1)
    return server, token, base64.b64decode(ca)


class Api:
    """Straight HTTPS to the test server (no kubectl start-up in the way)."""

    def __init__(self, kubeconfig, tmp):
        server, self.token, ca = kubeconfig_parts(kubeconfig)
        m = re.match(r"https://([^:/]+):(\d+)", server)
        self.host, self.port = m.group(1), int(m.group(2))
        ca_path = os.path.join(tmp, "ca.crt")
        open(ca_path, "wb").write(ca)
        self.ctx = ssl.create_default_context(cafile=ca_path)
        self.ctx.check_hostname = False

    def call(self, method, path, body=None, ctype="application/json"):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=10)
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": ctype}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status >= 300 and resp.status != 409 and resp.status != 404:
            sys.exit("%s %s: %d %s" % (method, path, resp.status, data[:300]))
        return resp.status


def bench_wait(docs, api, kubeconfig, repo, n):
    cm = "/api/v1/namespaces/bench/configmaps"
    api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    latencies = []
    for i in range(n):
        api.call("DELETE", cm + "/flag")
        api.call("POST", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "flag", "namespace": "bench"},
                              "data": {"state": "working"}})
        proc = subprocess.Popen([docs, "-C", repo, "--color", "never", "run", "bench", "--force",
                                 "--output", "json", "--kubeconfig", kubeconfig],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        for line in proc.stdout:
            ev = json.loads(line)
            if ev.get("event") == "step" and ev.get("state") == "started":
                break
        # The run lists, then watches: give it the time to start its watch
        # (the latency below is measured from the change, not from here).
        time.sleep(0.3)
        # The condition becomes true while the PATCH is being answered:
        # timing from the moment it is sent bounds the latency from above.
        changed = time.perf_counter()
        api.call("PATCH", cm + "/flag", {"data": {"state": "done"}}, "application/merge-patch+json")
        done = None
        for line in proc.stdout:
            ev = json.loads(line)
            if ev.get("event") == "step" and ev.get("state") == "done":
                done = time.perf_counter()
                break
        proc.wait()
        if done is None or proc.returncode != 0:
            sys.exit("run %d did not finish the wait (exit %s)" % (i, proc.returncode))
        latencies.append((done - changed) * 1000.0)
    return latencies


def bench_list(docs, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([docs, "-C", REPO, "run", "cnpg-disaster-recovery", "--list"],
                       stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def summary(name, xs, unit="ms"):
    return "%-44s median %7.1f %s  (min %.1f, max %.1f, n=%d)" % (
        name, statistics.median(xs), unit, min(xs), max(xs), len(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waits", type=int, default=20)
    ap.add_argument("--lists", type=int, default=20)
    args = ap.parse_args()
    docs = build_docs()
    server_bin = build_server()
    tmp = tempfile.mkdtemp(prefix="docs-bench-run-")
    try:
        repo = os.path.join(tmp, "repo")
        os.makedirs(os.path.join(repo, "content"))
        open(os.path.join(repo, "docs.toml"), "w").write('title = "bench"\n')
        open(os.path.join(repo, "content", "index.md"), "w").write("# Bench\n")
        open(os.path.join(repo, "content", "bench.md"), "w").write(RUNBOOK)
        kubeconfig = os.path.join(tmp, "kubeconfig")
        server = subprocess.Popen([server_bin, kubeconfig], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().strip()
        print("machine: %d cores; test API server at %s" % (os.cpu_count(), url))
        api = Api(kubeconfig, tmp)
        waits = bench_wait(docs, api, kubeconfig, repo, args.waits)
        lists = bench_list(docs, args.lists)
        server.stdin.close()
        server.wait(timeout=10)
        print(summary("wait returns after the change is sent", waits))
        print(summary("docs run cnpg-disaster-recovery --list", lists))
        print("targets: wait < 100 ms (median), --list < 50 ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
