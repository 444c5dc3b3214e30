//! The command line under hostile conditions (issue 18, "CLI"): a stdout that is a broken
//! pipe or a full device, spawns that fail with an odd exit signal, refusals and usage errors
//! that must stay one line on stderr. Each case is compared with coreutils where it defines
//! the contract (`seq` for write errors).

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use xclone_testsupport::{pipe, stderr_line, QEMU_USER};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

/// The commands that print on stdout, each with enough output to need a write.
fn printing_commands(tree_pid: u32) -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["probe"]),
        v(&["probe", "--json"]),
        v(&["explain", "-p", "--set-tid", "5"]),
        v(&["explain", "--json"]),
        vec!["tree".into(), "--json".into(), tree_pid.to_string()],
        vec!["tree".into(), tree_pid.to_string()],
        v(&["run", "--dry-run", "true"]),
    ]
}

/// `PROGRAM ARGS…` with stdout a pipe whose reader is gone, SIGPIPE at its default action
/// (std resets it in children) or, with `ignored`, ignored (`trap '' PIPE` in a shell that
/// then execs the program, as a supervisor would leave it).
fn into_closed_pipe(program: &str, args: &[String], ignored: bool) -> Output {
    let (r, w) = pipe();
    drop(r);
    let mut c = if ignored {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("trap '' PIPE; exec \"$@\"")
            .arg("sh")
            .arg(program)
            .args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    };
    c.stdout(Stdio::from(w)).stderr(Stdio::piped());
    c.output().unwrap()
}

fn into_dev_full(program: &str, args: &[String]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    Command::new(program)
        .args(args)
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

struct Sleeper(std::process::Child);
impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn broken_pipe_ends_like_coreutils() {
    let seq = ["1".to_string(), "100000".to_string()];
    // The reference: with SIGPIPE at its default, seq dies of it silently ...
    let r = into_closed_pipe("seq", &seq, false);
    assert_eq!(r.status.signal(), Some(libc::SIGPIPE), "{r:?}");
    assert!(r.stderr.is_empty());
    // ... and with SIGPIPE ignored it reports the write error in one line and fails.
    let r = into_closed_pipe("seq", &seq, true);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(stderr_line(&r).contains("Broken pipe"));

    let sleeper = Sleeper(Command::new("sleep").arg("infinity").spawn().unwrap());
    for args in printing_commands(sleeper.0.id()) {
        let out = into_closed_pipe(XCLONE, &args, false);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {out:?}"
        );
        assert!(out.stderr.is_empty(), "{args:?}: {out:?}");

        let out = into_closed_pipe(XCLONE, &args, true);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        assert_eq!(
            stderr_line(&out),
            "xclone: write error on standard output: EPIPE (Broken pipe)",
            "{args:?}"
        );
    }
}

#[test]
fn other_write_errors_are_one_line_and_125() {
    let r = into_dev_full("seq", &["1".into(), "10".into()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr_line(&r).contains("No space left on device"));

    let sleeper = Sleeper(Command::new("sleep").arg("infinity").spawn().unwrap());
    for args in printing_commands(sleeper.0.id()) {
        let out = into_dev_full(XCLONE, &args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        assert_eq!(
            stderr_line(&out),
            "xclone: write error on standard output: ENOSPC (No space left on device)",
            "{args:?}"
        );
    }
    // Help goes to stdout too.
    let out = into_dev_full(XCLONE, &["--help".into()]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
}

/// `xclone ARGS…`, killed after 60 s should it stop or hang (the failure being tested).
fn bounded(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "60", XCLONE])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_failed_spawn_reports_whatever_the_exit_signal() {
    // SIGTRAP used to kill xclone silently, SIGSTOP to stop it for good; SIGKILL and SIGUSR1
    // (default action: terminate) likewise.
    for sig in ["5", "19", "SIGKILL", "SIGUSR1", "SIGCHLD", "0"] {
        let out = bounded(&["run", "--exit-signal", sig, "/nonexistent/xclone-prog"]);
        assert_eq!(out.status.code(), Some(127), "--exit-signal {sig}: {out:?}");
        assert_eq!(
            stderr_line(&out),
            "xclone: execve /nonexistent/xclone-prog: ENOENT (No such file or directory)",
            "--exit-signal {sig}"
        );
        // A failure after clone but before exec (chdir) is reported the same way.
        let out = bounded(&["run", "--exit-signal", sig, "--wd", "/nonexistent", "true"]);
        assert_eq!(out.status.code(), Some(125), "--exit-signal {sig}: {out:?}");
        // And a program that runs ends with its own status.
        let out = bounded(&["run", "--exit-signal", sig, "--", "sh", "-c", "exit 7"]);
        assert_eq!(out.status.code(), Some(7), "--exit-signal {sig}: {out:?}");
    }
}

#[test]
fn dry_run_refusal_has_its_error_line_on_stderr() {
    let out = Command::new(XCLONE)
        .args(["run", "--dry-run", "-p", "--set-tid", "5", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("refused: clone3 would fail with EINVAL"),
        "{stdout}"
    );
    let line = stderr_line(&out);
    assert!(
        line.starts_with("xclone: refused: clone3 would fail with EINVAL: set_tid[0] = 5"),
        "{line}"
    );
    // An acceptable request: exit 0 and nothing on stderr.
    let out = Command::new(XCLONE)
        .args(["run", "--dry-run", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn usage_errors_are_one_line_with_a_pointer_to_help() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["run"],
            "xclone: the following required arguments were not provided: <PROGRAM [ARGS]...>... \
             (see 'xclone run --help')",
        ),
        (
            &["nosuch"],
            "xclone: unrecognized subcommand 'nosuch' (see 'xclone --help')",
        ),
        (
            &["explain", "--bogus"],
            "xclone: unexpected argument '--bogus' found (see 'xclone explain --help')",
        ),
        (
            &["explain", "--exit-signal", "x"],
            "xclone: invalid value 'x' for '--exit-signal <SIG>': unknown signal \"x\" (use a \
             name such as SIGTERM or a number) (see 'xclone explain --help')",
        ),
        (
            &["tree", "notapid"],
            "xclone: invalid value 'notapid' for '<PID>': invalid digit found in string (see \
             'xclone tree --help')",
        ),
    ];
    for (args, want) in cases {
        let out = Command::new(XCLONE).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(stderr_line(&out), want, "{args:?}");
    }
}

#[test]
fn echoed_strings_are_cut() {
    let long_dir = format!("/{}", "d".repeat(400));
    let prog = format!("{long_dir}/prog");
    let value = "x".repeat(2000);
    let cases: [Vec<&str>; 4] = [
        vec!["run", &prog],
        vec!["run", "--wd", &long_dir, "true"],
        vec!["explain", "--exit-signal", &value],
        vec!["run", "--fd-map", &value, "true"],
    ];
    for args in cases {
        let out = Command::new(XCLONE).args(&args).output().unwrap();
        assert_ne!(out.status.code(), Some(0));
        let line = stderr_line(&out);
        assert!(line.chars().count() <= 240, "{} chars: {line}", line.len());
        assert!(line.contains('…'), "{line}");
    }
    // The end of a path (the file's name) and the cause stay.
    let out = Command::new(XCLONE).args(["run", &prog]).output().unwrap();
    let line = stderr_line(&out);
    assert!(
        line.ends_with("/prog: ENAMETOOLONG (File name too long)"),
        "{line}"
    );
}

/// `xclone ARGS…` with RLIMIT_NOFILE lowered to `n` (stdin, stdout and stderr take 3).
fn with_nofile(n: u32, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {n} && exec \"$@\""))
        .arg("sh")
        .arg(XCLONE)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_error_opening_a_file_is_that_error() {
    // The probe cannot open /proc/self/mountinfo: the cgroup2 state is unknown (EMFILE),
    // not "not mounted".
    let out = with_nofile(3, &["probe", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cg = &v["features"]["cgroup2"];
    assert_eq!(cg["state"], "unknown", "{cg}");
    assert_eq!(cg["errno"], "EMFILE", "{cg}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("could not read /proc/self/mountinfo: EMFILE"),
        "{notes}"
    );
    // The same probe with descriptors to spare says what the machine has.
    let out = Command::new(XCLONE)
        .args(["probe", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mount = v["cgroup2_mount"].as_str().map(str::to_string);
    assert_ne!(v["features"]["cgroup2"]["state"], "unknown");

    let Some(mount) = mount else {
        eprintln!("skipped the --into-cgroup half: no cgroup2 hierarchy mounted");
        return;
    };
    // Opening the cgroup itself fails: that errno, and no advice to mount cgroup2.
    let out = with_nofile(3, &["run", "--into-cgroup", &mount, "true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let line = stderr_line(&out);
    assert!(line.contains("EMFILE"), "{line}");
    assert!(!line.contains("mount -t cgroup2"), "{line}");
    // A directory that is not cgroup2, opened, but mountinfo is not: the hint says so.
    let out = with_nofile(4, &["run", "--into-cgroup", "/", "true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let line = stderr_line(&out);
    assert!(line.contains("not a cgroup2 directory"), "{line}");
    assert!(!line.contains("mount -t cgroup2"), "{line}");
}

/// `xclone ARGS…` under a seccomp filter that answers clone3 with `errno`.
fn without_clone3(errno: i32, args: &[&str]) -> Output {
    let mut c = Command::new(XCLONE);
    c.args(args);
    // SAFETY: the hook makes two system calls on data built before the fork.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, move || {
            xclone::raw::seccomp::deny_clone3(errno).map_err(std::io::Error::from)
        });
    }
    c.output().unwrap()
}

#[test]
fn enter_falls_back_to_clone_like_run() {
    use xclone_testsupport::{cgroup2_of, cgroup_and_target};
    let Some((_cg, mut target)) = cgroup_and_target("xclone-cli-rel", "enter") else {
        return;
    };
    let pid = target.id().to_string();
    // A second target in a time namespace of its own: joining it takes the fork-like
    // intermediate.
    let mut timens = xclone::Command::new("cat");
    timens
        .add_flags(xclone::CloneFlags::NEWTIME | xclone::CloneFlags::NEWUTS)
        .stdin(xclone::Stdio::piped())
        .stdout(xclone::Stdio::null())
        .kill_on_drop(true);
    let mut timens = timens.spawn().unwrap();
    let tpid = timens.id().to_string();
    for errno in [libc::ENOSYS, libc::EPERM] {
        // The reference: `run` falls back already.
        let out = without_clone3(errno, &["run", "--", "sh", "-c", "exit 3"]);
        assert_eq!(out.status.code(), Some(3), "run, errno {errno}: {out:?}");

        let script = "hostname; grep '^0::' /proc/self/cgroup; exit 4";
        let out = without_clone3(
            errno,
            &["enter", "-t", &pid, "-a", "--", "sh", "-c", script],
        );
        assert_eq!(out.status.code(), Some(4), "enter, errno {errno}: {out:?}");
        // In the target's namespaces, but in our cgroup (CLONE_INTO_CGROUP needs clone3),
        // as nsenter leaves it.
        let text = String::from_utf8(out.stdout).unwrap();
        let ours = cgroup2_of(std::process::id()).unwrap();
        assert_eq!(text, format!("target\n{ours}\n"), "errno {errno}");

        // Asking for the target's cgroup: refused with the reason.
        let out = without_clone3(
            errno,
            &["enter", "-t", &pid, "-a", "--cgroup-of-target", "true"],
        );
        assert_eq!(out.status.code(), Some(125), "errno {errno}: {out:?}");
        let line = stderr_line(&out);
        assert!(line.contains("needs clone3"), "{line}");

        // The time namespace: the fork-like intermediate through clone(2).
        let out = without_clone3(
            errno,
            &["enter", "-t", &tpid, "-T", "--", "sh", "-c", "exit 6"],
        );
        assert_eq!(
            out.status.code(),
            Some(6),
            "enter -T, errno {errno}: {out:?}"
        );
    }
    target.kill().unwrap();
    target.wait().unwrap();
    timens.kill().unwrap();
    timens.wait().unwrap();
}

#[test]
fn run_under_qemu_user_mode() {
    let have = Command::new(QEMU_USER)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("skipped: {QEMU_USER} (package qemu-user) is not installed");
        return;
    }
    let qemu = |args: &[&str]| {
        Command::new(QEMU_USER)
            .arg(XCLONE)
            .args(args)
            .output()
            .unwrap()
    };
    let out = qemu(&["run", "--", "sh", "-c", "echo hi; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(out.stdout, b"hi\n");
    let out = qemu(&["run", "/nonexistent/xclone-prog"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert_eq!(
        stderr_line(&out),
        "xclone: execve /nonexistent/xclone-prog: ENOENT (No such file or directory)"
    );
    // What the emulator refuses (a namespace) is clone(2)'s error, not the validator's
    // account of clone3.
    let out = qemu(&["run", "-u", "true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let line = stderr_line(&out);
    assert!(line.starts_with("xclone: clone ("), "{line}");
}
