//! Command-line interface: what each command and flag does.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "docs",
    version,
    about = "Literate docs for a Kubernetes GitOps starter kit",
    long_about = "Literate docs for a Kubernetes GitOps starter kit.\n\n\
        The guide lives as Markdown in content/, next to the real manifests in manifests/. \
        `docs` renders it into a static site that works offline, and pulls values such as a \
        CNPG serverName or a backup schedule out of the manifests so the guide cannot drift \
        from what the cluster runs.\n\n\
        Configuration is read from docs.toml at the repository root (every key is optional).",
    after_help = "Examples:\n  docs build                      render the site into public/\n  docs -C ~/kit build --out /tmp/site\n  docs build --base-url /homelab/  host under a sub-path (GitHub Pages)\n  docs check --crds ../crds        check the docs and validate the manifests\n  docs check --format github       annotations for a GitHub Actions job\n  docs check --explain cnpg-lineage\n  docs serve --open                live preview on http://127.0.0.1:3000/"
)]
pub struct Cli {
    /// Repository root: where docs.toml, content/ and manifests/ are.
    #[arg(
        short = 'C',
        long = "root",
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    pub root: PathBuf,

    /// When to colour diagnostics (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render the site into the output directory and regenerate CLAUDE.md.
    ///
    /// Pages are rendered from content/ through the theme; links between
    /// pages and their anchors are checked; values quoted from manifests are
    /// filled in. The site is written to a temporary directory and swapped in,
    /// so a failed build never replaces a good site. CLAUDE.md is rewritten
    /// only when its text changes.
    Build(BuildArgs),

    /// Check the docs against the manifests; exit 1 on any error.
    ///
    /// Every YAML block must equal (or, with `excerpt`, be part of) the
    /// manifest it shows, or be marked `example`; every value quoted from a
    /// manifest must resolve; links and anchors must hold; manifests must
    /// parse and validate against CRD schemas (with --crds); the kit's rules
    /// hold (six-field CNPG schedules, serverName lineage, Secrets listed in
    /// the inventory, kustomizations complete, CLAUDE.md fresh).
    /// `docs check --explain CODE` explains a rule.
    Check(CheckArgs),

    /// Serve a live preview: rebuild on every change, reload the browser.
    ///
    /// The site is built in memory and served on 127.0.0.1. content/,
    /// manifests/, the theme and docs.toml are watched; a page edit rebuilds
    /// that page, a manifest change the pages that quote manifests, a theme
    /// or config change everything. Build and check errors show over the
    /// page and here, while the last good build stays served.
    Serve(ServeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback exposes your drafts.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on; 0 picks a free one (and prints it).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,

    /// Open the site in a browser.
    #[arg(long)]
    pub open: bool,

    /// Also validate manifests against the CRDs in DIR (repeatable).
    #[arg(long = "crds", value_name = "DIR")]
    pub crds: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Validate manifests against the CustomResourceDefinitions in DIR
    /// (repeatable; adds to `crds` in docs.toml).
    #[arg(long = "crds", value_name = "DIR")]
    pub crds: Vec<PathBuf>,

    /// Validate against the CRDs of the cluster of the current kubeconfig
    /// context, so that the check matches what the cluster will accept.
    #[arg(long)]
    pub crds_from_cluster: bool,

    /// Kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Treat warnings as errors (`--deny warnings`).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<Deny>,

    /// Rewrite drifted `source=` blocks from their manifests (atomically),
    /// print what changed, then check again.
    #[arg(long)]
    pub fix: bool,

    /// Explain a check code (e.g. `cnpg-schedule`) and exit.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Compiler-style diagnostics with both locations and a diff.
    Human,
    /// One JSON object per line, with stable field names.
    Json,
    /// GitHub Actions workflow annotations (`::error file=…,line=…::…`).
    Github,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    Warnings,
}

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// Output directory (default: `output_dir` of docs.toml, else public/).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Base URL of the published site, e.g. `/my-repo/` for a GitHub Pages
    /// project site (default: `base_url` of docs.toml, else `/`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Publish even if the checks of `docs check` find errors.
    #[arg(long)]
    pub no_check: bool,

    /// Replace the output directory even if it is not empty and is not a
    /// site `docs build` wrote (it never replaces the pages, manifests,
    /// theme, CRDs, .git or the repository itself).
    #[arg(long)]
    pub force: bool,

    /// Also validate manifests against the CRDs in DIR (repeatable).
    #[arg(long = "crds", value_name = "DIR")]
    pub crds: Vec<PathBuf>,
}
