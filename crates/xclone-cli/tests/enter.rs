//! `xclone enter` end to end (root): a target in its own user, pid, mount, uts, ipc and net
//! namespaces and a cgroup, entered with nsenter's options; exit statuses, JSON status, a
//! stale `--target-pidfd`.

use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use xclone::{CloneFlags, Command, Features, PidFd, Stdio};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(name: &str) -> Option<Self> {
        let mount = Features::probe().cgroup2_mount.clone()?;
        let dir = mount.join(format!("xclone-cli-enter-{}-{name}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(TestCgroup(dir))
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// `cat` in new namespaces and `cg`, hostname "target", uid/gid 0 mapped to 100000; blocked
/// on a pipe the returned child holds.
fn start_target(cg: &TestCgroup) -> xclone::Child {
    let mut cmd = Command::new("cat");
    cmd.add_flags(
        CloneFlags::NEWUSER
            | CloneFlags::NEWPID
            | CloneFlags::NEWNS
            | CloneFlags::NEWUTS
            | CloneFlags::NEWIPC
            | CloneFlags::NEWNET,
    )
    .into_cgroup(std::fs::File::open(&cg.0).unwrap().into())
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .kill_on_drop(true);
    // SAFETY: one raw system call on static data.
    unsafe {
        cmd.pre_exec(|| {
            rustix::system::sethostname(b"target")?;
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawning the target");
    let pid = child.id();
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 100000 65536\n").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 100000 65536\n").unwrap();
    child
}

fn setup(name: &str) -> Option<(TestCgroup, xclone::Child)> {
    if !is_root() {
        eprintln!("skipped: entering namespaces needs root");
        return None;
    }
    let Some(cg) = TestCgroup::new(name) else {
        eprintln!("skipped: no writable cgroup2 hierarchy");
        return None;
    };
    let t = start_target(&cg);
    Some((cg, t))
}

fn enter(args: &[&str]) -> std::process::Output {
    std::process::Command::new(XCLONE)
        .arg("enter")
        .args(args)
        .output()
        .unwrap()
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
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
        let ours = std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
        assert_ne!(ns, ours);
        expected += &format!("{}\n", ns.display());
    }
    expected += "target\n";
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = cg.lines().find(|l| l.starts_with("0::")).unwrap();
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
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
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
        "--env=PATH=/usr/bin:/bin",
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
    let mut new = match Command::new("cat")
        .set_tid(&[pid as i32])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            eprintln!("skipped: PID {pid} was taken by another process first");
            return;
        }
        Err(e) => panic!("set_tid: {e}"),
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
