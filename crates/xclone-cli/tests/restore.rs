//! End-to-end tests of `xclone restore` and `xclone tree` (the ones that create processes need
//! root). PIDs are chosen at random among free ones; a test starts again with new PIDs when one
//! was taken meanwhile, since other tests create processes concurrently.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use xclone_testsupport::{
    exists, free_pids, have_unshare, kill_and_wait, nspid, ppid, privileged, start_live_tree,
    write_blocker, KillOnDrop, TempDir,
};

fn xclone() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xclone"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs xclone to its exit. A detached tree inherits xclone's stdout and stderr, so they are
/// read up to the first line and from a file respectively, not to end-of-file.
fn run_to_exit(cmd: &mut Command, dir: &TempDir) -> Output {
    let err_path = dir.path().join("stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: line.into_bytes(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

/// Runs `xclone restore ARGS manifest`, with new PIDs while they are found taken.
fn restore_fresh(args: &[&str], k: usize, make: impl Fn(&[i32]) -> String) -> (Vec<i32>, Output) {
    let dir = TempDir::new("xclone-cli-restore-m");
    for _ in 0..20 {
        let pids = free_pids(k);
        let path = dir.file("m.json", &make(&pids));
        let out = run_to_exit(xclone().arg("restore").args(args).arg(&path), &dir);
        if out.status.code() == Some(125) && stderr(&out).contains("EEXIST") {
            continue;
        }
        return (pids, out);
    }
    panic!("PIDs kept being taken");
}

#[test]
fn detach_prints_the_pids_and_leaves_the_tree_running() {
    if !privileged() {
        return;
    }
    let (p, out) = restore_fresh(&["--detach"], 3, |p| {
        format!(
            r#"{{"version": 1, "processes": [
            {{"id": "init", "pids": [{}, 1], "new_pid_ns": true, "argv": ["sleep", "1000"]}},
            {{"id": "a", "parent": "init", "pids": [{}, 2], "argv": ["sleep", "1000"]}},
            {{"id": "b", "parent": "a", "pids": [{}, 3], "argv": ["sleep", "1000"]}}]}}"#,
            p[0], p[1], p[2]
        )
    });
    let _guard = KillOnDrop::new(&p);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["root_pid"], p[0]);
    assert_eq!(status["processes"][2]["id"], "b");
    assert_eq!(status["processes"][2]["pids"], serde_json::json!([p[2], 3]));
    assert_eq!(nspid(p[0]), vec![p[0], 1]);
    assert_eq!(nspid(p[1]), vec![p[1], 2]);
    assert_eq!(nspid(p[2]), vec![p[2], 3]);
    assert_eq!(ppid(p[2]), p[1]);
    kill_and_wait(&p);
}

#[test]
fn restore_exits_with_the_roots_status() {
    if !privileged() {
        return;
    }
    let (_, out) = restore_fresh(&[], 1, |p| {
        format!(
            r#"{{"version": 1, "processes": [
            {{"id": "r", "pids": [{}], "argv": ["sh", "-c", "exit 7"]}}]}}"#,
            p[0]
        )
    });
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let (_, out) = restore_fresh(&["--json"], 1, |p| {
        format!(
            r#"{{"version": 1, "processes": [
            {{"id": "r", "pids": [{}], "argv": ["sh", "-c", "kill -TERM $$"]}}]}}"#,
            p[0]
        )
    });
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["processes"][0]["id"], "r");
}

#[test]
fn a_taken_pid_fails_with_125_and_leaves_nothing() {
    if !privileged() {
        return;
    }
    let dir = TempDir::new("xclone-cli-restore-taken");
    let me = std::process::id();
    let p = free_pids(2);
    let path = dir.file(
        "m.json",
        &format!(
            r#"{{"version": 1, "processes": [
            {{"id": "root", "pids": [{}], "argv": ["sleep", "1000"]}},
            {{"id": "child", "parent": "root", "pids": [{}], "argv": ["sleep", "1000"]}},
            {{"id": "mine", "parent": "child", "pids": [{me}], "argv": ["sleep", "1000"]}}]}}"#,
            p[0], p[1]
        ),
    );
    let out = xclone().arg("restore").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("xclone: restore: process \"mine\" ($.processes[2]) at level 0: PID"),
        "{err}"
    );
    // Nothing was created (the PIDs may meanwhile be other tests' processes: a tree process
    // of this restore would show the restorer's command line).
    let path = path.display().to_string();
    assert!(p.iter().all(|&x| {
        std::fs::read(format!("/proc/{x}/cmdline"))
            .map_or(true, |c| !String::from_utf8_lossy(&c).contains(&path))
    }));
}

#[test]
fn bad_manifests_fail_with_125_and_say_where() {
    let dir = TempDir::new("xclone-cli-restore-bad");
    let syntax = dir.file("s.json", "{\"version\": 1,\n\"processes\": [\n{\"id\": }]}");
    let out = xclone().arg("restore").arg(&syntax).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("line 3, column"), "{}", stderr(&out));
    let semantic = dir.file(
        "p.json",
        r#"{"version": 1, "processes": [
        {"id": "a", "pids": [31000], "argv": ["true"]},
        {"id": "b", "parent": "a", "pids": [31001, 1], "argv": ["true"]}]}"#,
    );
    let out = xclone().arg("restore").arg(&semantic).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("$.processes[1].pids: 2 PID(s) given"), "{err}");
    // From standard input too.
    let mut child = xclone()
        .args(["restore", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"version": 2, "processes": []}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("$.version"), "{}", stderr(&out));
}

#[test]
fn tree_then_kill_then_restore_gives_the_same_pids() {
    if !privileged() {
        return;
    }
    if !have_unshare() {
        return;
    }
    // A live tree: a pid namespace's init (under unshare) with a child and a grandchild; each
    // says "ready" on fd 3 from its final program, which then waits on a FIFO.
    let dir = TempDir::new("xclone-cli-restore-roundtrip");
    let blocker = write_blocker(&dir);
    let spawn = dir.file(
        "spawn.sh",
        &format!(
            "case \"$1\" in\n  root) sh \"$0\" mid & ;;\n  mid) sh {b} & ;;\nesac\nexec sh {b}\n",
            b = blocker.display()
        ),
    );
    for attempt in 0..10 {
        let mut live = start_live_tree(&spawn, 3);
        let root = live.root;
        let _live_guard = KillOnDrop::new(&[root]);

        let human = xclone().args(["tree", &root.to_string()]).output().unwrap();
        assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
        let human = String::from_utf8(human.stdout).unwrap();
        assert!(
            human.starts_with(&format!("{root}/1 [new pid namespace]")),
            "{human}"
        );
        assert_eq!(human.lines().count(), 3, "{human}");

        let json = xclone()
            .args(["tree", "--json", &root.to_string()])
            .output()
            .unwrap();
        assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
        assert_eq!(stderr(&json), "", "no warnings expected");
        let manifest: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let procs = manifest["processes"].as_array().unwrap().clone();
        assert_eq!(procs.len(), 3);
        let before: Vec<Vec<i32>> = procs
            .iter()
            .map(|p| nspid(p["pids"][0].as_i64().unwrap() as i32))
            .collect();
        for (p, live_pids) in procs.iter().zip(&before) {
            assert_eq!(p["pids"], serde_json::json!(live_pids));
        }

        kill_and_wait(&[root]);
        live.unshare.wait().unwrap();
        let path = dir.file("t.json", &String::from_utf8(json.stdout).unwrap());
        let out = run_to_exit(xclone().args(["restore", "--detach"]).arg(&path), &dir);
        if out.status.code() == Some(125) && stderr(&out).contains("EEXIST") && attempt < 9 {
            continue;
        }
        let _guard = KillOnDrop::new(&[root]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for live_pids in &before {
            assert_eq!(&nspid(live_pids[0]), live_pids);
        }
        kill_and_wait(&[root]);
        return;
    }
}

#[test]
fn tree_of_a_missing_process_fails_with_125() {
    let out = xclone().args(["tree", "2147483647"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).starts_with("xclone: tree: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_endless_manifest_is_refused_at_the_limit() {
    let out = xclone().args(["restore", "/dev/zero"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/dev/zero") && err.contains("limit"), "{err}");
}

#[test]
fn every_problem_of_a_manifest_is_on_the_line() {
    let dir = TempDir::new("xclone-cli-restore-all");
    let m = dir.file(
        "m.json",
        r#"{"version": 1, "processes": [
        {"id": "a", "pids": [1], "argv": ["true"]},
        {"id": "b", "parent": "a", "pids": [5, 6], "argv": ["true"]},
        {"id": "c", "parent": "a", "pids": [7, 8], "argv": ["true"]}]}"#,
    );
    let out = xclone().arg("restore").arg(&m).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    for path in [
        "$.processes[0].pids[0]",
        "$.processes[1].pids",
        "$.processes[2].pids",
    ] {
        assert!(err.contains(path), "{path} missing: {err}");
    }
}

/// A process with no children of its own to describe with `tree` (the test process is no
/// such target: other tests start and end children of it meanwhile). Killed when dropped.
struct Quiet(std::process::Child);

impl Quiet {
    fn start() -> Quiet {
        Quiet(Command::new("sleep").arg("600").spawn().expect("sleep"))
    }
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tree_into_a_closed_pipe_or_a_full_disk_is_no_panic() {
    let target = Quiet::start();
    let me = target.pid();
    // A reader that is gone before xclone writes: quiet, 141 like coreutils.
    let (r, w) = rustix::pipe::pipe().unwrap();
    drop(r);
    let out = xclone()
        .args(["tree", "--json", &me])
        .stdout(Stdio::from(w))
        .output()
        .unwrap();
    // Death by SIGPIPE, as coreutils (a shell shows 141).
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(libc::SIGPIPE),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    // /dev/full: one line, 125.
    let out = xclone()
        .args(["tree", "--json", &me])
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("No space left"), "{err}");
}

#[test]
fn tree_with_no_descriptors_left_says_emfile() {
    // RLIMIT_NOFILE of 4 leaves xclone no descriptor to open /proc files with (0-2 are taken,
    // and the standard library needs one more): the error is EMFILE, not "no process".
    let target = Quiet::start();
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 4; exec {} tree {}",
            env!("CARGO_BIN_EXE_xclone"),
            target.pid()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("EMFILE"), "{err}");
    assert!(!err.contains("no process"), "{err}");
}

#[test]
fn restore_passes_sigterm_on_to_the_root() {
    if !privileged() {
        return;
    }
    let dir = TempDir::new("xclone-cli-restore-sig");
    for _ in 0..20 {
        let p = free_pids(2);
        let m = dir.file(
            "m.json",
            &format!(
                r#"{{"version": 1, "processes": [
                {{"id": "a", "pids": [{}], "argv": ["sleep", "1000"]}},
                {{"id": "b", "parent": "a", "pids": [{}], "argv": ["sleep", "1001"]}}]}}"#,
                p[0], p[1]
            ),
        );
        let mut child = xclone()
            .args(["restore", "--json"])
            .arg(&m)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() {
            let out = child.wait_with_output().unwrap();
            if stderr(&out).contains("EEXIST") {
                continue;
            }
            panic!("restore failed: {}", stderr(&out));
        }
        let _guard = KillOnDrop::new(&p);
        // The tree runs (the line comes once every program does): SIGTERM reaches the root.
        let xclone_pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(xclone_pid, rustix::process::Signal::TERM).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status:?}");
        assert!(!exists(p[0]), "the root ended");
        kill_and_wait(&p[1..]);
        return;
    }
    panic!("PIDs kept being taken");
}

#[test]
fn a_killed_restorer_leaves_no_process_and_stops_building() {
    if !privileged() {
        return;
    }
    // Issue #18: with a 1,200-deep chain, `xclone restore M & kill -9 $!` left the chain
    // growing. Every process being built must die with the restorer.
    const DEPTH: usize = 1200;
    let dir = TempDir::new("xclone-cli-restore-killed");
    let nap = format!("1000.{}", std::process::id());
    let mut attempt = 0;
    let (pids, m, mut child) = loop {
        let pids = free_pids(DEPTH);
        let processes: Vec<String> = pids
            .iter()
            .enumerate()
            .map(|(i, pid)| {
                let parent = if i == 0 {
                    String::new()
                } else {
                    format!(r#""parent": "p{}","#, i - 1)
                };
                format!(r#"{{"id": "p{i}", {parent} "pids": [{pid}], "argv": ["sleep", "{nap}"]}}"#)
            })
            .collect();
        let m = dir.file(
            "m.json",
            &format!(
                r#"{{"version": 1, "processes": [{}]}}"#,
                processes.join(",")
            ),
        );
        let err = dir.path().join("stderr");
        let mut child = xclone()
            .arg("restore")
            .arg(&m)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        // Until a tenth of the chain exists. A restore that ended before (a PID taken
        // meanwhile: EEXIST) is tried again with other PIDs; any other end is a failure, and so
        // is a chain that stops growing (bounded generously: under emulation a link takes
        // milliseconds).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        let mut ended = None;
        while !exists(pids[DEPTH / 10]) {
            if let Some(st) = child.try_wait().unwrap() {
                ended = Some(st);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the chain stopped growing before {} links",
                DEPTH / 10
            );
            std::thread::yield_now();
        }
        let Some(st) = ended else {
            break (pids, m, child);
        };
        let text = std::fs::read_to_string(&err).unwrap_or_default();
        attempt += 1;
        assert!(
            text.contains("EEXIST") && attempt < 10,
            "the restore ended ({st}) before the chain grew: {text}"
        );
    };
    child.kill().unwrap();
    child.wait().unwrap();
    // Each process of the tree that still exists must end by itself, and no new one may
    // appear. Until they exec, tree processes share the restorer's memory, so their command
    // line is the restorer's; the PIDs may meanwhile be other processes'.
    let path = m.display().to_string();
    let ours = |p: i32| {
        std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains(&path) || c == format!("sleep\0{nap}\0")
        })
    };
    let alive: Vec<i32> = pids.iter().copied().filter(|&p| ours(p)).collect();
    let fds = xclone_testsupport::pidfds(&alive);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ended = fds.iter().all(|fd| {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ts = rustix::event::Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: 0,
        };
        let mut p = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        matches!(rustix::event::poll(&mut p, Some(&ts)), Ok(1))
    });
    let left: Vec<i32> = pids.iter().copied().filter(|&p| ours(p)).collect();
    let started: Vec<i32> = left
        .iter()
        .copied()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c == format!("sleep\0{nap}\0").as_bytes())
        })
        .collect();
    assert!(
        started.is_empty(),
        "the restore finished before the kill: {started:?}"
    );
    assert!(ended && left.is_empty(), "left: {left:?}");
}

/// `/proc/PID/syscall`'s first field: the number of the system call the process is blocked
/// in, if it is in one.
fn blocked_in(pid: i32) -> Option<i64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Waits (at most `secs`) until `ok()` holds or xclone has ended; false on either of those.
fn until(child: &mut std::process::Child, secs: u64, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if ok() {
            return true;
        }
        if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
}

/// A PID that `/proc` does not show and clone3 refuses (EEXIST): the id of a process group
/// whose leader has exited while a member lives on (the member is killed when the guard drops).
fn invisible_taken_pid() -> (i32, KillOnDrop) {
    let mut leader = Command::new("sh")
        .args(["-c", "sleep 100000 & echo $!"])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let group = leader.id() as i32;
    let mut out = String::new();
    BufReader::new(leader.stdout.take().unwrap())
        .read_line(&mut out)
        .unwrap();
    let member: i32 = out.trim().parse().unwrap();
    let guard = KillOnDrop::new(&[member]);
    leader.wait().unwrap();
    assert!(!exists(group), "the leader is gone from /proc");
    (group, guard)
}

#[test]
fn a_restorer_that_falls_behind_and_then_fails_does_not_hang() {
    if !privileged() {
        return;
    }
    // Issue 18: the benchmark's restore section hung with ~2,600 tree processes blocked
    // writing into the full report pipe. Once the restorer read a failure, it wrote the abort
    // bytes and waited for the root, reading no more reports; processes that still had a
    // report to write could neither write it nor see the abort, nor their parents reap them.
    //
    // Here the root creates a long chain's head, then LEAVES leaves, then a child whose PID
    // clone3 refuses (EEXIST); the restorer is stopped from when the root exists until the
    // chain, which builds itself meanwhile (each link creates the next before its report
    // blocks), is complete down to its last link. The failure is then among the first
    // reports the restorer reads, with thousands of reports behind it (in a pipe of the
    // default 64 KiB, ~2,000 processes blocked writing theirs; the restorer now sizes the
    // pipe for every report where it may, and closes it when it gives up).
    const DEPTH: usize = 3000;
    const LEAVES: usize = 300;
    let k = 1 + DEPTH + LEAVES;
    // The restorer watches every process through a pidfd: raise this process's soft limit
    // (which xclone inherits) up to the hard one where it is lower than that needs (a booted
    // system's default soft limit is 1024).
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    // k processes and the clash, and the restorer's own descriptors (its check asks for 64).
    let want = k as u64 + 1 + 64;
    if lim.current.is_some_and(|c| c < want) {
        let raised = rustix::process::Rlimit {
            current: Some(lim.maximum.map_or(want, |m| m.min(want))),
            maximum: lim.maximum,
        };
        let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, raised);
    }
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    if nofile < want {
        eprintln!("skipped: RLIMIT_NOFILE {nofile} is below the {want} needed");
        return;
    }
    // An attempt is in time only when the restorer stopped inside its loop of reading
    // reports: waiting for them (epoll), reading them, or watching a created process
    // (pidfd_open, epoll_ctl). That loop returns on the first failure it parses, so the
    // failure is still ahead of it. Anywhere else (in user space, closing the report pipe,
    // writing the abort, waiting for the root) it may have read the failure already: again.
    // arm64 does not show it: before a signal stops a task, it forgets the number of the
    // system call the signal interrupted (/proc shows -1 wherever the task was). There every
    // attempt in which the chain reaches its last link counts: the restorer may have read
    // the failure before it stopped, a weaker case, but what follows must hold in either.
    #[cfg(target_arch = "x86_64")]
    let waits = [
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2,
        libc::SYS_epoll_wait,
    ];
    #[cfg(not(target_arch = "x86_64"))]
    let waits = [libc::SYS_epoll_pwait, libc::SYS_epoll_pwait2];
    let in_reading_loop = |n: i64| {
        waits.contains(&n)
            || [libc::SYS_epoll_ctl, libc::SYS_read, libc::SYS_pidfd_open].contains(&n)
    };
    let (group, _member) = invisible_taken_pid();
    let dir = TempDir::new("xclone-cli-restore-behind");
    for _ in 0..20 {
        let pids = free_pids(k);
        let proc = |id: String, parent: Option<String>, pid: i32| {
            let parent = parent.map_or(String::new(), |p| format!(r#""parent": "{p}","#));
            format!(r#"{{"id": "{id}", {parent} "pids": [{pid}], "argv": ["sleep", "1000"]}}"#)
        };
        let mut processes = vec![proc("root".into(), None, pids[0])];
        for (i, &pid) in pids.iter().enumerate().take(DEPTH + 1).skip(1) {
            let parent = if i == 1 {
                "root".into()
            } else {
                format!("c{}", i - 1)
            };
            processes.push(proc(format!("c{i}"), Some(parent), pid));
        }
        for j in 0..LEAVES {
            processes.push(proc(
                format!("l{j}"),
                Some("root".into()),
                pids[1 + DEPTH + j],
            ));
        }
        processes.push(proc("clash".into(), Some("root".into()), group));
        let m = dir.file(
            "m.json",
            &format!(
                r#"{{"version": 1, "processes": [{}]}}"#,
                processes.join(",")
            ),
        );
        let err_path = dir.path().join("stderr");
        // In a process group of its own: stopping it must not leave a stopped member in
        // this test's group, which gets SIGHUP (and SIGCONT) from the kernel whenever it is
        // orphaned and a member re-parented elsewhere exits (kill_orphaned_pgrp()), as when
        // the suite's binary is a child of PID 1 in an emulated guest.
        let mut child = xclone()
            .arg("restore")
            .arg(&m)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        let xclone_pid = child.id() as i32;
        let xclone_fd = xclone_testsupport::pidfd(xclone_pid).unwrap();
        let signal = |s| rustix::process::pidfd_send_signal(&xclone_fd, s).unwrap();
        // Stopped once the root exists and the restorer waits for reports: right after the
        // root exists, the restorer is still setting up its loop (closing its copies of the
        // tree's pipe ends, allocating), where /proc shows the same system calls as after a
        // failure (close, brk): stopped there, the attempt could not be judged. A PID taken
        // meanwhile, or the failure read before, ends xclone: again.
        let in_epoll = || {
            cfg!(target_arch = "aarch64")
                || blocked_in(xclone_pid).is_some_and(|n| waits.contains(&n))
        };
        if !until(&mut child, 60, || exists(pids[0]) && in_epoll()) {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(&err_path).unwrap_or_default();
            eprintln!(
                "again: the root did not appear, or the restorer was not seen waiting: {err}"
            );
            continue;
        }
        signal(rustix::process::Signal::STOP);
        let stopped = until(&mut child, 60, || {
            std::fs::read_to_string(format!("/proc/{xclone_pid}/stat"))
                .is_ok_and(|s| s.rsplit(") ").next().is_some_and(|r| r.starts_with('T')))
        });
        assert!(stopped, "xclone did not stop");
        let restorer_in = blocked_in(xclone_pid);
        let too_late = !cfg!(target_arch = "aarch64") && !restorer_in.is_some_and(in_reading_loop);
        // Otherwise no abort byte was written and the chain reaches its last link, which
        // reports and then waits in a system call: writing its report into the full pipe
        // (where the pipe cannot be made large enough for every report), or waiting for the
        // go or the abort.
        let last = pids[DEPTH];
        let waiting = [libc::SYS_write, libc::SYS_read, libc::SYS_ppoll];
        let full = !too_late
            && until(&mut child, 60, || {
                blocked_in(last).is_some_and(|n| waiting.contains(&n))
            });
        signal(rustix::process::Signal::CONT);
        let mut p = [rustix::event::PollFd::new(
            &xclone_fd,
            rustix::event::PollFlags::IN,
        )];
        let ts = rustix::event::Timespec {
            tv_sec: 60,
            tv_nsec: 0,
        };
        let ended = matches!(rustix::event::poll(&mut p, Some(&ts)), Ok(1));
        if !ended {
            // Killing xclone ends the tree too (each process dies with its parent).
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        let err = std::fs::read_to_string(&err_path).unwrap();
        assert!(ended, "the restorer hung after the failure: {err}");
        assert_eq!(status.code(), Some(125), "{err}");
        if !full || (err.contains("EEXIST") && !err.contains("\"clash\"")) {
            // Stopped too late, or a PID of the tree was taken meanwhile.
            eprintln!(
                "again: too late {too_late} (restorer in system call {restorer_in:?}), \
                 chain complete {full}: {err}"
            );
            continue;
        }
        assert!(err.contains("EEXIST") && err.contains("\"clash\""), "{err}");
        assert!(err.contains("the partial tree was removed"), "{err}");
        // Until they exec, tree processes share the restorer's memory, so their command line
        // is the restorer's; a PID may meanwhile be another process's.
        let path = m.display().to_string();
        let ours = |p: &i32| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&path))
        };
        let left: Vec<i32> = pids.iter().copied().filter(ours).collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        return;
    }
    panic!("the restorer was never stopped in time, or PIDs kept being taken");
}

#[test]
fn restore_json_into_a_closed_pipe_or_a_full_disk_is_no_panic_and_the_tree_lives_on() {
    if !privileged() {
        return;
    }
    // Issue 18: `restore --json` panicked (exit 101) when its stdout was gone. Now it ends
    // like coreutils' `seq` (death by SIGPIPE when SIGPIPE was at its default, else one line
    // and 125; /dev/full: one line and 125), and the tree, created before the line is
    // printed, goes on without it: both processes wait for the end of the standard input
    // they share with xclone, which the test closes only after xclone has ended.
    #[derive(Debug)]
    enum Out {
        ClosedPipe { sigpipe_ignored: bool },
        DevFull,
    }
    let dir = TempDir::new("xclone-cli-restore-epipe");
    for case in [
        Out::ClosedPipe {
            sigpipe_ignored: false,
        },
        Out::ClosedPipe {
            sigpipe_ignored: true,
        },
        Out::DevFull,
    ] {
        let mut done = false;
        for _ in 0..20 {
            let p = free_pids(2);
            let prog = |name: &str| {
                let f = dir.path().join(name);
                let _ = std::fs::remove_file(&f);
                (
                    format!(r#"["sh", "-c", "read x; echo ran > {}"]"#, f.display()),
                    f,
                )
            };
            let ((root_argv, root_file), (child_argv, child_file)) = (prog("root"), prog("child"));
            let m = dir.file(
                "m.json",
                &format!(
                    r#"{{"version": 1, "processes": [
                    {{"id": "r", "pids": [{}], "argv": {root_argv}}},
                    {{"id": "c", "parent": "r", "pids": [{}], "argv": {child_argv}}}]}}"#,
                    p[0], p[1]
                ),
            );
            // Close-on-exec: a child another test starts meanwhile must not hold an end.
            let cloexec = rustix::pipe::PipeFlags::CLOEXEC;
            let (stdin_r, stdin_w) = rustix::pipe::pipe_with(cloexec).unwrap();
            let stdout: Stdio = match case {
                Out::ClosedPipe { .. } => {
                    let (r, w) = rustix::pipe::pipe_with(cloexec).unwrap();
                    drop(r);
                    w.into()
                }
                Out::DevFull => std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap()
                    .into(),
            };
            let mut cmd = if matches!(
                case,
                Out::ClosedPipe {
                    sigpipe_ignored: true
                }
            ) {
                let mut c = Command::new("sh");
                c.args(["-c", "trap '' PIPE; exec \"$@\"", "sh"])
                    .arg(env!("CARGO_BIN_EXE_xclone"));
                c
            } else {
                xclone()
            };
            // Stderr goes to a file: the tree inherits it and outlives xclone.
            let err_path = dir.path().join("stderr");
            let status = cmd
                .args(["restore", "--json"])
                .arg(&m)
                .stdin(Stdio::from(stdin_r))
                .stdout(stdout)
                .stderr(std::fs::File::create(&err_path).unwrap())
                .status()
                .unwrap();
            let err = std::fs::read_to_string(&err_path).unwrap();
            if status.code() == Some(125) && err.contains("EEXIST") {
                continue;
            }
            // The tree outlived xclone: both processes are still waiting for their line.
            let fds = xclone_testsupport::pidfds(&p);
            let _guard = KillOnDrop::new(&p);
            assert_eq!(fds.len(), 2, "{case:?}: the tree ended with xclone: {err}");
            match case {
                Out::ClosedPipe {
                    sigpipe_ignored: false,
                } => {
                    assert_eq!(
                        std::os::unix::process::ExitStatusExt::signal(&status),
                        Some(libc::SIGPIPE),
                        "{case:?}: {status:?} {err}"
                    );
                    assert!(err.is_empty(), "{case:?}: {err}");
                }
                Out::ClosedPipe {
                    sigpipe_ignored: true,
                } => {
                    assert_eq!(status.code(), Some(125), "{case:?}: {err}");
                    assert_eq!(
                        err, "xclone: write error on standard output: EPIPE (Broken pipe)\n",
                        "{case:?}"
                    );
                }
                Out::DevFull => {
                    assert_eq!(status.code(), Some(125), "{case:?}: {err}");
                    assert_eq!(
                        err,
                        "xclone: write error on standard output: ENOSPC (No space left on \
                         device)\n",
                        "{case:?}"
                    );
                }
            }
            // Now the tree runs to its end (end-of-file for both; a line could be read by
            // halves, the shells reading a byte at a time side by side).
            drop(stdin_w);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            for fd in &fds {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let ts = rustix::event::Timespec {
                    tv_sec: left.as_secs() as i64,
                    tv_nsec: 0,
                };
                let mut pf = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
                assert!(
                    matches!(rustix::event::poll(&mut pf, Some(&ts)), Ok(1)),
                    "{case:?}: the tree did not run to its end"
                );
            }
            let lines =
                [root_file, child_file].map(|f| std::fs::read_to_string(&f).unwrap_or_default());
            assert_eq!(lines, ["ran\n", "ran\n"], "{case:?}");
            done = true;
            break;
        }
        assert!(done, "PIDs kept being taken");
    }
}
