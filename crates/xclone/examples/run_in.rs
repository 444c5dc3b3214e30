//! Run a program inside a running process's container: its namespaces (those that differ
//! from ours), its cgroup where allowed, its root and working directory. The target is pinned
//! by a pidfd, so a PID reused meanwhile is never entered.
//!
//! ```sh
//! cargo run -p xclone --example run_in -- PID [PROGRAM ARGS...]   # default: sh
//! ```
use xclone::enter::{Dir, Enter, Namespaces};
use xclone::{Command, PidFd};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(pid) = args.first().and_then(|s| s.parse::<u32>().ok()) else {
        eprintln!("usage: run_in PID [PROGRAM ARGS...]");
        std::process::exit(2);
    };
    let argv = if args.len() > 1 {
        &args[1..]
    } else {
        &["sh".to_string()][..]
    };

    let target = PidFd::open(pid)?; // pinned from here on
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let status = Enter::new(target)
        .namespaces(Namespaces::AllDiffering) // nsenter --all
        .root(Dir::Target)
        .wd(Dir::Target)
        .spawn(&mut cmd)?
        .wait()?;
    std::process::exit(status.code().unwrap_or(128 + status.signal().unwrap_or(0)));
}
