//! The integration tests: one binary (like mdBook's testsuite), so that
//! helpers are shared modules and a test server is one module among them.
//! Each module drives the real `docs` binary against real files, a real
//! HTTP server or the suite's Kubernetes-compatible API server.

mod cluster;
mod common;

mod bad_input;
mod browser;
mod build;
mod check;
mod cluster_tests;
mod foreign;
mod hardening;
mod layers;
mod manifests;
mod run;
mod serve;
mod site_output;
