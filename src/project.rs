//! A repository as every command sees it: its config, its pages and its
//! manifests, loaded once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::content::{self, Content};
use crate::error::Result;
use crate::manifests::ManifestIndex;

pub struct Project {
    pub root: PathBuf,
    pub config: Config,
    pub content: Content,
    pub manifests: Arc<ManifestIndex>,
}

impl Project {
    pub fn load_with(root: &Path, config: Config) -> Result<Project> {
        let content = content::load(root, &config.content_dir)?;
        let manifests = Arc::new(ManifestIndex::load(
            root,
            &config.manifests_dir,
            &config.not_manifests(),
        )?);
        Ok(Project {
            root: root.to_path_buf(),
            config,
            content,
            manifests,
        })
    }
}
