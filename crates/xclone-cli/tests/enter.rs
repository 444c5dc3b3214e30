//! `xclone enter` end to end (root): a target in its own user, pid, mount, uts, ipc and net
//! namespaces and a cgroup, entered with nsenter's options; exit statuses, JSON status, a
//! stale `--target-pidfd`.

use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use xclone::{probe::Features, Command, PidFd, Stdio};
use xclone_testsupport::{
    cgroup2_of, cgroup_and_target, cli_output, clocks, have_setpriv, is_root, need_probe,
    need_root, ns_link, own_ns, pipe, spawn_at_pid, TestCgroup, SETPRIV_NOBODY,
};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

/// Names the tests' cgroups, which some tests look for in /proc/PID/cgroup.
const CG_PREFIX: &str = "xclone-cli-enter";

fn setup(name: &str) -> Option<(TestCgroup, xclone::Child)> {
    cgroup_and_target(CG_PREFIX, name)
}

fn enter(args: &[&str]) -> std::process::Output {
    cli_output(XCLONE, "enter", args)
}

#[test]
fn all_namespaces_hostname_cgroup_and_uid_0() {
    let Some((_cg, mut target)) = setup("all") else {
        return;
    };
    let pid = target.id().to_string();
    let script = "for n in user mnt uts ipc net pid; do readlink /proc/self/ns/$n; done; \
                  hostname; grep '^0::' /proc/self/cgroup; id -u; exit 9";
    let out = enter(&["-t", &pid, "-a", "--", "sh", "-c", script]);
    assert_eq!(out.status.code(), Some(9), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut expected = String::new();
    for n in ["user", "mnt", "uts", "ipc", "net", "pid"] {
        let ns = ns_link(&pid, n);
        assert_ne!(ns, own_ns(n));
        expected += &format!("{ns}\n");
    }
    expected += "target\n";
    let line = cgroup2_of(&pid).unwrap();
    assert!(line.contains("xclone-cli-enter-"), "{line}");
    expected += &format!("{line}\n0\n");
    assert_eq!(text, expected);
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn nsenter_options_pick_namespaces() {
    let Some((_cg, mut target)) = setup("some") else {
        return;
    };
    let pid = target.id().to_string();
    let out = enter(&[
        "-t",
        &pid,
        "-u",
        "-n",
        "--cgroup-of-caller",
        "--",
        "sh",
        "-c",
        "hostname; readlink /proc/self/ns/net /proc/self/ns/mnt; id -u",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let net = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("target\n{}\n{}\n0\n", net.display(), mnt.display())
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn json_status_reports_every_pid_level() {
    let Some((_cg, mut target)) = setup("json") else {
        return;
    };
    let (r, w) = pipe();
    let pid = target.id().to_string();
    let xc = Command::new(XCLONE)
        .args(["enter", "-t", &pid, "-a", "--json-status-fd", "3", "--"])
        .args(["sh", "-c", "exit 5"])
        .fd_map(w, 3)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let pids = first["ns-pids"].as_array().unwrap();
    assert_eq!(pids.len(), 2, "{first}");
    assert_eq!(pids[0], first["child-pid"]);
    assert!(pids[1].as_u64().unwrap() > 1, "{first}");
    let last: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(last, serde_json::json!({ "exit-code": 5 }));
    assert_eq!(xc.wait_with_output().unwrap().status.code(), Some(5));
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn not_found_inside_is_127() {
    let Some((_cg, mut target)) = setup("nf") else {
        return;
    };
    // A PATH without directories the payload (uid 100000 outside) may not search.
    let out = enter(&[
        "-t",
        &target.id().to_string(),
        "-a",
        "--env-set=PATH=/usr/bin:/bin",
        "xclone-no-such-program",
    ]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("xclone: execve xclone-no-such-program"),
        "{err}"
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn no_such_target_is_125() {
    let out = enter(&["-t", "2147483646", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ESRCH"));
}

/// A pidfd of a process that exited, whose PID a new process now has: refused with 125,
/// and the new process is not entered.
#[test]
fn stale_target_pidfd_is_refused_after_pid_reuse() {
    if !is_root() || !Features::probe().set_tid {
        eprintln!("skipped: reusing a PID on purpose needs root and set_tid");
        return;
    }
    let mut old = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    let pid = old.id();
    let stale: OwnedFd = old.pidfd().try_clone().unwrap().into();
    old.kill().unwrap();
    old.wait().unwrap();
    let Some(mut new) = spawn_at_pid(
        Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true),
        pid,
    ) else {
        return;
    };
    let out = Command::new(XCLONE)
        .args([
            "enter",
            "--target-pidfd",
            "3",
            "-a",
            "--",
            "sh",
            "-c",
            "echo entered",
        ])
        .fd_map(stale, 3)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has exited"), "{err}");
    assert!(PidFd::open(pid).unwrap().send_signal(0).is_ok());
    assert!(new.try_wait().unwrap().is_none());
    new.kill().unwrap();
    new.wait().unwrap();
}

/// A target started by `xclone run RUN_ARGS -- cat` (under `setpriv SETPRIV_NOBODY` when
/// `as_nobody`), blocked reading a pipe the returned child (xclone run) holds; with the
/// target's PID from run's JSON status and that status's reader (kept open so that run's
/// last line has a reader).
fn start_cli_target(
    as_nobody: bool,
    run_args: &[&str],
) -> (
    xclone::Child,
    String,
    std::io::Lines<BufReader<std::fs::File>>,
) {
    let (r, w) = pipe();
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(SETPRIV_NOBODY).arg(XCLONE);
        c
    } else {
        Command::new(XCLONE)
    };
    let run = cmd
        .arg("run")
        .args(run_args)
        .args(["--json-status-fd", "3", "--", "sh", "-c", "echo; exec cat"])
        .fd_map(w, 3)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The Command holds the pipe's write end (fd_map): without dropping it, a run that fails
    // before reporting would leave this read waiting forever.
    drop(cmd);
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    let Some(Ok(first)) = lines.next() else {
        let mut run = run;
        panic!(
            "xclone run {run_args:?} ended without reporting its child: {:?}",
            run.wait()
        );
    };
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    let pid = first["child-pid"].as_u64().unwrap().to_string();
    // The program runs (its execve, which may switch its time namespace, is over) once it
    // has written its line.
    let mut run = run;
    let mut ready = [0u8; 1];
    std::io::Read::read_exact(run.stdout.as_mut().unwrap(), &mut ready).unwrap();
    (run, pid, lines)
}

/// Ends a target of [`start_cli_target`]: end of file on cat's input, run exits 0.
fn stop_cli_target(mut run: xclone::Child) {
    drop(run.stdin.take());
    assert!(run.wait().unwrap().success());
}

/// `-T` alone and `-a`: the program is born in the target's time namespace (its first
/// clock readings carry the offsets of `xclone run --monotonic 1000 --boottime 2000`).
#[test]
fn time_namespace_with_t_and_with_a() {
    need_root!();
    let probe = need_probe!();
    let (run, pid, _status) = start_cli_target(
        false,
        &["-T", "-p", "--monotonic", "1000", "--boottime", "2000"],
    );
    assert_ne!(ns_link(&pid, "time"), own_ns("time"));
    let probe = probe.to_str().unwrap();
    for ns_opt in ["-T", "-a"] {
        let before = clocks();
        let out = enter(&["-t", &pid, ns_opt, "--", probe, "time"]);
        let after = clocks();
        assert_eq!(out.status.code(), Some(0), "{ns_opt}: {out:?}");
        let f: Vec<i128> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        for (i, offset) in [1000i128, 2000].into_iter().enumerate() {
            let unshifted = f[2 * i] * 1_000_000_000 + f[2 * i + 1] - offset * 1_000_000_000;
            assert!(
                before[i] <= unshifted && unshifted <= after[i],
                "{ns_opt}: clock {i}: {unshifted} not within [{}, {}]",
                before[i],
                after[i]
            );
        }
    }
    let out = enter(&[
        "-t",
        &pid,
        "-a",
        "--",
        "readlink",
        "/proc/self/ns/time",
        "/proc/self/ns/pid",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n{}\n", ns_link(&pid, "time"), ns_link(&pid, "pid")),
        "{out:?}"
    );
    stop_cli_target(run);
}

/// nsenter's unprivileged case: uid 65534 made the container (`xclone run -Ur -p -m -u -n
/// -T`) and enters it with `-a`; the user namespace is joined first (the other joins need
/// its capabilities). The payload is born in the target's cgroup, which is ours; once root
/// moved the target to a cgroup nobody may write, the default leaves the program in ours
/// and `--cgroup-of-target` refuses with the reason.
#[test]
fn unprivileged_owner_enters_with_all() {
    need_root!();
    if !have_setpriv() {
        eprintln!("skipped: setpriv (util-linux) not found");
        return;
    }
    if xclone::isolate::vm_child_enters_time_ns_at_exec() == Some(false) {
        // An unprivileged run cannot make the time namespace itself, and its CLONE_VM child
        // enters the new one at creation, offsets frozen (rule until 6.2).
        eprintln!(
            "skipped: Linux {} gives an unprivileged `run -U -T --boottime` no way to set \
             offsets (a CLONE_VM child enters its time namespace at creation until 6.2)",
            rustix::system::uname().release().to_string_lossy()
        );
        return;
    }
    let (run, pid, _status) = start_cli_target(
        true,
        &[
            "-Ur",
            "-p",
            "-m",
            "-u",
            "-n",
            "-T",
            "--boottime",
            "3000",
            "--hostname",
            "nobodys-box",
        ],
    );
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(SETPRIV_NOBODY)
            .arg(XCLONE)
            .arg("enter")
            .args(args)
            .output()
            .unwrap()
    };
    let names = ["user", "mnt", "uts", "net", "pid", "time"];
    let script = format!(
        "for n in {}; do readlink /proc/self/ns/$n; done; hostname; id -u; \
         grep '^0::' /proc/self/cgroup; cut -d' ' -f1 /proc/uptime; exit 6",
        names.join(" ")
    );
    let out = as_nobody(&["-t", &pid, "-a", "--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(l.len(), names.len() + 4, "{text}");
    for (i, n) in names.iter().enumerate() {
        assert_eq!(l[i], ns_link(&pid, n), "namespace {n}");
        assert_ne!(l[i], own_ns(n), "namespace {n} is ours");
    }
    let target_cg = |pid: &str| cgroup2_of(pid).unwrap();
    assert_eq!(l[6..9], ["nobodys-box", "0", target_cg(&pid).as_str()]);
    let up: f64 = l[9].parse().unwrap();
    assert!(up >= 3000.0, "uptime {up} without the boottime offset");

    let Some(cg) = TestCgroup::new(CG_PREFIX, "unpriv") else {
        eprintln!("(cgroup part skipped: no writable cgroup2 hierarchy)");
        stop_cli_target(run);
        return;
    };
    std::fs::write(cg.path().join("cgroup.procs"), &pid).unwrap();
    assert!(target_cg(&pid).contains("xclone-cli-enter-"));
    let ours = target_cg("self");
    let out = as_nobody(&["-t", &pid, "-a", "--", "grep", "^0::", "/proc/self/cgroup"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{ours}\n"));
    let out = as_nobody(&["-t", &pid, "-a", "--cgroup-of-target", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("xclone: enter: the target's cgroup /")
            && err.contains("no write access to its cgroup.procs"),
        "{err}"
    );
    stop_cli_target(run);
}

#[test]
fn help_tells_what_t_does() {
    let out = std::process::Command::new(XCLONE)
        .args(["enter", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("-T, --time"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("time namespace") && line.contains("CLOCK_MONOTONIC"),
        "{line}"
    );
}
