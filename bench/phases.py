#!/usr/bin/env python3
"""Where `docs build` spends its time, by phase, from a perf profile.

    perf record -F 1000 --call-graph dwarf,16384 -o perf.data \\
        target/release/docs -C bench-out/1000/docs build
    python3 bench/phases.py perf.data

Prints, for each phase, the share of samples whose call stack passes
through it (inclusive: nested phases are also counted in their parent, so
shares do not add up to 100%). `perf report --no-children` gives the
functions themselves; this groups them into what the build does.
"""
import subprocess
import sys

# (label, substring(s) of a frame; None = Markdown rendering outside
# highlighting). Work done on rayon's threads has rayon's frames below it,
# not its caller's: name the function that runs there.
PHASES = [
    ("syntax highlighting (Highlighter::highlight)", "Highlighter::highlight"),
    ("  syntect ParseState::parse_line", "ParseState::parse_line"),
    ("  oniguruma regex search", "onig_search"),
    ("  regex compilation (onig_new)", "onig_new"),
    ("Markdown to HTML, outside highlighting", None),
    ("outline: Markdown events, headings, blocks", "outline::"),
    ("page template (Theme::render)", "Theme::render"),
    ("search terms (search::page_terms)", "page_terms"),
    ("writing files (TreeWriter::write)", "TreeWriter::write"),
    ("  kernel: creating a file (ext4_create)", "ext4_create"),
    ("  kernel: ext4 skipping recently deleted inodes", "recently_deleted"),
    ("loading pages (Inside::read, parse_page; on all cores)", ("Inside::read", "parse_page")),
    ("checks (check_outlines)", "check_outlines"),
    ("search index (search::build)", "search::build"),
    ("loading the syntax dump (syntaxes::load)", "syntaxes::load"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    text = subprocess.run(["perf", "script", "-i", sys.argv[1]], capture_output=True,
                          text=True, check=True).stdout
    counts = {label: 0 for label, _ in PHASES}
    total = 0
    for sample in text.split("\n\n"):
        frames = " ".join(line.strip() for line in sample.strip().split("\n")[1:])
        if not frames:
            continue
        total += 1
        for label, pattern in PHASES:
            if pattern is None:
                hit = "markdown::render" in frames and "Highlighter::highlight" not in frames
            elif isinstance(pattern, tuple):
                hit = any(p in frames for p in pattern)
            else:
                hit = pattern in frames
            counts[label] += hit
    print("%d samples" % total)
    for label, _ in PHASES:
        print("%5.1f%%  %s" % (100.0 * counts[label] / max(total, 1), label))


if __name__ == "__main__":
    main()
