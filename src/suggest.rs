//! "Did you mean …?" for names that almost match.

/// The candidate closest to `wanted` by edit distance (Levenshtein, in
/// characters), if it is close enough to be a plausible typo; else the
/// shortest candidate that `wanted` begins (a name cut short).
pub fn closest<'a, I>(wanted: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let candidates: Vec<&str> = candidates.into_iter().collect();
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(wanted, c), *c))
        .filter(|(d, c)| *d > 0 && *d <= 3.max(c.chars().count() / 4))
        .min()
        .map(|(_, c)| c)
        .or_else(|| {
            candidates
                .iter()
                .filter(|c| wanted.chars().count() >= 4 && c.starts_with(wanted) && **c != wanted)
                .min_by_key(|c| c.len())
                .copied()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("verify-backup", ["verify-backups", "overview"]),
            Some("verify-backups")
        );
        assert_eq!(closest("sise", ["size", "mode"]), Some("size"));
        assert_eq!(closest("zzzzzzzzzz", ["verify-backups", "overview"]), None);
        assert_eq!(
            closest("größe", ["grösse"]),
            Some("grösse"),
            "characters, not bytes"
        );
        assert_eq!(
            closest("cnpg-barman", ["cnpg-barman-deprecated", "cnpg-lineage"]),
            Some("cnpg-barman-deprecated"),
            "a name cut short"
        );
    }
}
