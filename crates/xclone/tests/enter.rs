//! `xclone::enter`: real targets in their own namespaces and cgroup, entered as root.

use std::io::Read;
use xclone::enter::{Cgroup, Dir, Enter, JoinMethod, Namespaces, Target};
use xclone::{probe::Features, CloneFlags, Command, PidFd, Stdio};
use xclone_testsupport::{
    assert_inner_passed, cgroup2_line, cgroup2_of, clocks, inner_done, is_inner, is_root,
    need_probe, need_root, ns_link, root_and_cgroup, run_inner, spawn_at_pid, start_target,
    status_field, uptime,
};

/// Names the tests' cgroups, which some tests look for in /proc/PID/cgroup.
const CG_PREFIX: &str = "xclone-test-enter";

const SCRIPT: &str = "for n in user mnt uts ipc net pid; do readlink /proc/self/ns/$n; done; \
    hostname; grep '^0::' /proc/self/cgroup; id -u; id -g; exit 7";

fn check_entered(method: JoinMethod) {
    let Some(cg) = root_and_cgroup(CG_PREFIX, &format!("{method:?}")) else {
        return;
    };
    let mut target = start_target(&cg);
    let tpid = target.id().to_string();
    let out = Enter::new(target.pidfd().try_clone().unwrap())
        .join_method(method)
        .cgroup(Cgroup::Target)
        .spawn(
            Command::new("sh")
                .args(["-c", SCRIPT])
                .stdout(Stdio::piped()),
        )
        .expect("enter")
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    for (i, n) in ["user", "mnt", "uts", "ipc", "net", "pid"]
        .iter()
        .enumerate()
    {
        assert_eq!(lines[i], ns_link(&tpid, n), "namespace {n}");
        assert_ne!(lines[i], ns_link("self", n), "namespace {n} is ours");
    }
    assert_eq!(lines[6], "target");
    let tcg = cgroup2_of(&tpid).unwrap_or_default();
    assert!(tcg.contains("xclone-test-enter-"), "{tcg}");
    assert_eq!(lines[7], tcg);
    assert_eq!(lines[8], "0", "uid in the target's user namespace");
    assert_eq!(lines[9], "0", "gid in the target's user namespace");
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn enters_every_namespace_and_the_cgroup_with_setns_pidfd() {
    if !Features::probe().setns_pidfd {
        eprintln!("skipped: no setns(pidfd) on this kernel");
        return;
    }
    check_entered(JoinMethod::Pidfd);
}

#[test]
fn enters_every_namespace_and_the_cgroup_with_namespace_files() {
    check_entered(JoinMethod::Files);
}

#[test]
fn payload_is_a_child_born_in_the_target_pid_namespace() {
    let Some(cg) = root_and_cgroup(CG_PREFIX, "pidns") else {
        return;
    };
    let mut target = start_target(&cg);
    let mut child = Enter::pid(target.id())
        .spawn(
            Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        )
        .expect("enter");
    // Our child: waitable through its pidfd; two pid-namespace levels, the inner PID > 1
    // (the target's cat is 1 there).
    let levels = child.pidfd().ns_pids().unwrap();
    assert_eq!(levels.len(), 2, "{levels:?}");
    assert_eq!(levels[0], child.id());
    assert!(levels[1] > 1);
    let ppid = status_field(child.id(), "PPid:");
    assert_eq!(ppid, std::process::id().to_string());
    drop(child.stdin.take());
    let mut s = String::new();
    child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    assert!(child.wait().unwrap().success());
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn preserve_credentials_and_target_root_and_env() {
    let Some(cg) = root_and_cgroup(CG_PREFIX, "creds") else {
        return;
    };
    let mut target = start_target(&cg);
    let out = Enter::new(target.pidfd().try_clone().unwrap())
        .preserve_credentials(true)
        .root(Dir::Target)
        .wd(Dir::Target)
        .env_of_target(true)
        .spawn(
            Command::new("sh")
                .args(["-c", "id -u; pwd; echo ${XCLONE_ENTER_MARK-unset}"])
                .env("XCLONE_ENTER_MARK", "set")
                .stdout(Stdio::piped()),
        )
        .expect("enter")
        .wait_with_output()
        .unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    // Kernel uid 0 is not mapped in the target's user namespace: the overflow uid.
    let expected_cwd = std::fs::read_link(format!("/proc/{}/cwd", target.id())).unwrap();
    assert_eq!(
        text,
        format!("65534\n{}\nset\n", expected_cwd.display()),
        "{out:?}"
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn only_the_requested_namespaces() {
    let Some(cg) = root_and_cgroup(CG_PREFIX, "some") else {
        return;
    };
    let mut target = start_target(&cg);
    let tpid = target.id().to_string();
    let out = Enter::new(target.pidfd().try_clone().unwrap())
        .namespaces(Namespaces::These(CloneFlags::NEWUTS | CloneFlags::NEWNET))
        .cgroup(Cgroup::Caller)
        .spawn(
            Command::new("sh")
                .args([
                    "-c",
                    "readlink /proc/self/ns/net /proc/self/ns/mnt; hostname",
                ])
                .stdout(Stdio::piped()),
        )
        .unwrap()
        .wait_with_output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(
        l,
        [
            ns_link(&tpid, "net"),
            ns_link("self", "mnt"),
            "target".into()
        ]
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn exec_failure_inside_is_reported() {
    let Some(cg) = root_and_cgroup(CG_PREFIX, "exec") else {
        return;
    };
    let mut target = start_target(&cg);
    let e = Enter::new(target.pidfd().try_clone().unwrap())
        .spawn(&mut Command::new("/nonexistent/xclone-enter"))
        .unwrap_err();
    let se = xclone::SpawnError::from_io(&e).expect("a SpawnError");
    assert!(se.is_not_found(), "{e}");
    target.kill().unwrap();
    target.wait().unwrap();
}

/// The target exits, is reaped, and a new process gets its PID: a pidfd of the old
/// process, and a pin made before, must not enter the new one.
#[test]
fn reused_pid_is_detected() {
    if !is_root() || !Features::probe().set_tid {
        eprintln!("skipped: reusing a PID on purpose needs root and set_tid");
        return;
    }
    let mut old = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    let pid = old.id();
    let stale = old.pidfd().try_clone().unwrap();
    let enter = Enter::new(stale.try_clone().unwrap());
    // A pin taken while the target lived.
    let pinned = Target::from_pidfd(stale.try_clone().unwrap()).unwrap();
    old.kill().unwrap();
    old.wait().unwrap();
    let Some(mut new) = spawn_at_pid(
        Command::new("cat").stdin(Stdio::piped()).kill_on_drop(true),
        pid,
    ) else {
        return;
    };
    assert_eq!(new.id(), pid, "the PID is reused");
    let e = enter
        .spawn(&mut Command::new("true"))
        .expect_err("entered a process that had exited");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("exited"), "{e}");
    assert!(pinned.check_alive().is_err());
    assert!(pinned.environ().is_err(), "read /proc of the new process");
    // The new process is untouched and still a different process than the pidfd's.
    assert!(new.try_wait().unwrap().is_none());
    let fresh = PidFd::open(pid).unwrap();
    assert!(fresh.send_signal(0).is_ok());
    assert!(stale.send_signal(0).is_err());
    new.kill().unwrap();
    new.wait().unwrap();
}

#[test]
fn refuses_clone_flags_on_the_command() {
    let e = Enter::pid(std::process::id())
        .spawn(Command::new("true").add_flags(CloneFlags::NEWNET))
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn a_process_entering_itself_creates_a_child() {
    // No namespace differs: nothing joined, the payload is still our child (unprivileged too).
    let mut e = Enter::pid(std::process::id());
    e.cgroup(Cgroup::Caller);
    let st = e
        .spawn(Command::new("sh").args(["-c", "exit 3"]))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(st.code(), Some(3));
}

/// A target in its own cgroup namespace too: the payload is created into the target's
/// cgroup before it joins that namespace (whose root does not contain our cgroup), and then
/// sees itself at the namespace's root.
#[test]
fn joins_the_cgroup_namespace_after_being_born_in_the_cgroup() {
    let Some(cg) = root_and_cgroup(CG_PREFIX, "cgns") else {
        return;
    };
    let mut target = Command::new("cat")
        .add_flags(CloneFlags::NEWCGROUP | CloneFlags::NEWNET)
        .into_cgroup(cg.fd())
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let tpid = target.id().to_string();
    let mut child = Enter::new(target.pidfd().try_clone().unwrap())
        .spawn(
            Command::new("sh")
                .args([
                    "-c",
                    "readlink /proc/self/ns/cgroup; grep '^0::' /proc/self/cgroup; read x || true",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        )
        .expect("enter");
    let mut out = child.stdout.take().unwrap();
    let mut buf = Vec::new();
    // Two lines, then the payload waits on stdin: read them while it lives.
    let mut byte = [0u8; 1];
    while buf.iter().filter(|&&b| b == b'\n').count() < 2 {
        assert_eq!(out.read(&mut byte).unwrap(), 1, "{buf:?}");
        buf.push(byte[0]);
    }
    let seen_from_outside =
        std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let text = String::from_utf8(buf).unwrap();
    assert_eq!(text, format!("{}\n0::/\n", ns_link(&tpid, "cgroup")));
    let target_cg = cgroup2_of(&tpid).unwrap_or_default();
    assert_eq!(
        cgroup2_line(&seen_from_outside).unwrap_or_default(),
        target_cg
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

const MONOTONIC_OFFSET: i128 = 1000 * 1_000_000_000;
const BOOTTIME_OFFSET: i128 = 2000 * 1_000_000_000 + 250_000_000;

/// Whether a spawn can give its child time offsets on this kernel (Linux 6.2+: a CLONE_VM
/// child enters its new time namespace at execve); else prints why the test skips. There
/// `xclone run` makes such targets itself (crates/xclone-cli/tests/enter.rs covers entering
/// them).
fn spawn_sets_time_offsets() -> bool {
    if xclone::isolate::vm_child_enters_time_ns_at_exec() != Some(false) {
        return true;
    }
    eprintln!(
        "skipped: Linux {} puts a CLONE_VM child into its new time namespace at creation \
         (until 6.2), so a spawned target cannot get time offsets",
        rustix::system::uname().release().to_string_lossy()
    );
    false
}

/// A target in a time namespace of its own (monotonic +1000 s, boottime +2000.25 s), with
/// `extra` namespaces, blocked reading a pipe the returned child holds.
fn start_time_target(extra: CloneFlags) -> xclone::Child {
    use xclone::isolate::TimeOffsets;
    // A CLONE_VM child switches time namespace at the end of its execve, after the
    // spawner was released (exec_task_namespaces() follows exec_mmap()): the target says
    // when it runs, and only then is its namespace looked at.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo; exec cat"]);
    cmd.add_flags(CloneFlags::NEWTIME | extra)
        .time_offsets(TimeOffsets {
            monotonic: Some("1000".parse().unwrap()),
            boottime: Some("2000.25".parse().unwrap()),
        })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if extra.contains(CloneFlags::NEWUSER) {
        cmd.id_maps(xclone::isolate::IdMaps::root(0, 0));
    }
    let mut child = cmd.spawn().expect("spawning the time target");
    let mut ready = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut ready).unwrap();
    assert_ne!(ns_link(child.id(), "time"), ns_link("self", "time"));
    child
}

/// The probe's clocks, read as its first action after exec inside the entered target,
/// minus the target's offsets, fall between our readings before and after: the payload
/// was born in the target's time namespace.
fn check_first_instruction_clocks(enter: &mut Enter) {
    let probe = need_probe!();
    let before = clocks();
    let out = enter
        .spawn(Command::new(probe).arg("time").stdout(Stdio::piped()))
        .expect("enter")
        .wait_with_output()
        .unwrap();
    let after = clocks();
    assert!(out.status.success(), "{out:?}");
    let f: Vec<i128> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let seen = [f[0] * 1_000_000_000 + f[1], f[2] * 1_000_000_000 + f[3]];
    for (i, (name, offset)) in [
        ("CLOCK_MONOTONIC", MONOTONIC_OFFSET),
        ("CLOCK_BOOTTIME", BOOTTIME_OFFSET),
    ]
    .into_iter()
    .enumerate()
    {
        let unshifted = seen[i] - offset;
        assert!(
            before[i] <= unshifted && unshifted <= after[i],
            "{name}: payload {} - offset {offset} = {unshifted}, not within [{}, {}]",
            seen[i],
            before[i],
            after[i]
        );
    }
}

#[test]
fn time_namespace_alone_shifts_the_payloads_first_clock_reading() {
    need_root!();
    if !spawn_sets_time_offsets() {
        return;
    }
    let mut target = start_time_target(CloneFlags::empty());
    let mut e = Enter::new(target.pidfd().try_clone().unwrap());
    e.namespaces(Namespaces::These(CloneFlags::NEWTIME))
        .cgroup(Cgroup::Caller);
    check_first_instruction_clocks(&mut e);
    target.kill().unwrap();
    target.wait().unwrap();
}

fn check_time_with_everything(method: JoinMethod) {
    need_root!();
    if !spawn_sets_time_offsets() {
        return;
    }
    let mut target = start_time_target(
        CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::NEWNS | CloneFlags::NEWUTS,
    );
    let tpid = target.id().to_string();
    let mut e = Enter::new(target.pidfd().try_clone().unwrap());
    e.join_method(method);
    check_first_instruction_clocks(&mut e);
    // From inside: the target's time namespace for itself and its children, its pid
    // namespace, and an uptime that carries the boottime offset.
    let ours_up = uptime();
    let out = e
        .spawn(
            Command::new("sh")
                .args([
                    "-c",
                    "readlink /proc/self/ns/time /proc/self/ns/time_for_children \
                     /proc/self/ns/pid; cut -d' ' -f1 /proc/uptime",
                ])
                .stdout(Stdio::piped()),
        )
        .expect("enter")
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(l.len(), 4, "{text}");
    let time = ns_link(&tpid, "time");
    assert_eq!([l[0], l[1], l[2]], [&time, &time, &ns_link(&tpid, "pid")]);
    let up: f64 = l[3].parse().unwrap();
    assert!(
        up - 2000.25 >= ours_up - 0.01,
        "payload uptime {up}, ours {ours_up}"
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn all_namespaces_include_time_with_setns_pidfd() {
    if !Features::probe().setns_pidfd {
        eprintln!("skipped: no setns(pidfd) on this kernel");
        return;
    }
    check_time_with_everything(JoinMethod::Pidfd);
}

#[test]
fn all_namespaces_include_time_with_namespace_files() {
    check_time_with_everything(JoinMethod::Files);
}

/// The fork-like intermediate reports the payload's setup failures through its pipe just
/// as the CLONE_VM one does in memory.
#[test]
fn payload_failure_in_a_time_namespace_is_reported() {
    need_root!();
    if !spawn_sets_time_offsets() {
        return;
    }
    let mut target = start_time_target(CloneFlags::empty());
    let e = Enter::new(target.pidfd().try_clone().unwrap())
        .spawn(&mut Command::new("/nonexistent/xclone-enter-time"))
        .unwrap_err();
    let se = xclone::SpawnError::from_io(&e).expect("a SpawnError");
    assert!(se.is_not_found(), "{e}");
    let e = Enter::new(target.pidfd().try_clone().unwrap())
        .spawn(Command::new("true").current_dir("/nonexistent/xclone-dir"))
        .unwrap_err();
    let se = xclone::SpawnError::from_io(&e).expect("a SpawnError");
    assert_eq!(se.step(), xclone::Step::Chdir, "{e}");
    target.kill().unwrap();
    target.wait().unwrap();
}

const NOBODY: u32 = 65534;

/// The unprivileged path: uid 65534 (this test binary started again under that uid)
/// creates a target in new user, pid, mount, uts, net and time namespaces and its own
/// cgroup, then enters it. Joining the other namespaces from outside the target's user
/// namespace is refused (EPERM), so enter joins the user namespace first, where the caller
/// owns it; the payload, in the caller's cgroup which is the target's, needs no
/// CLONE_INTO_CGROUP access.
#[test]
fn unprivileged_owner_enters_its_own_container() {
    const NAME: &str = "unprivileged_owner_enters_its_own_container";
    if is_inner(NAME) {
        assert_eq!(rustix::process::geteuid().as_raw(), NOBODY);
        let mut target = Command::new("cat");
        target
            .add_flags(
                CloneFlags::NEWUSER
                    | CloneFlags::NEWPID
                    | CloneFlags::NEWNS
                    | CloneFlags::NEWUTS
                    | CloneFlags::NEWNET
                    | CloneFlags::NEWTIME,
            )
            .id_maps(xclone::isolate::IdMaps::root(NOBODY, NOBODY))
            .hostname("nobodys-target")
            .time_offsets(xclone::isolate::TimeOffsets {
                monotonic: None,
                boottime: Some("2000".parse().unwrap()),
            })
            .stdin(Stdio::piped())
            .kill_on_drop(true);
        let mut target = target.spawn().expect("the target");
        let tpid = target.id().to_string();
        let names = ["user", "mnt", "uts", "net", "pid", "time"];
        let script = format!(
            "for n in {}; do readlink /proc/self/ns/$n; done; hostname; id -u; id -g; \
             grep '^0::' /proc/self/cgroup; cut -d' ' -f1 /proc/uptime; exit 4",
            names.join(" ")
        );
        let ours_up = uptime();
        for (method, cgroup) in [
            (JoinMethod::Auto, Cgroup::TargetIfAvailable),
            (JoinMethod::Files, Cgroup::Target),
        ] {
            let out = Enter::new(target.pidfd().try_clone().unwrap())
                .join_method(method)
                .cgroup(cgroup)
                .spawn(
                    Command::new("sh")
                        .args(["-c", &script])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped()),
                )
                .unwrap_or_else(|e| panic!("enter with {method:?}: {e}"))
                .wait_with_output()
                .unwrap();
            assert_eq!(out.status.code(), Some(4), "{method:?}: {out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            let l: Vec<&str> = text.lines().collect();
            assert_eq!(l.len(), names.len() + 5, "{text}");
            for (i, n) in names.iter().enumerate() {
                assert_eq!(l[i], ns_link(&tpid, n), "{method:?}: namespace {n}");
            }
            let tcg = cgroup2_of(&tpid).unwrap_or_default();
            assert_eq!(
                l[6..10],
                ["nobodys-target", "0", "0", tcg.as_str()],
                "{method:?}"
            );
            let up: f64 = l[10].parse().unwrap();
            assert!(up - 2000.0 >= ours_up - 0.01, "uptime {up}, ours {ours_up}");
        }
        drop(target.stdin.take());
        assert!(target.wait().unwrap().success());
        inner_done(NAME);
        return;
    }
    need_root!();
    if !spawn_sets_time_offsets() {
        return;
    }
    let out = run_inner(NAME, |c| {
        c.uid(NOBODY)
            .gid(NOBODY)
            .groups(&[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    });
    assert_inner_passed(NAME, &out);
}

/// `Enter::keep_caps` (nsenter --keep-caps): the payload joins the target's user
/// namespace keeping root's credentials, which are not mapped there (uid 65534 inside), so
/// its exec drops every capability it gained by the join — unless they were raised into
/// the ambient set. Without a user namespace joined it changes nothing.
#[test]
fn keep_caps_keeps_the_joined_user_namespaces_capabilities() {
    let Some(cg) = root_and_cgroup(CG_PREFIX, "keepcaps") else {
        return;
    };
    let mut target = start_target(&cg);
    let caps = |ns: CloneFlags, keep: bool| {
        let out = Enter::new(target.pidfd().try_clone().unwrap())
            .namespaces(Namespaces::These(ns))
            .preserve_credentials(true)
            .keep_caps(keep)
            .spawn(
                Command::new("sh")
                    .args(["-c", "id -u; grep -E '^Cap(Eff|Amb)' /proc/self/status"])
                    .stdout(Stdio::piped()),
            )
            .expect("enter")
            .wait_with_output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let all = format!("{:016x}", xclone::isolate::sandbox::CapSet::all().0);
    let none = "0000000000000000";
    assert_eq!(
        caps(CloneFlags::NEWUSER, true),
        ["65534", "CapEff:", &all, "CapAmb:", &all]
    );
    assert_eq!(
        caps(CloneFlags::NEWUSER, false),
        ["65534", "CapEff:", none, "CapAmb:", none]
    );
    // Only the UTS namespace: root keeps what it has, and nothing is made ambient.
    let uts = caps(CloneFlags::NEWUTS, true);
    assert_eq!(uts[0], "0");
    assert_eq!(uts[3..], ["CapAmb:", none]);
    target.kill().unwrap();
    target.wait().unwrap();
}
