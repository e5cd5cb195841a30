//! The journal of a run: `journal.json` in the run's directory, rewritten
//! atomically (temp file, fsync, rename) before a mutating step starts and
//! after it ends. A `kill -9` at any moment leaves the previous complete
//! journal; `--resume` reads it and never silently repeats a step that is
//! recorded as started or done.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};

pub const FILE_NAME: &str = "journal.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Pending,
    Started,
    Done,
    Failed,
    Skipped,
    Interrupted,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Started => "started",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Done,
    Failed,
    Interrupted,
}

/// An object a step created, read or deleted: its identity at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

impl ObjectRef {
    pub fn same_identity(&self, other: &ObjectRef) -> bool {
        self.api_version.split('/').next() == other.api_version.split('/').next()
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// What happened, in a word or two (`created`, `deleted`, `exit 0`).
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub number: usize,
    pub name: String,
    pub kind: String,
    pub mutating: bool,
    pub destructive: bool,
    /// The step as rendered when the run started (secret variables as
    /// `⟨secret:NAME⟩`): what the run executes, also on resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub state: StepState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<StepResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub run_id: String,
    /// The runbook's name (`docs run NAME`) and page.
    pub runbook: String,
    pub page: String,
    /// A hash of the runbook's source: a changed runbook is noticed on
    /// resume.
    pub page_hash: String,
    pub context: String,
    pub server: String,
    pub user: String,
    pub dry_run: bool,
    /// Variables as the run used them; secret ones are `[redacted]`.
    pub variables: BTreeMap<String, String>,
    pub state: RunState,
    pub started_at: String,
    pub updated_at: String,
    pub steps: Vec<StepRecord>,
}

impl Journal {
    pub fn step(&self, number: usize) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.number == number)
    }

    pub fn step_mut(&mut self, number: usize) -> Option<&mut StepRecord> {
        self.steps.iter_mut().find(|s| s.number == number)
    }

    /// The uid this run last saw for an object, if any step recorded it.
    pub fn known_uid(&self, object: &ObjectRef) -> Option<String> {
        self.steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .filter_map(|s| s.result.as_ref())
            .flat_map(|r| r.objects.iter())
            .rev()
            .find(|o| o.same_identity(object))
            .and_then(|o| o.uid.clone())
    }

    /// Writes the journal to `dir/journal.json`, atomically.
    pub fn save(&mut self, dir: &Path) -> Result<()> {
        self.updated_at = now();
        let text = serde_json::to_string_pretty(self).expect("the journal serializes");
        let path = dir.join(FILE_NAME);
        crate::output::write_file_atomic(&path, format!("{text}\n").as_bytes(), &path)
    }

    /// Reads a journal. A corrupt or half-written one is an error naming
    /// the file and where it stops making sense — never discarded.
    pub fn load(path: &Path) -> Result<Journal> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the journal", e))?;
        let journal: Journal = serde_json::from_str(&text).map_err(|e| {
            Error::at(
                Location::new(path, e.line(), e.column()),
                format!(
                    "the journal is corrupt ({e}); it is kept as it is: look at it, then start a new run (or fix it by hand)"
                ),
            )
        })?;
        if journal.version != VERSION {
            return Err(Error::at(
                Location::file(path),
                format!(
                    "journal version {} is not the version this docs writes ({VERSION})",
                    journal.version
                ),
            ));
        }
        Ok(journal)
    }

    /// Whether the run can be resumed: it did not finish (it failed, was
    /// interrupted, or was killed while running). Dry runs never are.
    pub fn unfinished(&self) -> bool {
        !self.dry_run
            && matches!(
                self.state,
                RunState::Running | RunState::Interrupted | RunState::Failed
            )
    }
}

/// The run directories of a runbook, newest first.
pub fn runs(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join(FILE_NAME).is_file())
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// The current time, UTC, RFC 3339 with milliseconds.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

/// A directory name for a new run: the time, sortable, file-system safe.
pub fn dir_name() -> String {
    let t = jiff::Timestamp::now();
    let s = t.strftime("%Y%m%dT%H%M%S").to_string();
    format!("{s}.{:03}Z-{}", t.subsec_millisecond(), std::process::id())
}

/// FNV-1a, 64 bits, as hex: detects that the runbook changed (not a
/// security measure).
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x1000_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> Journal {
        Journal {
            version: VERSION,
            run_id: "r1".into(),
            runbook: "dr".into(),
            page: "content/dr.md".into(),
            page_hash: fingerprint(&["a", "b"]),
            context: "test".into(),
            server: "https://127.0.0.1:1/".into(),
            user: "u".into(),
            dry_run: false,
            variables: BTreeMap::new(),
            state: RunState::Running,
            started_at: now(),
            updated_at: now(),
            steps: vec![StepRecord {
                number: 1,
                name: "make".into(),
                kind: "create".into(),
                mutating: true,
                destructive: false,
                text: Some("apiVersion: v1\n".into()),
                state: StepState::Done,
                started_at: None,
                ended_at: None,
                result: Some(StepResult {
                    outcome: "created".into(),
                    objects: vec![ObjectRef {
                        api_version: "v1".into(),
                        kind: "ConfigMap".into(),
                        namespace: Some("ns".into()),
                        name: "c".into(),
                        uid: Some("uid-1".into()),
                        resource_version: Some("7".into()),
                    }],
                    exit_code: None,
                }),
                error: None,
            }],
        }
    }

    #[test]
    fn round_trips_atomically_and_finds_known_uids() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = journal();
        j.save(dir.path()).unwrap();
        let back = Journal::load(&dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(back.steps, j.steps);
        let probe = ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("ns".into()),
            name: "c".into(),
            uid: None,
            resource_version: None,
        };
        assert_eq!(back.known_uid(&probe).as_deref(), Some("uid-1"));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn a_corrupt_journal_is_reported_not_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = serde_json::to_string_pretty(&journal()).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let err = Journal::load(&path).unwrap_err();
        assert!(err.message.contains("the journal is corrupt"), "{err}");
        assert!(err.location.unwrap().line > 1);
        assert!(path.exists(), "kept");
    }

    #[test]
    fn run_directories_sort_newest_first() {
        let a = dir_name();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = dir_name();
        assert!(b > a, "{a} {b}");
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
