//! The harness of the std compatibility suites (`std_compat*.rs`): every test body runs twice,
//! once where `Command`, `Stdio`, `Child`, `Output` and `ExitStatus` are std's (with std's
//! `CommandExt`/`ExitStatusExt` in scope) and once where they are xclone's (whose methods of
//! the same names are inherent), and what the two runs saw must be equal. Each body also
//! asserts what std's own tests assert, so a difference from std fails either way.

#![allow(dead_code)]

/// std's side.
pub mod std_side {
    pub use std::os::unix::process::{CommandExt, ExitStatusExt};
    #[allow(unused_imports)]
    pub use std::process::{Child, Command, ExitStatus, Output, Stdio};
    pub const SIDE: &str = "std";
}

/// xclone's side.
pub mod xclone_side {
    #[allow(unused_imports)]
    pub use xclone::{Child, Command, ExitStatus, Output, Stdio};
    pub const SIDE: &str = "xclone";
}

/// `both!(name, { body })`: a test running `body` with std's types, then with xclone's; the
/// values the two runs return must be equal.
#[macro_export]
macro_rules! both {
    ($(#[$m:meta])* $name:ident, $body:block) => {
        $(#[$m])*
        #[test]
        fn $name() {
            let std_saw = {
                #[allow(unused_imports)]
                use $crate::std_compat_support::std_side::*;
                $body
            };
            let xclone_saw = {
                #[allow(unused_imports)]
                use $crate::std_compat_support::xclone_side::*;
                $body
            };
            assert_eq!(std_saw, xclone_saw, "std and xclone saw different things");
        }
    };
}

/// `entry!(name, { body })`: a test that does nothing unless this binary was started by
/// [`run_entry`] for it, then runs `body` with the side's types (for what must happen in a
/// process of its own: `exec`, output printed by a hook, a changed environment).
#[macro_export]
macro_rules! entry {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            if std::env::var("XCLONE_STD_COMPAT_ENTRY").as_deref() != Ok(stringify!($name)) {
                return;
            }
            if std::env::var("XCLONE_STD_COMPAT_SIDE").as_deref() == Ok("std") {
                #[allow(unused_imports)]
                use $crate::std_compat_support::std_side::*;
                $body
            } else {
                #[allow(unused_imports)]
                use $crate::std_compat_support::xclone_side::*;
                $body
            }
        }
    };
}

/// Runs the `entry!` test `name` of this binary for `side` in a process of its own (std's
/// `Command`: the harness, not what is tested), with `stdin` fed to it, and returns its
/// status code and its standard output after the harness's own header (what the entry
/// printed or exec'd). Bounded by `timeout 120`.
pub fn run_entry(name: &str, side: &str, stdin: &[u8]) -> (Option<i32>, String) {
    run_entry_with(name, side, stdin, &[])
}

/// [`run_entry`] with more environment variables for the entry.
pub fn run_entry_with(
    name: &str,
    side: &str,
    stdin: &[u8],
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("timeout")
        .arg("120")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1", "-q"])
        .env("XCLONE_STD_COMPAT_ENTRY", name)
        .env("XCLONE_STD_COMPAT_SIDE", side)
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The harness prints "\nrunning 1 test\n" before the entry runs.
    let body = match text.find("running 1 test\n") {
        Some(i) => &text[i + "running 1 test\n".len()..],
        None => &text[..],
    };
    // Without the harness's own lines after the entry (its "." and the timed summary).
    let body: String = body
        .lines()
        .filter(|l| !l.is_empty() && *l != "." && !l.starts_with("test result:"))
        .map(|l| format!("{l}\n"))
        .collect();
    (out.status.code(), body)
}

/// A fresh directory under the target's temporary directory.
pub fn tempdir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "xclone-std-compat-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An executable shell script `name` in `dir` with `body`.
pub fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}
