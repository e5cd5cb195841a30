//! `docs`: literate documentation for a Kubernetes GitOps starter kit.
//!
//! The data flows in one direction: content is loaded ([`content`]), the
//! manifests are indexed ([`manifests`]), values are expanded into prose
//! ([`values`]), pages render ([`render`]) and the site is written
//! ([`output`]). Each command in [`cmd`] is a thin driver over that path.

pub mod check;
pub mod claude_md;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod cnpg;
pub mod config;
pub mod content;
pub mod cron;
pub mod diagnostic;
pub mod diff;
pub mod error;
pub mod manifests;
pub mod output;
pub mod project;
pub mod render;
pub mod serve;
pub mod suggest;
pub mod values;
pub mod yaml;
