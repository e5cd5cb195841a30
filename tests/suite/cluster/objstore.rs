//! The object-storage bucket that Barman writes to, in memory: for each
//! lineage (destinationPath + serverName) its base backups and WAL
//! segments. The CNPG simulator reads it to decide whether a recovery
//! finds a backup ("no target backup found") and whether a new lineage
//! is empty ("Expected empty archive"); tests seed and inspect it.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseBackup {
    pub id: String,
    /// RFC 3339 time the backup ended.
    pub time: String,
    /// The Backup object (or test) that made it.
    pub by: String,
    /// What the database held then (a recovery restores it).
    pub contents: Contents,
}

/// What a simulated database holds, as `psql` reports it: tables with
/// their row counts, and extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    pub tables: Vec<(String, i64)>,
    pub extensions: Vec<String>,
}

impl Contents {
    /// A database with data in it (what seeded backups hold).
    pub fn sample() -> Contents {
        Contents {
            tables: vec![
                ("assets".into(), 12_000),
                ("exif".into(), 12_000),
                ("asset_faces".into(), 3_400),
            ],
            extensions: vec![
                "cube".into(),
                "earthdistance".into(),
                "plpgsql".into(),
                "vchord".into(),
            ],
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lineage {
    pub base_backups: Vec<BaseBackup>,
    /// WAL segment names, in the order archived.
    pub wal: Vec<String>,
}

impl Lineage {
    pub fn is_empty(&self) -> bool {
        self.base_backups.is_empty() && self.wal.is_empty()
    }
}

/// Lineages by (destinationPath, serverName).
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    pub lineages: BTreeMap<(String, String), Lineage>,
}

impl Bucket {
    pub fn get(&self, dest: &str, server: &str) -> Option<&Lineage> {
        self.lineages.get(&(dest.to_string(), server.to_string()))
    }

    pub fn entry(&mut self, dest: &str, server: &str) -> &mut Lineage {
        self.lineages
            .entry((dest.to_string(), server.to_string()))
            .or_default()
    }

    /// The lineage of a serverName, whatever its destination (the first).
    pub fn by_server(&self, server: &str) -> Option<&Lineage> {
        self.lineages
            .iter()
            .find(|((_, s), _)| s == server)
            .map(|(_, l)| l)
    }

    pub fn has_data(&self, dest: &str, server: &str) -> bool {
        self.get(dest, server).is_some_and(|l| !l.is_empty())
    }
}

/// WAL segment name: timeline, log and segment in 8 hex digits each.
pub fn segment(timeline: u32, n: u64) -> String {
    format!("{timeline:08X}{:08X}{:08X}", n >> 8, n & 0xff)
}
