//! A small line diff (longest common subsequence), for showing how a block
//! in the docs differs from its manifest.

/// Unified-style lines: ` ` common, `-` only in `old`, `+` only in `new`.
pub fn lines(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!(" {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            out.push(format!("-{}", a[i]));
            i += 1;
        } else {
            out.push(format!("+{}", b[j]));
            j += 1;
        }
    }
    out
}

/// Lines of context kept around each change.
const CONTEXT: usize = 3;

/// The diff as text with `--- old_name` / `+++ new_name` headers; runs of
/// unchanged lines longer than the context are elided as `@@ … @@`.
pub fn unified(old_name: &str, old: &str, new_name: &str, new: &str) -> String {
    let all = lines(old, new);
    let changed: Vec<bool> = all.iter().map(|l| !l.starts_with(' ')).collect();
    let near = |i: usize| {
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT + 1).min(all.len());
        changed[lo..hi].iter().any(|c| *c)
    };
    let mut s = format!("--- {old_name}\n+++ {new_name}\n");
    let mut skipped = false;
    for (i, l) in all.iter().enumerate() {
        if near(i) {
            if skipped {
                s.push_str("@@ … @@\n");
                skipped = false;
            }
            s.push_str(l);
            s.push('\n');
        } else {
            skipped = true;
        }
    }
    if skipped {
        s.push_str("@@ … @@\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_keeps_context_around_changes() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l10\n", "x10\n");
        let u = unified("a", &old, "b", &new);
        assert_eq!(
            u,
            "--- a\n+++ b\n@@ … @@\n l7\n l8\n l9\n-l10\n+x10\n l11\n l12\n l13\n@@ … @@\n"
        );
    }

    #[test]
    fn shows_changed_lines() {
        assert_eq!(
            lines("a: 1\nb: 2\nc: 3\n", "a: 1\nb: 5\nc: 3\n"),
            [" a: 1", "-b: 2", "+b: 5", " c: 3"]
        );
        assert_eq!(lines("", "x\n"), ["+x"]);
        assert_eq!(lines("x\n", ""), ["-x"]);
    }
}
