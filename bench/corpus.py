#!/usr/bin/env python3
"""Deterministic synthetic corpus of operator documentation.

    python3 bench/corpus.py N OUT_DIR

writes OUT_DIR/docs (a `docs` project: docs.toml + content/) and
OUT_DIR/mdbook (an mdBook: book.toml + src/SUMMARY.md) with the *same*
Markdown bodies: N pages of ~8 KB, each with 3-6 YAML/bash/SQL blocks, a
table, lists and cross links to other pages' sections. Every block differs
from page to page (names, numbers), so caching identical blocks does not
make the benchmark trivial.
"""
import os
import random
import sys

WORDS = """cluster backup restore volume snapshot replica primary standby archive
wal barman bucket endpoint secret credential namespace operator controller
reconcile sync wave application manifest kustomization helm chart release
ingress service pod node storage class longhorn kopia volsync nfs schedule
retention policy lineage server recovery bootstrap failover switchover
certificate issuer gateway route network policy cilium kyverno admission
webhook mutation validation label annotation finalizer condition status phase
ready healthy degraded progressing pending terminating timeout retry journal
transcript runbook operator platform homelab gitops argocd immich postgres
database schema table index vacuum analyze checkpoint logical physical base
incremental compression gzip encryption object store region path prefix""".split()

SECTIONS = ["Overview", "Prerequisites", "Configuration", "Procedure",
            "Verification", "Troubleshooting", "Rollback", "Reference",
            "Monitoring", "Capacity planning"]


def sentence(rng, extra):
    n = rng.randint(8, 18)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.5:
        words.insert(rng.randint(0, n), "`%s`" % extra)
    s = " ".join(words)
    return s[0].upper() + s[1:] + "."


def paragraph(rng, extra):
    return " ".join(sentence(rng, extra) for _ in range(rng.randint(3, 6)))


def yaml_block(rng, i):
    name = "app-%04d-%s" % (i, rng.choice(WORDS))
    lines = [
        "apiVersion: postgresql.cnpg.io/v1",
        "kind: Cluster",
        "metadata:",
        "  name: %s" % name,
        "  namespace: ns-%d" % (i % 37),
        "  labels:",
        "    backup: \"%s\"" % rng.choice(["hourly", "daily", "weekly"]),
        "spec:",
        "  instances: %d" % rng.randint(1, 5),
        "  storage:",
        "    size: %dGi" % rng.randint(1, 500),
        "    storageClass: longhorn",
        "  backup:",
        "    retentionPolicy: \"%dd\"" % rng.randint(1, 60),
        "    barmanObjectStore:",
        "      destinationPath: s3://bucket-%d/%s" % (i, rng.choice(WORDS)),
        "      serverName: %s-v%d" % (name, rng.randint(1, 9)),
        "      wal:",
        "        compression: gzip",
        "      data:",
        "        compression: gzip  # %s" % rng.choice(WORDS),
    ]
    return "```yaml {example}\n" + "\n".join(lines[: rng.randint(12, len(lines))]) + "\n```"


def bash_block(rng, i):
    ns = "ns-%d" % (i % 37)
    lines = [
        "kubectl -n %s get clusters.postgresql.cnpg.io -o wide" % ns,
        "kubectl -n %s annotate application app-%04d argocd.argoproj.io/skip-reconcile=true" % (ns, i),
        "for b in $(kubectl -n %s get backups -o name); do" % ns,
        "  echo \"checking $b\"  # %s" % rng.choice(WORDS),
        "  kubectl -n %s get \"$b\" -o jsonpath='{.status.phase}'" % ns,
        "done",
        "export RESTORE_TARGET=\"app-%04d-v%d\"" % (i, rng.randint(2, 9)),
        "kubectl -n %s wait --for=condition=Ready cluster/app-%04d --timeout=%ds" % (ns, i, rng.randint(60, 900)),
    ]
    return "```bash\n" + "\n".join(lines[: rng.randint(4, len(lines))]) + "\n```"


def sql_block(rng, i):
    lines = [
        "SELECT count(*) AS assets FROM assets WHERE owner_id = %d;" % rng.randint(1, 10**6),
        "SELECT pg_size_pretty(pg_database_size('app_%d'));" % i,
        "SELECT now() - pg_last_xact_replay_timestamp() AS lag;",
        "VACUUM (ANALYZE, VERBOSE) table_%d;" % rng.randint(1, 99),
    ]
    return "```sql\n" + "\n".join(lines[: rng.randint(2, len(lines))]) + "\n```"


def table(rng, i):
    rows = ["| Database | serverName | Retention |", "|---|---|---|"]
    for k in range(rng.randint(3, 6)):
        rows.append("| db-%d-%d | db-%d-%d-v%d | %dd |" % (i, k, i, k, rng.randint(1, 5), rng.randint(1, 30)))
    return "\n".join(rows)


def page(i, n, rng):
    extra = "item-%04d" % i
    title = "%s %s guide %d" % (rng.choice(WORDS).capitalize(), rng.choice(WORDS), i)
    parts = ["# %s\n" % title, paragraph(rng, extra)]
    blocks = [yaml_block, bash_block, sql_block]
    nblocks = rng.randint(3, 6)
    sections = rng.sample(SECTIONS, 6)
    for s, sec in enumerate(sections):
        parts.append("## %s\n" % sec)
        parts.append(paragraph(rng, extra))
        if s < nblocks:
            parts.append(blocks[(i + s) % 3](rng, i))
        if s == 1:
            parts.append(table(rng, i))
        if s == 2:
            parts.append("\n".join("- %s" % sentence(rng, extra) for _ in range(4)))
        if n > 1:
            j = rng.randrange(n)
            parts.append("See [page %d](page-%04d.md#%s) for the %s steps." % (
                j, j, "overview", rng.choice(WORDS)))
        parts.append(paragraph(rng, extra))
    body = "\n\n".join(parts) + "\n"
    return title, body


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(42)
    docs_content = os.path.join(out, "docs", "content")
    md_src = os.path.join(out, "mdbook", "src")
    os.makedirs(docs_content, exist_ok=True)
    os.makedirs(md_src, exist_ok=True)
    with open(os.path.join(out, "docs", "docs.toml"), "w") as f:
        f.write('title = "Synthetic operator docs"\n')
    with open(os.path.join(out, "mdbook", "book.toml"), "w") as f:
        f.write('[book]\ntitle = "Synthetic operator docs"\n\n[output.html]\n')
    summary = ["# Summary\n"]
    total = 0
    for i in range(n):
        title, body = page(i, n, rng)
        # Every page must have an "overview" anchor for the cross links.
        body = body.replace("## %s\n" % body.split("## ")[1].split("\n")[0], "## Overview\n", 1) \
            if "## Overview\n" not in body else body
        name = "page-%04d.md" % i
        with open(os.path.join(docs_content, name), "w") as f:
            f.write("---\ntitle: \"%s\"\nweight: %d\n---\n" % (title, i))
            f.write(body)
        with open(os.path.join(md_src, name), "w") as f:
            f.write(body)
        summary.append("- [%s](%s)" % (title, name))
        total += len(body)
    with open(os.path.join(md_src, "SUMMARY.md"), "w") as f:
        f.write("\n".join(summary) + "\n")
    print("%d pages, %.1f KB of Markdown (%.1f KB/page)" % (n, total / 1024, total / 1024 / n))


if __name__ == "__main__":
    main()
