//! Line diffs (with `similar`): how a block in the docs differs from its
//! manifest, and which lines of an expanded page came from which source
//! line.

use similar::{Algorithm, DiffOp};

/// Unified-style lines: ` ` common, `-` only in `old`, `+` only in `new`.
pub fn lines(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for op in similar::capture_diff_slices(Algorithm::Myers, &a, &b) {
        let (old_range, new_range) = (op.old_range(), op.new_range());
        match op {
            DiffOp::Equal { .. } => out.extend(a[old_range].iter().map(|l| format!(" {l}"))),
            _ => {
                out.extend(a[old_range].iter().map(|l| format!("-{l}")));
                out.extend(b[new_range].iter().map(|l| format!("+{l}")));
            }
        }
    }
    out
}

/// Pairs `(i, j)` of matched items, in order, where `same(i, j)` says
/// whether `old[i]` and `new[j]` match: the items common to both, as a
/// diff sees them. Bounded in time for huge inputs (then fewer pairs).
pub fn matches(old: usize, new: usize, same: impl Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    // `similar` compares items through `PartialEq`; here the items are
    // indexes, compared by `same` (which need not be an equivalence).
    #[derive(Clone, Copy)]
    struct Old<'a>(usize, &'a dyn Fn(usize, usize) -> bool);
    #[derive(Clone, Copy)]
    struct New(usize);
    impl PartialEq<Old<'_>> for New {
        fn eq(&self, other: &Old<'_>) -> bool {
            (other.1)(other.0, self.0)
        }
    }
    let same: &dyn Fn(usize, usize) -> bool = &same;
    let a: Vec<Old> = (0..old).map(|i| Old(i, same)).collect();
    let b: Vec<New> = (0..new).map(New).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    let mut pairs = Pairs(Vec::new());
    // Past the deadline the diff is coarser: alignment degrades, never fails.
    let Ok(()) = similar::algorithms::myers::diff_deadline(
        &mut pairs,
        &a,
        0..old,
        &b,
        0..new,
        Some(deadline),
    );
    pairs.0
}

/// Collects the equal runs a diff reports, as `(old, new)` index pairs.
struct Pairs(Vec<(usize, usize)>);

impl similar::algorithms::DiffHook for Pairs {
    type Error = std::convert::Infallible;

    fn equal(&mut self, old: usize, new: usize, len: usize) -> Result<(), Self::Error> {
        self.0.extend((0..len).map(|k| (old + k, new + k)));
        Ok(())
    }
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

    #[test]
    fn matches_pairs_items_by_a_custom_rule() {
        let old = ["a", "x{{ v }}", "c"];
        let new = ["a", "x1", "x2", "c"];
        let same =
            |i: usize, j: usize| old[i] == new[j] || (old[i].starts_with('x') && new[j] == "x1");
        assert_eq!(matches(3, 4, same), [(0, 0), (1, 1), (2, 3)]);
    }
}
