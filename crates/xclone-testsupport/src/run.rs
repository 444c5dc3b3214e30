//! Running programs from tests and reading what they said.

use std::os::fd::OwnedFd;
use std::process::Output;
use xclone::Command;

/// `sh -c SCRIPT` as an `xclone::Command`.
pub fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

/// Runs the command to completion; panics with its stderr unless it succeeded.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A close-on-exec pipe (read end, write end): nothing leaks into children unless mapped.
pub fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

/// `EXE SUBCOMMAND ARGS…` run to completion (with `std::process`, so that the command
/// under test is not started by the library under test).
pub fn cli_output(exe: &str, subcommand: &str, args: &[&str]) -> Output {
    std::process::Command::new(exe)
        .arg(subcommand)
        .args(args)
        .output()
        .unwrap()
}

/// The one line the command wrote on stderr, without its newline; asserts it is one line
/// (the CLI reports each of its own failures so).
pub fn stderr_line(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(s.lines().count(), 1, "one line on stderr: {s:?}");
    s.trim_end().to_string()
}

/// setpriv(1) options that make the program it runs uid and gid 65534 without
/// supplementary groups.
pub const SETPRIV_NOBODY: [&str; 5] = ["--reuid", "65534", "--regid", "65534", "--clear-groups"];

/// Whether setpriv(1) (util-linux) can be run.
pub fn have_setpriv() -> bool {
    std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
