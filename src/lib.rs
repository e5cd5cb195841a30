//! `docs`: literate documentation for a Kubernetes GitOps starter kit.
//!
//! The data flows one way (`bench/imports.py` draws the graph and fails on
//! a cycle or an upward import):
//!
//! ```text
//! error, code, diagnostic, yaml, config, diff, suggest     (base)
//!   → content   pages, front matter, fence attributes, outline, links
//!   → manifests the index of manifests, kustomizations;  schema, cnpg
//!   → values    expressions in pages (+ project: content and manifests)
//!   → runbook   the steps of a runbook page
//!   → render, check
//!   → output, cluster, serve
//!   → cmd, cli
//! ```
//!
//! Each command in [`cmd`] is a thin driver over that path.

pub(crate) mod check;
pub mod cli;
pub(crate) mod cluster;
pub mod cmd;
pub(crate) mod cnpg;
pub mod code;
pub(crate) mod config;
pub(crate) mod content;
pub mod diagnostic;
pub(crate) mod diff;
pub mod error;
#[cfg(test)]
mod fuzz;
pub mod manifests;
pub(crate) mod output;
pub(crate) mod project;
pub(crate) mod render;
pub(crate) mod run;
pub(crate) mod runbook;
pub mod schema;
pub(crate) mod serve;
pub(crate) mod suggest;
pub(crate) mod values;
pub mod yaml;
