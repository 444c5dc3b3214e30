//! `xclone run` end to end: exit statuses, error lines, JSON status, descriptor mapping,
//! environment and working directory, signal forwarding, die-with-xclone, dry runs.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::Command as StdCommand;
use std::time::Duration;
use xclone::{Command, PidFd, Stdio};
use xclone_testsupport::{cli_output, default_disposition, pipe, stderr_line};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

fn run(args: &[&str]) -> std::process::Output {
    cli_output(XCLONE, "run", args)
}

#[test]
fn exit_codes() {
    assert_eq!(run(&["true"]).status.code(), Some(0));
    assert_eq!(run(&["--", "sh", "-c", "exit 42"]).status.code(), Some(42));
    let out = run(&["--env", "PATH=/usr/bin:/bin", "xclone-no-such-program"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr_line(&out),
        "xclone: execve xclone-no-such-program (searched PATH): ENOENT (No such file or directory)"
    );
    let plain = std::env::temp_dir().join(format!("xclone-noexec-{}", std::process::id()));
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&plain, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = run(&[plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(
        stderr_line(&out),
        format!(
            "xclone: execve {}: EACCES (Permission denied)",
            plain.display()
        )
    );
    let out = run(&["--wd", "/nope", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_line(&out),
        "xclone: chdir /nope: ENOENT (No such file or directory)"
    );
    let out = run(&["--flags", "CLONE_FILES", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr_line(&out).starts_with("xclone: CLONE_FILES cannot be used"));
    let out = run(&["--exit-signal", "65", "true"]);
    assert_eq!(out.status.code(), Some(125));
    // The real call failed: said so, with the validator's account of the errno.
    let line = stderr_line(&out);
    assert!(
        line.starts_with("xclone: clone3 failed with EINVAL (Invalid argument): exit_signal is 65"),
        "{line}"
    );
    assert!(line.contains("fix: "), "{line}");
    // Usage errors are xclone's own failures too.
    assert_eq!(run(&[]).status.code(), Some(125));
    assert_eq!(run(&["--fd-map", "x", "true"]).status.code(), Some(125));
}

#[test]
fn killed_by_a_signal() {
    // xclone dies of the same signal ...
    let out = run(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    // ... which a shell reports as 128+N.
    let script = format!("{XCLONE} run -- sh -c 'kill -USR1 $$'; echo $?");
    let out = StdCommand::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        (128 + libc::SIGUSR1).to_string()
    );
    // A core-dumping signal: same status, and xclone leaves no core file of its own. (The
    // shell cannot undo a SIGQUIT ignored since the harness started.)
    default_disposition(libc::SIGQUIT);
    let dir = std::env::temp_dir().join(format!("xclone-core-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = StdCommand::new(XCLONE)
        .current_dir(&dir)
        .args(["run", "sh", "-c", "kill -QUIT $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGQUIT));
}

#[test]
fn env_and_wd() {
    let out = run(&[
        "--env",
        "A=1",
        "--env",
        "B=x=y",
        "--wd",
        "/usr",
        "--",
        "sh",
        "-c",
        "echo $A $B $(pwd)",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1 x=y /usr\n");
}

#[test]
fn json_status_fd() {
    let (r, w) = pipe();
    let (in_r, in_w) = pipe();
    let xc = Command::new(XCLONE)
        .args([
            "run",
            "--json-status-fd",
            "3",
            "--",
            "sh",
            "-c",
            "read x; test -e /proc/self/fd/3 && echo leaked; exit 4",
        ])
        .fd_map(w, 3)
        .stdin(in_r)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let pid = first["child-pid"].as_u64().unwrap() as u32;
    assert_eq!(first["ns-pids"], serde_json::json!([pid]));
    // Written as soon as the child exists: it is still running now.
    let child = PidFd::open(pid).unwrap();
    assert!(!child.poll_exit(Some(Duration::ZERO)).unwrap());
    drop(in_w);
    let last: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(last, serde_json::json!({ "exit-code": 4 }));
    assert!(lines.next().is_none());
    let out = xc.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        out.stdout.is_empty(),
        "the status descriptor leaked into the program"
    );

    let (r, w) = pipe();
    let st = Command::new(XCLONE)
        .args([
            "run",
            "--json-status-fd",
            "3",
            "--",
            "sh",
            "-c",
            "kill -KILL $$",
        ])
        .fd_map(w, 3)
        .status()
        .unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    let mut s = String::new();
    std::fs::File::from(r).read_to_string(&mut s).unwrap();
    let last: serde_json::Value = serde_json::from_str(s.lines().last().unwrap()).unwrap();
    assert_eq!(
        last,
        serde_json::json!({ "signal": 9, "signal-name": "SIGKILL", "core-dumped": false })
    );
}

#[test]
fn json_status_lists_pids_of_every_namespace_level() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: CLONE_NEWPID needs CAP_SYS_ADMIN");
        return;
    }
    let (r, w) = pipe();
    let st = Command::new(XCLONE)
        .args(["run", "-p", "--json-status-fd", "3", "--", "true"])
        .fd_map(w, 3)
        .status()
        .unwrap();
    assert!(st.success());
    let mut s = String::new();
    std::fs::File::from(r).read_to_string(&mut s).unwrap();
    let first: serde_json::Value = serde_json::from_str(s.lines().next().unwrap()).unwrap();
    let pid = first["child-pid"].as_u64().unwrap();
    assert_eq!(first["ns-pids"], serde_json::json!([pid, 1]), "{s}");
}

#[test]
fn fd_map() {
    let (r, w) = pipe();
    let st = Command::new(XCLONE)
        .args([
            "run",
            "--fd-map",
            "5:7",
            "--",
            "sh",
            "-c",
            "echo hi >&7; test -e /proc/self/fd/5 && echo leaked >&7; exit 0",
        ])
        .fd_map(w, 5)
        .status()
        .unwrap();
    assert!(st.success());
    let mut s = String::new();
    std::fs::File::from(r).read_to_string(&mut s).unwrap();
    assert_eq!(s, "hi\n");
    let out = run(&["--fd-map", "77:3", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_line(&out),
        "xclone: --fd-map 77:3: EBADF (Bad file descriptor)"
    );
}

/// Starts `xclone run` with a shell that reports on descriptor 7 (and traps `sig`).
fn trapping_child(sig: &str) -> (xclone::Child, std::io::Lines<BufReader<std::fs::File>>) {
    let (r, w) = pipe();
    // SIGKILL for the background sleep: a catchable signal can hit dash's forked child in the
    // moment before it drops the inherited trap and execs, and be lost.
    let script = format!(
        "trap 'kill -KILL $p; echo got-{sig} >&7; exit 0' {sig}; sleep 1000 & p=$!; echo ready >&7; wait $p"
    );
    // Default dispositions for xclone and so for the shell: a signal ignored on entry to a
    // non-interactive shell cannot be trapped, and a harness started under `nohup` ignores
    // SIGHUP (the shell would then wait for its `sleep` and never answer).
    let xc = Command::new(XCLONE)
        .args(["run", "--fd-map", "7:7", "--", "sh", "-c", &script])
        .fd_map(w, 7)
        .reset_ignored_signals(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    (xc, lines)
}

#[test]
fn forwards_signals_to_the_program() {
    for (name, sig) in [
        ("TERM", libc::SIGTERM),
        ("INT", libc::SIGINT),
        ("USR1", libc::SIGUSR1),
        ("HUP", libc::SIGHUP),
    ] {
        let (mut xc, mut lines) = trapping_child(name);
        xc.signal(sig).unwrap();
        assert_eq!(lines.next().unwrap().unwrap(), format!("got-{name}"));
        assert_eq!(xc.wait().unwrap().code(), Some(0), "{name}");
    }
}

#[test]
fn kill_child_when_xclone_dies() {
    let (r, w) = pipe();
    let mut xc = Command::new(XCLONE)
        .args([
            "run",
            "--kill-child",
            "--json-status-fd",
            "3",
            "--",
            "sleep",
            "1000",
        ])
        .fd_map(w, 3)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let grandchild = PidFd::open(first["child-pid"].as_u64().unwrap() as u32).unwrap();
    xc.kill().unwrap();
    xc.wait().unwrap();
    // The bound only turns a hang into a failure.
    assert!(
        grandchild.poll_exit(Some(Duration::from_secs(60))).unwrap(),
        "the program outlived xclone"
    );

    // --kill-child=SIG takes a signal.
    let out = run(&["--kill-child=TERM", "true"]);
    assert!(out.status.success());
}

#[test]
fn dry_run_prints_and_runs_nothing() {
    let marker = std::env::temp_dir().join(format!("xclone-dry-{}", std::process::id()));
    let out = run(&[
        "--dry-run",
        "--uts",
        "--pid",
        "--set-tid",
        "1",
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(!marker.exists(), "dry run ran the program");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("clone3(args, 80)"), "{text}");
    // Judged as the spawner sends it, with its own stack: no note about a missing one.
    assert!(!text.contains("without a stack"), "{text}");
    assert!(
        text.contains("CLONE_VM") && text.contains("CLONE_VFORK") && text.contains("CLONE_PIDFD"),
        "{text}"
    );
    assert!(text.contains("CLONE_NEWUTS"), "{text}");
    assert!(text.contains("set_tid      [1]"), "{text}");
    assert!(text.contains("exit_signal  17 (SIGCHLD)"), "{text}");
    for field in [
        "flags",
        "pidfd",
        "child_tid",
        "parent_tid",
        "stack",
        "stack_size",
        "tls",
        "set_tid_size",
        "cgroup",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(field)),
            "{field} missing: {text}"
        );
    }
    assert!(
        text.contains("ok: the kernel would accept this request"),
        "{text}"
    );
    // A request the kernel would refuse: the verdict says why and the exit status is 125.
    let out = run(&["--dry-run", "-p", "--set-tid", "5", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("EINVAL") && text.contains("must be 1"),
        "{text}"
    );
}

#[test]
fn exit_signal_zero() {
    assert_eq!(
        run(&["--exit-signal", "0", "--", "sh", "-c", "exit 6"])
            .status
            .code(),
        Some(6)
    );
}
