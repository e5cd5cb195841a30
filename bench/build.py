#!/usr/bin/env python3
"""`docs build` vs `mdbook build`, side by side, on the same synthetic pages.

    python3 bench/build.py [--sizes 5,100,1000,5000] [--runs 5] [--out bench-out]

Needs `mdbook` on PATH (`cargo install mdbook`) and builds `docs` in release
mode. For each size N it generates the corpus (bench/corpus.py), then times,
alternating the two tools:
  - clean:   the output directory is removed before each run;
  - rebuild: the previous output is left in place (what an author does).
Wall time is the median of the runs; peak memory is the largest resident set
(ru_maxrss from wait4). Also reported: output size and search index size
against the size of the Markdown.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from harness import REPO, build_docs, require_mdbook, run

HERE = os.path.dirname(os.path.abspath(__file__))


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total


def md_size(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".md"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5,100,1000,5000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mdbook-runs-at-5000", type=int, default=1,
                    help="mdBook takes about a minute at 5000 pages")
    ap.add_argument("--out", default=os.path.join(REPO, "bench-out"))
    args = ap.parse_args()

    mdbook = require_mdbook()
    docs = build_docs()
    version = subprocess.run([mdbook, "--version"], capture_output=True, text=True).stdout.strip()
    print("machine: %d cores; %s; docs %s" % (os.cpu_count(), version, docs))

    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        base = os.path.join(args.out, str(n))
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), str(n), base], check=True)
        ddir, mdir = os.path.join(base, "docs"), os.path.join(base, "mdbook")
        dout, mout = os.path.join(ddir, "public"), os.path.join(mdir, "book")
        runs = args.runs
        mruns = args.mdbook_runs_at_5000 if n >= 5000 else runs
        res = {"docs-clean": [], "docs-rebuild": [], "mdbook-clean": [], "mdbook-rebuild": []}
        mem = {"docs": 0.0, "mdbook": 0.0}
        for i in range(max(runs, mruns)):
            if i < runs:
                shutil.rmtree(dout, ignore_errors=True)
                t, m, _ = run([docs, "build"], ddir)
                res["docs-clean"].append(t)
                mem["docs"] = max(mem["docs"], m)
                t, m, _ = run([docs, "build"], ddir)
                res["docs-rebuild"].append(t)
                mem["docs"] = max(mem["docs"], m)
            if i < mruns:
                shutil.rmtree(mout, ignore_errors=True)
                t, m, _ = run([mdbook, "build"], mdir)
                res["mdbook-clean"].append(t)
                mem["mdbook"] = max(mem["mdbook"], m)
                t, m, _ = run([mdbook, "build"], mdir)
                res["mdbook-rebuild"].append(t)
                mem["mdbook"] = max(mem["mdbook"], m)
        med = {k: statistics.median(v) for k, v in res.items()}
        markdown = md_size(os.path.join(mdir, "src"))
        search = os.path.getsize(os.path.join(dout, "search-index.js"))
        # mdBook 0.5 hashes its file names: searchindex-<hash>.js
        msearch = sum(os.path.getsize(os.path.join(mout, f)) for f in os.listdir(mout)
                      if f.startswith("searchindex") and f.endswith(".js"))
        row = dict(n=n, med=med, mem=mem, markdown=markdown, search=search, msearch=msearch,
                   out=du(dout), mout=du(mout), runs=runs, mruns=mruns)
        rows.append(row)
        print("N=%d: docs clean %.3fs rebuild %.3fs %.0f MiB | mdbook clean %.3fs rebuild %.3fs %.0f MiB"
              % (n, med["docs-clean"], med["docs-rebuild"], mem["docs"],
                 med["mdbook-clean"], med["mdbook-rebuild"], mem["mdbook"]), flush=True)

    print()
    print("| pages | docs clean | mdBook clean | speed-up | docs rebuild | mdBook rebuild | speed-up "
          "| docs peak RSS | mdBook peak RSS | memory ratio | docs output | mdBook output "
          "| docs search index / Markdown | mdBook search index / Markdown |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        m = r["med"]
        print("| %d | %.3f s | %.3f s | %.1f× | %.3f s | %.3f s | %.1f× | %.0f MiB | %.0f MiB | %.2f | %.1f MiB | %.1f MiB | %.1f%% | %.1f%% |" % (
            r["n"], m["docs-clean"], m["mdbook-clean"], m["mdbook-clean"] / m["docs-clean"],
            m["docs-rebuild"], m["mdbook-rebuild"], m["mdbook-rebuild"] / m["docs-rebuild"],
            r["mem"]["docs"], r["mem"]["mdbook"], r["mem"]["docs"] / r["mem"]["mdbook"],
            r["out"] / 2**20, r["mout"] / 2**20,
            100.0 * r["search"] / r["markdown"], 100.0 * r["msearch"] / r["markdown"]))
    by_n = {r["n"]: r for r in rows}
    if 1000 in by_n and 5000 in by_n:
        a, b = by_n[1000], by_n[5000]
        print()
        print("linearity 1000 → 5000 pages (5.0 is linear): docs time ×%.2f, output ×%.2f; mdBook time ×%.2f, output ×%.2f" % (
            b["med"]["docs-clean"] / a["med"]["docs-clean"], b["out"] / a["out"],
            b["med"]["mdbook-clean"] / a["med"]["mdbook-clean"], b["mout"] / a["mout"]))
    print("runs per size: %s (mdBook at 5000 pages: %d)" % (args.runs, args.mdbook_runs_at_5000))


if __name__ == "__main__":
    main()
