//! `xclone`: run, probe, explain, enter and restore with clone3(2).
//!
//! The command line as a library, so that its option parsers can be fuzzed in-process
//! (`fuzz/`, `crates/xclone-cli/tests/fuzz_options.rs`); `src/main.rs` only calls [`main`].
//!
//! Exit status: the child's status for `run`/`enter` and the root process's for `restore`
//! (128+N when it was killed by signal N),
//! 125 for xclone's own failures, 126 when the program cannot be executed, 127 when it is not
//! found. `explain` exits 0 when the kernel would accept the request and 1 when not.

mod cmd;
mod ids;
mod isolation;
mod sandbox;
// Parts of the scaffold wait for `run`/`explain`; drop these allows when they are used.
#[allow(dead_code)]
mod exit;
#[allow(dead_code)]
mod options;
mod out;
mod usage;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "xclone",
    bin_name = "xclone",
    version,
    about = "Create Linux processes with the whole of clone3(2)",
    long_about = "xclone creates processes with clone3(2): namespaces, pidfds, chosen PIDs, \
                  birth in a cgroup, and an explanation of every refusal before it happens.",
    after_help = "Examples:\n  xclone probe\n  xclone explain -p --set-tid 5\n  xclone explain --flags 'CLONE_THREAD'"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Each subcommand's options are built only when it is the one given (`defer`): building
/// every subcommand's arguments cost `run` and `enter` a measurable part of their start-up
/// (see the bench's FINDINGS); help, usage errors and the generated pages build them all.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
enum Command {
    /// Show what this kernel and these privileges offer (creates nothing).
    Probe(cmd::probe::ProbeArgs),
    // (`about` is given by the arguments' struct as well: with `defer` their flattened
    // option groups are added after the variant's attributes and would override a doc
    // comment here.)
    #[command(about = cmd::explain::ABOUT)]
    Explain(Box<cmd::explain::ExplainArgs>),
    /// Create a process tree with the exact PIDs (every pid-namespace level), parents,
    /// sessions and groups a manifest gives; waits for its root.
    Restore(cmd::restore::RestoreArgs),
    /// Print the manifest of a running process tree (--json for `restore`).
    Tree(cmd::tree::TreeArgs),
    #[command(about = cmd::run::ABOUT)]
    Run(Box<cmd::run::RunArgs>),
    /// Run a program inside a running process's namespaces and cgroup, as a child of xclone
    /// (nsenter's options; the target pinned by a pidfd).
    Enter(Box<cmd::enter::EnterArgs>),
    /// PID 1 for `run --init`: runs the program, forwards signals, reaps orphans.
    #[command(name = "__init", hide = true)]
    Init(cmd::init::InitArgs),
    /// Writes the man pages and shell completions into DIR (see docs/install.md).
    #[command(name = "__generate", hide = true)]
    Generate(cmd::generate::GenerateArgs),
}

/// Parses `args` (the program name first) as xclone's command line, without running
/// anything: what the fuzz targets call. `Err` is clap's usage error (or help/version).
pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<(), clap::Error> {
    Cli::try_parse_from(args).map(|_| ())
}

/// The one line (and exit status) a usage error is reported with, as [`main`] prints it.
pub fn usage_line(e: &clap::Error) -> String {
    usage::one_line_of(e)
}

/// Runs the command line `args` (the program name first) and returns the exit status.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            // The first argument that names a subcommand, for the pointer to its --help.
            let cmd = <Cli as clap::CommandFactory>::command();
            let words: Vec<String> = args
                .iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let sub = words
                .iter()
                .find(|a| cmd.get_subcommands().any(|s| s.get_name() == a.as_str()));
            return usage::report(&e, sub.map(String::as_str));
        }
    };
    match cli.command {
        Command::Probe(a) => cmd::probe::run(a),
        Command::Explain(a) => cmd::explain::run(*a),
        Command::Restore(a) => cmd::restore::run(a),
        Command::Tree(a) => cmd::tree::run(a),
        Command::Run(a) => cmd::run::run(*a),
        Command::Enter(a) => cmd::enter::run(*a),
        Command::Init(a) => cmd::init::run(a),
        Command::Generate(a) => cmd::generate::run(a),
    }
}
