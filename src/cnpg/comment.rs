//! YAML written in comments: the commented-out recovery section of a
//! Cluster manifest (`# bootstrap:` … `# externalClusters:` …) is the recipe
//! for the next recovery, and goes stale when a recovery moves the backups
//! to a new lineage. This finds such blocks and parses them with the file's
//! own lines and columns, so that `docs check` can hold them to the live
//! manifest and point at the exact commented line.

use crate::yaml::{self, Node};

/// A block of comment lines that parses as a YAML mapping.
#[derive(Debug, Clone)]
pub struct CommentedYaml {
    /// 1-based first line of the block in the file.
    pub first_line: usize,
    /// The parsed block; line and column of every node are the file's.
    pub root: Node,
}

/// Every commented-out YAML block of `text`. A block starts at a comment
/// line holding a key that opens a nested block (`# bootstrap:`), and goes
/// on over comment lines with the `#` in the same column that continue it:
/// blank, indented, list items or further keys. Prose comments end it, and
/// blocks that do not parse as a mapping are not YAML and are skipped.
pub fn commented_blocks(text: &str) -> Vec<CommentedYaml> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((hash, rest)) = uncomment(lines[i]) else {
            i += 1;
            continue;
        };
        if !opens_block(rest) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        while let Some((h, r)) = lines.get(end).and_then(|l| uncomment(l)) {
            if h != hash || !continues(r) {
                break;
            }
            end += 1;
        }
        while end > start + 1 && uncomment(lines[end - 1]).is_some_and(|(_, r)| r.is_empty()) {
            end -= 1;
        }
        // Lines outside the block stay (empty) lines, and the `#` becomes a
        // space: the parser's lines and columns are the file's.
        let mut masked = String::with_capacity(text.len());
        for (n, line) in lines.iter().enumerate() {
            if (start..end).contains(&n) {
                let mut l = line.to_string();
                l.replace_range(hash..hash + 1, " ");
                masked.push_str(&l);
            }
            masked.push('\n');
        }
        if let Ok(docs) = yaml::parse(&masked) {
            if let [doc] = docs.as_slice() {
                if doc.root.as_map().is_some() {
                    out.push(CommentedYaml {
                        first_line: start + 1,
                        root: doc.root.clone(),
                    });
                }
            }
        }
        i = end;
    }
    out
}

/// The restore sources a commented recovery section names: the
/// `barmanObjectStore.serverName` nodes of its `externalClusters` (the one
/// `bootstrap.recovery.source` names, when it names one), at the top of the
/// block or under `spec:`.
pub fn recovery_server_names(root: &Node) -> Vec<&Node> {
    let base = if root.get("spec").is_some() {
        root.get("spec").unwrap_or(root)
    } else {
        root
    };
    let source = base.str_at(&["bootstrap", "recovery", "source"]);
    let Some(clusters) = base.get("externalClusters").and_then(Node::as_seq) else {
        return Vec::new();
    };
    clusters
        .iter()
        .filter(|c| source.is_none() || c.str_at(&["name"]) == source)
        .filter_map(|c| c.at(&["barmanObjectStore", "serverName"]))
        .collect()
}

/// `(column of '#', text after "# ")` of a comment line.
fn uncomment(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let rest = trimmed.strip_prefix('#')?;
    let hash = line.len() - trimmed.len();
    Some((hash, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// `key:` with nothing after it but a comment.
fn opens_block(rest: &str) -> bool {
    match key_line(rest) {
        Some(after) => {
            let after = after.trim();
            after.is_empty() || after.starts_with('#')
        }
        None => false,
    }
}

fn continues(rest: &str) -> bool {
    rest.is_empty()
        || rest.starts_with(' ')
        || rest == "-"
        || rest.starts_with("- ")
        || key_line(rest).is_some()
}

/// What follows `key:` on a line that starts with a plain key.
fn key_line(rest: &str) -> Option<&str> {
    let first = rest.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "_.-/".contains(c)))?;
    let after = rest[end..].strip_prefix(':')?;
    (after.is_empty() || after.starts_with(' ')).then_some(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "\
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
spec:
  # To restore, create the Cluster with:
  #
  # bootstrap:
  #   recovery:
  #     source: db-backup
  # externalClusters:
  #   - name: other
  #     barmanObjectStore:
  #       serverName: other-v9
  #   - name: db-backup
  #     barmanObjectStore:
  #       serverName: db-v1   # restore SOURCE
  #
  # 4. Do not apply this:
  #    it is prose.
  backup:
    barmanObjectStore:
      serverName: db-v2
";

    #[test]
    fn finds_the_commented_block_with_file_positions() {
        let blocks = commented_blocks(CLUSTER);
        assert_eq!(blocks.len(), 1, "{blocks:#?}");
        let b = &blocks[0];
        assert_eq!(b.first_line, 6);
        let names = recovery_server_names(&b.root);
        assert_eq!(names.len(), 1, "only the source the recovery names");
        let n = names[0];
        assert_eq!(n.as_str(), Some("db-v1"));
        assert_eq!((n.line, n.col), (15, 23));
        let line = CLUSTER.lines().nth(n.line - 1).unwrap();
        assert_eq!(&line[n.col - 1..n.col - 1 + 5], "db-v1");
    }

    #[test]
    fn prose_and_broken_yaml_are_not_blocks() {
        assert!(commented_blocks("# Note: this is prose\n# key: value\n").is_empty());
        assert!(commented_blocks("# a:\n#   - x\n#   y: [\n").is_empty());
        // Without a recovery source, every external cluster counts; under
        // `spec:` too.
        let b = commented_blocks(
            "# spec:\n#   externalClusters:\n#     - barmanObjectStore:\n#         serverName: a-v1\n",
        );
        let names = recovery_server_names(&b[0].root);
        assert_eq!(names[0].as_str(), Some("a-v1"));
        assert_eq!((names[0].line, names[0].col), (4, 23));
    }
}
