//! Restoring real process trees with chosen PIDs (needs root: set_tid needs
//! CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN, pid namespaces need CAP_SYS_ADMIN).
//!
//! Tests run in parallel with others that create processes, so PIDs are picked at random from
//! free ones and a test starts again with new PIDs when one is taken meanwhile (EEXIST).
// Manifests are parsed from JSON: the `serde` feature.
#![cfg(feature = "serde")]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use xclone::restore::{
    read_tree, restore, Manifest, ReadOptions, RestoreError, Restored, RootExit,
};
use xclone::Errno;
use xclone_testsupport::{
    exists, free_pids, have_unshare, kill_fds, ns_link, nspid, pidfd, pidfds, privileged,
    start_live_tree, wait_fds_ended, write_blocker, KillOnDrop, TempDir,
};

fn is_taken(e: &RestoreError) -> bool {
    e.errno() == Some(Errno::EEXIST)
}

/// Restores the manifest `make(pids)` builds, with fresh PIDs each time one was taken.
fn restore_fresh(k: usize, make: impl Fn(&[i32]) -> String) -> (Vec<i32>, Manifest, Restored) {
    for _ in 0..20 {
        let pids = free_pids(k);
        let m = Manifest::parse(&make(&pids)).unwrap();
        match restore(&m) {
            Ok(r) => return (pids, m, r),
            Err(e) if is_taken(&e) => continue,
            Err(e) => panic!("restore failed: {e}"),
        }
    }
    panic!("PIDs kept being taken");
}

/// `(NSpid, PPid, pgrp, session)` of a live process.
fn status(pid: i32) -> (Vec<i32>, i32, i32, i32) {
    let nspid = nspid(pid);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<i32> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .skip(1)
        .take(3)
        .map(|x| x.parse().unwrap())
        .collect();
    (nspid, rest[0], rest[1], rest[2])
}

/// Kills every process of a restored tree and waits until each has ended.
fn kill_all(r: &Restored) {
    let pids: Vec<i32> = r.processes.iter().map(|(_, p)| p[0]).collect();
    let fds = pidfds(&pids);
    kill_fds(&fds);
    assert_eq!(r.wait().unwrap(), RootExit::Signaled(9));
    wait_fds_ended(&fds);
}

#[test]
fn three_level_tree_with_chosen_pids() {
    if !privileged() {
        return;
    }
    // r leads a session; m leads a group that s (r's child) joins; l stays in m's group, l2 is
    // moved back into r's group by m.
    let (p, _m, r) = restore_fresh(5, |p| {
        format!(
            r#"{{"version": 1, "processes": [
            {{"id": "r", "pids": [{a}], "sid": {a}, "argv": ["sleep", "1000"]}},
            {{"id": "m", "parent": "r", "pids": [{b}], "pgid": {b}, "program": "/bin/sleep", "argv": ["sleep", "1001"]}},
            {{"id": "l", "parent": "m", "pids": [{c}], "argv": ["sleep", "1002"], "cwd": "/"}},
            {{"id": "l2", "parent": "m", "pids": [{d}], "pgid": {a}, "argv": ["sleep", "1003"]}},
            {{"id": "s", "parent": "r", "pids": [{e}], "pgid": {b}, "argv": ["sleep", "1004"], "env": ["ONLY=this"]}}
        ]}}"#,
            a = p[0],
            b = p[1],
            c = p[2],
            d = p[3],
            e = p[4]
        )
    });
    let _guard = KillOnDrop::new(&p);
    let (a, b, c, d, e) = (p[0], p[1], p[2], p[3], p[4]);
    assert_eq!(r.root_pid, a);
    assert_eq!(r.pids("l2"), Some(&[d][..]));
    let expect = [
        (a, std::process::id() as i32, a),
        (b, a, b),
        (c, b, b),
        (d, b, a),
        (e, a, b),
    ];
    for (pid, ppid, pgrp) in expect {
        let (nspid, real_ppid, real_pgrp, sid) = status(pid);
        assert_eq!(nspid, vec![pid]);
        assert_eq!(real_ppid, ppid, "parent of {pid}");
        assert_eq!(real_pgrp, pgrp, "group of {pid}");
        assert_eq!(sid, a, "session of {pid}");
    }
    // Every process runs its own program by now (restore returns after the execs).
    let cmdline = std::fs::read(format!("/proc/{c}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x001002\x00");
    assert_eq!(
        std::fs::read_link(format!("/proc/{c}/cwd")).unwrap(),
        Path::new("/")
    );
    let env = std::fs::read(format!("/proc/{e}/environ")).unwrap();
    assert_eq!(env, b"ONLY=this\x00");
    kill_all(&r);
}

#[test]
fn the_restorer_moves_the_root_into_a_group_its_child_leads() {
    if !privileged() {
        return;
    }
    // The root stays in the restorer's session but joins the group its child leads: only the
    // restorer, its parent, can make that setpgid, and only once the child leads the group.
    let (p, _m, r) = restore_fresh(3, |p| {
        format!(
            r#"{{"version": 1, "processes": [
            {{"id": "r", "pids": [{a}], "pgid": {b}, "argv": ["sleep", "1000"]}},
            {{"id": "leader", "parent": "r", "pids": [{b}], "pgid": {b}, "argv": ["sleep", "1000"]}},
            {{"id": "inherits", "parent": "leader", "pids": [{c}], "argv": ["sleep", "1000"]}}
        ]}}"#,
            a = p[0],
            b = p[1],
            c = p[2]
        )
    });
    let _guard = KillOnDrop::new(&p);
    let my_sid = status(std::process::id() as i32).3;
    for &pid in &p {
        let (_, _, pgrp, sid) = status(pid);
        assert_eq!(pgrp, p[1], "group of {pid}");
        assert_eq!(sid, my_sid, "session of {pid}");
    }
    kill_all(&r);
}

#[test]
fn nested_pid_namespaces_have_their_pids_at_every_level() {
    if !privileged() {
        return;
    }
    let (p, _m, r) = restore_fresh(5, |p| {
        format!(
            r#"{{"version": 1, "processes": [
            {{"id": "init", "pids": [{a}, 1], "new_pid_ns": true, "argv": ["sleep", "1000"]}},
            {{"id": "c1", "parent": "init", "pids": [{b}, 2], "argv": ["sleep", "1000"]}},
            {{"id": "ns2", "parent": "c1", "pids": [{c}, 3, 1], "new_pid_ns": true, "argv": ["sleep", "1000"]}},
            {{"id": "deep", "parent": "ns2", "pids": [{d}, 40, 7], "argv": ["sleep", "1000"]}},
            {{"id": "c2", "parent": "init", "pids": [{e}, 5], "argv": ["sleep", "1000"]}}
        ]}}"#,
            a = p[0],
            b = p[1],
            c = p[2],
            d = p[3],
            e = p[4]
        )
    });
    let _guard = KillOnDrop::new(&p);
    assert_eq!(status(p[0]).0, vec![p[0], 1]);
    assert_eq!(status(p[1]).0, vec![p[1], 2]);
    assert_eq!(status(p[2]).0, vec![p[2], 3, 1]);
    assert_eq!(status(p[3]).0, vec![p[3], 40, 7]);
    assert_eq!(status(p[4]).0, vec![p[4], 5]);
    // Parents are real, not re-parented: PPid as seen from here.
    assert_eq!(status(p[3]).1, p[2]);
    assert_eq!(status(p[2]).1, p[1]);
    assert_eq!(ns_link(p[0], "pid"), ns_link(p[1], "pid"));
    assert_ne!(
        ns_link(p[0], "pid"),
        ns_link(std::process::id() as i32, "pid")
    );
    assert_eq!(ns_link(p[2], "pid"), ns_link(p[3], "pid"));
    assert_ne!(ns_link(p[1], "pid"), ns_link(p[2], "pid"));
    // Killing the outer namespace's init ends everything inside.
    let fd = pidfd(p[0]).unwrap();
    rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL).unwrap();
    assert_eq!(r.wait().unwrap(), RootExit::Signaled(9));
    assert!(p.iter().all(|&x| !exists(x)), "the namespace is gone");
}

/// Files for a live tree of shells: each process forks its children, then execs the blocker
/// ([`write_blocker`]).
struct LiveTreeFiles {
    dir: TempDir,
}

impl LiveTreeFiles {
    fn new(tag: &str) -> Self {
        let dir = TempDir::new(&format!("xclone-restore-{tag}"));
        write_blocker(&dir);
        dir.file(
            "spawn.sh",
            "D=${0%/*}\ncase \"$1\" in\n  root) sh \"$D/spawn.sh\" mid & sh \"$D/blocker.sh\" & ;;\n  \
             mid) sh \"$D/blocker.sh\" & ;;\nesac\nexec sh \"$D/blocker.sh\"\n",
        );
        LiveTreeFiles { dir }
    }

    fn script(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

#[test]
fn round_trip_tree_kill_restore_gives_identical_pids() {
    if !privileged() {
        return;
    }
    if !have_unshare() {
        return;
    }
    let files = LiveTreeFiles::new("roundtrip");
    for attempt in 0..10 {
        // unshare(1) creates a pid namespace whose init runs spawn.sh: 4 processes in all.
        let mut live = start_live_tree(&files.dir.path().join("spawn.sh"), 4);
        let root = live.root;
        let _live_guard = KillOnDrop::new(&[root]);
        let read = read_tree(root, &ReadOptions::default()).unwrap();
        let m = read.manifest;
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        assert_eq!(m.processes.len(), 4);
        assert!(m.processes[0].new_pid_ns);
        assert_eq!(m.processes[0].pids, vec![root, 1]);
        let before: Vec<(Vec<i32>, i32)> = m
            .processes
            .iter()
            .map(|p| {
                let (nspid, ppid, _, _) = status(p.pids[0]);
                (nspid, ppid)
            })
            .collect();
        assert!(m
            .processes
            .iter()
            .all(|p| p.argv.len() == 2 && p.argv[1].ends_with("blocker.sh")));

        // Kill the tree: the namespace's init takes everything with it; unshare reaps it.
        let fd = pidfd(root).unwrap();
        rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL).unwrap();
        live.unshare.wait().unwrap();
        assert!(m.processes.iter().all(|p| !exists(p.pids[0])));

        let restored = match restore(&m) {
            Ok(r) => r,
            Err(e) if is_taken(&e) && attempt < 9 => continue,
            Err(e) => panic!("restore failed: {e}"),
        };
        let _guard = KillOnDrop::new(&[root]);
        for (p, (nspid, ppid)) in m.processes.iter().zip(&before) {
            let (now_nspid, now_ppid, _, _) = status(p.pids[0]);
            assert_eq!(&now_nspid, nspid, "PIDs of {}", p.id);
            if p.parent.is_some() {
                assert_eq!(now_ppid, *ppid, "parent of {}", p.id);
            }
            let cmd = std::fs::read(format!("/proc/{}/cmdline", p.pids[0])).unwrap();
            assert!(cmd.ends_with(b"blocker.sh\0"));
        }
        let fd = pidfd(root).unwrap();
        rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL).unwrap();
        assert_eq!(restored.wait().unwrap(), RootExit::Signaled(9));
        return;
    }
}

#[test]
fn a_taken_pid_is_refused_before_anything_is_created() {
    if !privileged() {
        return;
    }
    let me = std::process::id() as i32;
    let p = free_pids(2);
    let m = Manifest::parse(&format!(
        r#"{{"version": 1, "processes": [
        {{"id": "a", "pids": [{}], "argv": ["sleep", "1000"]}},
        {{"id": "b", "parent": "a", "pids": [{me}], "argv": ["sleep", "1000"]}}]}}"#,
        p[0]
    ))
    .unwrap();
    let e = restore(&m).unwrap_err();
    assert!(matches!(e, RestoreError::Refused(_)), "{e}");
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    let f = e.failure().unwrap();
    assert_eq!(f.process.as_ref().unwrap().id, "b");
    assert_eq!(f.level, Some(0));
    let shown = e.to_string();
    assert!(
        shown.starts_with("process \"b\" ($.processes[1]) at level 0: PID"),
        "{shown}"
    );
    assert!(!exists(p[0]));
}

/// A PID that `/proc` does not show but the kernel still holds: the id of a process group
/// whose leader has exited while a member lives on. Only clone3 finds out (EEXIST), after part
/// of the tree exists; that part must disappear completely.
#[test]
fn a_pid_taken_midway_leaves_no_process_behind() {
    if !privileged() {
        return;
    }
    let files = LiveTreeFiles::new("taken");
    // The leader (a new process group) starts a member in its group and exits.
    let mut leader = Command::new("sh")
        .arg("-c")
        .arg(format!("sh {} & echo $!", files.script("blocker.sh")))
        .process_group(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let group = leader.id() as i32;
    let mut out = String::new();
    BufReader::new(leader.stdout.take().unwrap())
        .read_line(&mut out)
        .unwrap();
    let member: i32 = out.trim().parse().unwrap();
    leader.wait().unwrap();
    assert!(!exists(group), "the leader is gone from /proc");
    let member_fd = pidfd(member).unwrap();
    let _member_guard = KillOnDrop::new(&[member]);

    let p = free_pids(4);
    let m = Manifest::parse(&format!(
        r#"{{"version": 1, "processes": [
        {{"id": "root", "pids": [{}], "argv": ["sleep", "1000"]}},
        {{"id": "first", "parent": "root", "pids": [{}], "argv": ["sleep", "1000"]}},
        {{"id": "grandchild", "parent": "first", "pids": [{}], "argv": ["sleep", "1000"]}},
        {{"id": "clash", "parent": "root", "pids": [{group}], "argv": ["sleep", "1000"]}},
        {{"id": "never", "parent": "root", "pids": [{}], "argv": ["sleep", "1000"]}}]}}"#,
        p[0], p[1], p[2], p[3]
    ))
    .unwrap();
    let e = restore(&m).unwrap_err();
    rustix::process::pidfd_send_signal(&member_fd, rustix::process::Signal::KILL).unwrap();
    assert!(matches!(e, RestoreError::Failed(_)), "{e}");
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    let f = e.failure().unwrap();
    assert_eq!(f.process.as_ref().unwrap().id, "clash");
    assert_eq!(f.level, Some(0));
    assert!(e.to_string().contains("partial tree was removed"), "{e}");
    // Every process that existed has been reaped by its parent before restore returned.
    for &pid in &p {
        assert!(!exists(pid), "PID {pid} is left behind");
    }
}

#[test]
fn bad_manifests_are_refused_with_their_location() {
    // Needs no privilege: nothing is created.
    let e = Manifest::parse("{\"version\": 1,\n \"processes\": [}").unwrap_err();
    assert_eq!(e[0].line_column.map(|(l, _)| l), Some(2));
    let m = Manifest::parse(
        r#"{"version": 1, "processes": [
        {"id": "a", "pids": [30001, 2], "new_pid_ns": true, "argv": ["true"]}]}"#,
    )
    .unwrap();
    let e = restore(&m).unwrap_err();
    let RestoreError::Manifest(problems) = &e else {
        panic!("{e}")
    };
    assert_eq!(problems[0].path, "$.processes[0].pids[1]");
    assert!(e.to_string().contains("$.processes[0].pids[1]"));
}

#[test]
fn a_missing_program_is_refused_before_anything_is_created() {
    if !privileged() {
        return;
    }
    let p = free_pids(2);
    let m = Manifest::parse(&format!(
        r#"{{"version": 1, "processes": [
        {{"id": "a", "pids": [{}], "argv": ["sleep", "1000"]}},
        {{"id": "b", "parent": "a", "pids": [{}], "argv": ["no-such-program-xclone"]}}]}}"#,
        p[0], p[1]
    ))
    .unwrap();
    let e = restore(&m).unwrap_err();
    assert!(matches!(e, RestoreError::Refused(_)), "{e}");
    assert_eq!(e.errno(), Some(Errno::ENOENT));
    assert!(e.to_string().contains("not in PATH"), "{e}");
    assert!(p.iter().all(|&x| !exists(x)));
}

#[test]
fn an_exec_failure_kills_the_started_programs() {
    if !privileged() {
        return;
    }
    // A file that passes the checks (regular, executable) but that the kernel cannot execute.
    let files = LiveTreeFiles::new("noexec");
    let bogus = files.dir.path().join("bogus");
    std::fs::write(&bogus, [0u8; 64]).unwrap();
    std::fs::set_permissions(&bogus, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for _ in 0..20 {
        let p = free_pids(3);
        let m = Manifest::parse(&format!(
            r#"{{"version": 1, "processes": [
            {{"id": "a", "pids": [{}], "argv": ["sleep", "1000"]}},
            {{"id": "b", "parent": "a", "pids": [{}], "argv": ["sleep", "1000"]}},
            {{"id": "bad", "parent": "a", "pids": [{}], "program": "{}", "argv": ["bogus"]}}]}}"#,
            p[0],
            p[1],
            p[2],
            bogus.display()
        ))
        .unwrap();
        let e = match restore(&m) {
            Err(e) if is_taken(&e) => continue,
            Err(e) => e,
            Ok(_) => panic!("a file of zeros was executed"),
        };
        assert!(matches!(e, RestoreError::Failed(_)), "{e}");
        assert_eq!(e.errno(), Some(Errno::ENOEXEC));
        assert_eq!(e.failure().unwrap().process.as_ref().unwrap().id, "bad");
        // The root was reaped by the restorer; the others have ended (init reaps them).
        assert!(!exists(p[0]));
        for &pid in &p[1..] {
            if let Some(fd) = pidfd(pid) {
                let mut f = [rustix::event::PollFd::new(
                    &fd,
                    rustix::event::PollFlags::IN,
                )];
                assert_eq!(
                    rustix::event::poll(
                        &mut f,
                        Some(&rustix::event::Timespec {
                            tv_sec: 0,
                            tv_nsec: 0
                        })
                    )
                    .unwrap(),
                    1
                );
            }
        }
        return;
    }
    panic!("PIDs kept being taken");
}

/// Every process whose command line is exactly `argv`.
fn with_cmdline(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

#[test]
fn a_failed_exec_also_removes_what_the_started_programs_started() {
    if !privileged() {
        return;
    }
    // Issue #18's case: a root and four children run a shell that starts `sleep`, a fifth
    // child's program is not one. Killing the shells alone left the `sleep`s to init.
    let dir = TempDir::new("xclone-restore-noelf");
    let bad = dir.path().join("not-a-program");
    std::fs::write(&bad, "plain text without #!\n").unwrap();
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Arguments of this test's own: what carries them was started by this test.
    let nap = format!("1000.{}", std::process::id());
    let script = format!("sleep {nap}; :");
    let mut rounds = 0;
    for _ in 0..20 {
        let p = free_pids(6);
        let sh = |id: &str, parent: &str, pid: i32| {
            format!(
                r#"{{"id": "{id}", {parent} "pids": [{pid}], "program": "/bin/sh",
                    "argv": ["sh", "-c", "{script}"]}},"#
            )
        };
        let doc = format!(
            r#"{{"version": 1, "processes": [{}{}{}{}{}
            {{"id": "bad", "parent": "r", "pids": [{}], "program": "{}", "argv": ["x"]}}]}}"#,
            sh("r", "", p[0]),
            sh("c1", r#""parent": "r","#, p[1]),
            sh("c2", r#""parent": "r","#, p[2]),
            sh("c3", r#""parent": "r","#, p[3]),
            sh("c4", r#""parent": "r","#, p[4]),
            p[5],
            bad.display()
        );
        let m = Manifest::parse(&doc).unwrap();
        match restore(&m) {
            Err(e) if is_taken(&e) => continue,
            Err(RestoreError::Failed(f)) => {
                assert_eq!(f.errno, Some(Errno::ENOEXEC), "{f}");
                assert_eq!(f.process.as_ref().unwrap().id, "bad");
            }
            other => panic!("expected an exec failure, got {other:?}"),
        }
        let left: Vec<i32> = with_cmdline(&["sleep", &nap])
            .into_iter()
            .chain(with_cmdline(&["sh", "-c", &script]))
            .collect();
        kill_fds(&pidfds(&left)); // this test's own, should any be left
        assert!(left.is_empty(), "left behind: {left:?}");
        rounds += 1;
        if rounds == 3 {
            return;
        }
    }
    panic!("PIDs kept being taken");
}

#[test]
fn clone3_refused_by_seccomp_is_not_blamed_on_capabilities() {
    if !privileged() {
        return;
    }
    // A thread of its own: the filter stays with the thread (and what it creates).
    let e = std::thread::spawn(|| {
        xclone::raw::seccomp::deny_clone3(libc::EPERM).unwrap();
        let p = free_pids(1);
        let m = Manifest::parse(&format!(
            r#"{{"version": 1, "processes": [{{"id": "a", "pids": [{}], "argv": ["true"]}}]}}"#,
            p[0]
        ))
        .unwrap();
        restore(&m).unwrap_err().to_string()
    })
    .join()
    .unwrap();
    assert!(e.contains("EPERM") && e.contains("seccomp"), "{e}");
    assert!(!e.contains("needs CAP_CHECKPOINT_RESTORE"), "{e}");
}

#[test]
fn every_manifest_problem_is_reported() {
    let m = Manifest::parse(
        r#"{"version": 1, "processes": [
        {"id": "a", "pids": [1], "argv": ["true"]},
        {"id": "b", "parent": "a", "pids": [5, 6], "argv": ["true"]},
        {"id": "c", "parent": "a", "pids": [7, 8], "argv": ["true"]}]}"#,
    )
    .unwrap();
    let e = restore(&m).unwrap_err();
    let RestoreError::Manifest(problems) = &e else {
        panic!("{e}");
    };
    assert!(problems.len() >= 3, "{problems:?}");
    let text = e.to_string();
    for p in problems {
        assert!(text.contains(&p.to_string()), "{p} missing from {text}");
    }
}

#[test]
fn manifests_are_read_up_to_a_limit() {
    let big = std::io::repeat(b' ').take(xclone::restore::MAX_MANIFEST_BYTES as u64 + 1);
    let e = Manifest::read_text(big).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("limit"), "{e}");
    let ok = Manifest::read_text(&b"{\"version\": 1}"[..]).unwrap();
    assert_eq!(ok, "{\"version\": 1}");
}
