#!/usr/bin/env python3
"""Times `docs check` on N pages x 5 YAML blocks against M manifests.

    python3 bench/check.py [--pages 1000] [--manifests 500] [--runs 7]

Every block is checked for real: `source=` + `select=` blocks (equality),
identity-matched excerpts, and examples that must parse; all of them agree
with the manifests, so the run reports no error (it exits non-zero if it
does). There is no reference tool for this job; the figure is absolute.
"""
import argparse
import os
import shutil
import statistics
import time

from harness import REPO, build_docs, run



def cluster(i):
    return f"""apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: db-{i}
  namespace: ns-{i % 20}
spec:
  instances: {1 + i % 3}
  storage:
    size: {1 + i % 50}Gi
    storageClass: longhorn
  backup:
    retentionPolicy: "{1 + i % 30}d"
    barmanObjectStore:
      destinationPath: s3://bucket-{i}/cnpg
      serverName: db-{i}-v{1 + i % 4}
      wal:
        compression: gzip
      data:
        compression: gzip
"""


def page(p, m):
    a, b, c = p % m, (p * 7 + 3) % m, (p * 13 + 5) % m
    return f"""---
title: Database {p}
weight: {p}
---
# Database {p}

The cluster `db-{a}` keeps {1 + a % 30} days of backups. Its storage and
backup settings are shown below exactly as the manifests say.

```yaml {{source="dbs/db-{a}.yaml" select="spec.backup"}}
retentionPolicy: "{1 + a % 30}d"
barmanObjectStore:
  destinationPath: s3://bucket-{a}/cnpg
  serverName: db-{a}-v{1 + a % 4}
  wal:
    compression: gzip
  data:
    compression: gzip
```

Storage of `db-{b}`:

```yaml {{source="dbs/db-{b}.yaml" select="spec.storage"}}
size: {1 + b % 50}Gi
storageClass: longhorn
```

The same object by identity, as an excerpt:

```yaml
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: db-{c}
  namespace: ns-{c % 20}
spec:
  instances: {1 + c % 3}
```

```yaml {{source="dbs/db-{c}.yaml" select="spec.backup.barmanObjectStore.wal"}}
compression: gzip
```

An illustration, not a manifest:

```yaml {{example}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: example-{p}
data:
  note: "page {p}"
```
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--manifests", type=int, default=500)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(REPO, "bench-out", "check"))
    args = ap.parse_args()
    docs = build_docs()
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(os.path.join(args.out, "content"))
    os.makedirs(os.path.join(args.out, "manifests", "dbs"))
    with open(os.path.join(args.out, "docs.toml"), "w") as f:
        f.write('title = "check benchmark"\nallow = ["cnpg-barman-deprecated"]\n')
    for i in range(args.manifests):
        with open(os.path.join(args.out, "manifests", "dbs", f"db-{i}.yaml"), "w") as f:
            f.write(cluster(i))
    for p in range(args.pages):
        with open(os.path.join(args.out, "content", f"page-{p:04d}.md"), "w") as f:
            f.write(page(p, args.manifests))
    times, mem, summary = [], 0.0, ""
    run([docs, "check"], args.out)  # warm the page cache
    for _ in range(args.runs):
        t, m, err = run([docs, "check"], args.out)
        summary = err.strip().splitlines()[-1]
        times.append(t)
        mem = max(mem, m)
    print(f"docs check, {args.pages} pages x 5 blocks against {args.manifests} manifests, {os.cpu_count()} cores")
    print(f"  {summary}")
    print(f"  median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {args.runs} runs; peak RSS {mem:.0f} MiB")


if __name__ == "__main__":
    main()
