//! `xclone restore`: create a process tree with the exact PIDs a manifest gives.
//!
//! Waits for the tree's root process and exits with its status (128+N when signal N killed
//! it); the other processes are the root's descendants and are not waited for. `--detach`
//! prints the tree's PIDs as JSON and exits 0 at once, leaving the tree running. A refused or
//! failed restore exits 125 with one line on stderr naming the process, level and errno.

use crate::exit;
use std::io::Read;
use std::path::PathBuf;
use xclone::restore::{restore, Manifest, Restored};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  xclone tree --json 1234 > t.json; kill -9 1234; xclone restore t.json\n  \
                  xclone restore --detach tree.json\n\nThe manifest format: docs/restore.md"
)]
pub struct RestoreArgs {
    /// The manifest (JSON, see docs/restore.md); '-' reads standard input.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Do not wait for the root process: print the PIDs as JSON and exit 0 once every process
    /// runs its program.
    #[arg(long)]
    pub detach: bool,
    /// Print the PIDs as one JSON line on stdout once every process runs (before waiting).
    #[arg(long)]
    pub json: bool,
}

/// `{"root_pid": …, "processes": [{"id": …, "pids": […]}, …]}`
fn status_json(r: &Restored) -> String {
    let processes: Vec<serde_json::Value> = r
        .processes
        .iter()
        .map(|(id, pids)| serde_json::json!({"id": id, "pids": pids}))
        .collect();
    serde_json::json!({"root_pid": r.root_pid, "processes": processes}).to_string()
}

pub fn run(args: RestoreArgs) -> i32 {
    let text = if args.manifest.as_os_str() == "-" {
        let mut s = String::new();
        match std::io::stdin().read_to_string(&mut s) {
            Ok(_) => s,
            Err(e) => return exit::fail(format!("restore: reading standard input: {e}")),
        }
    } else {
        match std::fs::read_to_string(&args.manifest) {
            Ok(s) => s,
            Err(e) => {
                return exit::fail(format!("restore: {}: {e}", args.manifest.display()));
            }
        }
    };
    let manifest = match Manifest::parse(&text) {
        Ok(m) => m,
        Err(errs) => {
            return exit::fail(format!(
                "restore: {}: {}",
                args.manifest.display(),
                xclone::restore::RestoreError::Manifest(errs)
            ))
        }
    };
    let tree = match restore(&manifest) {
        Ok(t) => t,
        Err(e) => return exit::fail(format!("restore: {e}")),
    };
    if args.detach || args.json {
        println!("{}", status_json(&tree));
    }
    if args.detach {
        return 0;
    }
    match tree.wait() {
        Ok(status) => status.code(),
        Err(e) => exit::fail(format!("restore: waiting for the root process: {e}")),
    }
}
