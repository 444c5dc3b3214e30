//! `xclone restore`: create a process tree with the exact PIDs a manifest gives.
//!
//! Waits for the tree's root process, passing SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
//! SIGUSR2 on to it as `run` does, and exits with its status (128+N when signal N killed
//! it); the other processes are the root's descendants and are not waited for. `--detach`
//! prints the tree's PIDs as JSON and exits 0 at once, leaving the tree running. A refused or
//! failed restore exits 125 with one line on stderr naming the process, level and errno.

use crate::cmd::run::{forwarded_signals, ready_or_signal};
use crate::exit;
use std::os::fd::AsFd;
use std::path::PathBuf;
use xclone::raw::signal::SignalFd;
use xclone::restore::{restore, Manifest, Restored, RootExit};

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
        Manifest::read_text(std::io::stdin().lock())
            .map_err(|e| exit::fail(format!("restore: standard input: {e}")))
    } else {
        std::fs::File::open(&args.manifest)
            .and_then(Manifest::read_text)
            .map_err(|e| exit::fail(format!("restore: {}: {e}", args.manifest.display())))
    };
    let text = match text {
        Ok(t) => t,
        Err(code) => return code,
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
    // Blocked before the tree exists, so that none is lost or kills xclone meanwhile (the
    // programs start with an empty mask); forwarded to the root once it runs, as `run` does.
    let sigfd = if args.detach {
        None
    } else {
        match forwarded_signals() {
            Ok(fd) => Some(fd),
            Err(code) => return code,
        }
    };
    let tree = match restore(&manifest) {
        Ok(t) => t,
        Err(e) => return exit::fail(format!("restore: {e}")),
    };
    if args.detach || args.json {
        // The tree runs on its own: a closed or full stdout ends xclone, never the tree.
        if let Err(code) = crate::out::print(&format!("{}\n", status_json(&tree))) {
            return code;
        }
    }
    let Some(sigfd) = sigfd else {
        return 0;
    };
    match follow(&tree, &sigfd) {
        Ok(status) => status.code(),
        Err(e) => exit::fail(format!("restore: waiting for the root process: {e}")),
    }
}

/// Waits for the root while passing the forwarded signals on to it (not those a terminal
/// sent to the whole foreground group, which the tree got already).
fn follow(tree: &Restored, sigfd: &SignalFd) -> std::io::Result<RootExit> {
    loop {
        let (root_ready, signo) = ready_or_signal(tree.root_pidfd.as_fd(), sigfd)?;
        if let Some(sig) = signo.and_then(rustix::process::Signal::from_named_raw) {
            match rustix::process::pidfd_send_signal(&tree.root_pidfd, sig) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if root_ready {
            return tree.wait();
        }
    }
}
