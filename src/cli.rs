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
    after_help = "Examples:\n  docs build                      render the site into public/\n  docs -C ~/kit build --out /tmp/site\n  docs build --base-url /homelab/  host under a sub-path (GitHub Pages)\n  docs check --crds ../crds        check the docs and validate the manifests\n  docs check --format github       annotations for a GitHub Actions job\n  docs check --explain cnpg-lineage\n  docs serve --open                live preview on http://127.0.0.1:3000/\n  docs run cnpg-disaster-recovery  run the DR runbook against the current context"
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

    /// Run a runbook, step by step, against a cluster.
    ///
    /// The steps are the page's runnable blocks, as the site numbers them:
    /// shell scripts, and Kubernetes actions (create, apply, delete, patch,
    /// assert, wait). Before anything runs, a preflight shows the context,
    /// server, user and namespaces, and checks that the API answers, that
    /// every kind exists and that the Secrets the objects need exist; then
    /// the plan. Destructive steps ask for confirmation (the first one:
    /// type the context name). Progress is journaled in
    /// .docs/runs/<runbook>/<time>/ after every step, so that a crash,
    /// kill or Ctrl-C resumes with --resume at the right step, never
    /// repeating a done one; transcript.md there records commands, output
    /// and timings, with Secret values redacted.
    ///
    /// Exit status: 0 done, 1 a step failed, 2 usage or preflight error,
    /// 130 interrupted.
    Run(RunArgs),
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  docs run cnpg-disaster-recovery --list\n  docs run cnpg-disaster-recovery --dry-run\n  docs run cnpg-disaster-recovery --context homelab\n  docs run cnpg-disaster-recovery --only check-backups\n  docs run cnpg-disaster-recovery --resume\n  docs run cnpg-pitr --var target_time='2026-11-24 03:00:00+00'"
)]
pub struct RunArgs {
    /// The runbook: its file stem (`cnpg-disaster-recovery`) or its path.
    #[arg(value_name = "RUNBOOK")]
    pub runbook: String,

    /// List the steps (and variables) and exit.
    #[arg(long)]
    pub list: bool,

    /// Run only this step (name or number; repeatable).
    #[arg(long, value_name = "STEP")]
    pub only: Vec<String>,

    /// Start at this step (name or number).
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,

    /// Stop after this step (name or number).
    #[arg(long, value_name = "STEP")]
    pub to: Option<String>,

    /// Send Kubernetes steps with dryRun=All (the API server validates and
    /// answers, nothing is persisted); show shell steps without running them.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask before destructive steps (for scripted use). Without a
    /// terminal and without --yes, a destructive step refuses to run.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Continue the newest unfinished run of this runbook.
    #[arg(long)]
    pub resume: bool,

    /// With --resume: continue although the runbook, the variables or the
    /// context changed. Without: start a new run although one is unfinished.
    #[arg(long)]
    pub force: bool,

    /// Set a runbook variable (repeatable): --var target_time=2026-11-24T03:00:00Z.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Directory of the run directories (default: .docs/runs/<runbook>).
    #[arg(long, value_name = "DIR")]
    pub journal: Option<PathBuf>,

    /// `json`: one event per line on stdout, for automation.
    #[arg(long, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunOutput {
    Text,
    Json,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))
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
