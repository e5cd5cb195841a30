//! "Did you mean …?" for names that almost match.

/// The candidate closest to `wanted` by edit distance, if it is close
/// enough to be a plausible typo.
pub fn closest<'a, I>(wanted: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|c| (edit_distance(wanted, c), c))
        .filter(|(d, c)| *d > 0 && *d <= 3.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("verify-backup", ["verify-backups", "overview"]),
            Some("verify-backups")
        );
        assert_eq!(closest("sise", ["size", "mode"]), Some("size"));
        assert_eq!(closest("zzzzzzzzzz", ["verify-backups", "overview"]), None);
    }
}
