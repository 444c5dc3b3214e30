//! The unshare(2) and setns(2) validators against the real kernel: several hundred requests,
//! each made by a fresh child process in one of these situations — root, root with a second
//! thread, root sharing CLONE_FS with another process, nobody, nobody with a thread, inside a
//! user namespace (with and without a thread, with its namespace limits set to 0), chrooted as
//! root and as nobody, after unshare(CLONE_NEWPID) — against namespace files and pidfds of
//! live holder processes (one whose namespaces root made, one whose nobody made), of the
//! caller itself, of a zombie, of a reaped process, and against descriptors that are not
//! namespaces. The child reads the caller and the target as the library does, asks the
//! validator, makes the raw call and reports both answers; the verdict's errno must be the
//! kernel's in every case.
//!
//! The test binary re-executes itself with `XCLONE_NSVVK` set; that runner sets the holders
//! up and forks one child per request, so nothing the requests change reaches the test.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use xclone::raw::nscalls;
use xclone::setns::Target;
use xclone::{caller::Caller, probe::Features, CloneFlags, Errno};

const ROLE_ENV: &str = "XCLONE_NSVVK";

/// The caller's situation, set up in the request's child before anything is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sit {
    Root,
    RootThreads,
    RootFsShared,
    Nobody,
    NobodyThreads,
    UserNs,
    UserNsThreads,
    UserNsLimited,
    Chroot,
    ChrootNobody,
    PidUnshared,
    InChildPidNs,
    UserNsUnmapped,
    UserNsDeepest,
}

const SITUATIONS: [Sit; 14] = [
    Sit::Root,
    Sit::RootThreads,
    Sit::RootFsShared,
    Sit::Nobody,
    Sit::NobodyThreads,
    Sit::UserNs,
    Sit::UserNsThreads,
    Sit::UserNsLimited,
    Sit::Chroot,
    Sit::ChrootNobody,
    Sit::PidUnshared,
    Sit::InChildPidNs,
    Sit::UserNsUnmapped,
    Sit::UserNsDeepest,
];

/// What a setns request targets.
#[derive(Clone, Debug)]
enum Tgt {
    /// The caller's own `/proc/thread-self/ns/<name>`, opened after the set-up.
    Own(&'static str),
    /// A descriptor the runner opened (inherited).
    Fd(RawFd, String),
    /// `pidfd_open(getpid())` after the set-up.
    SelfPidfd,
}

#[derive(Clone, Debug)]
enum Req {
    Unshare(u64),
    Setns(Tgt, u64),
}

const KINDS: [(&str, CloneFlags); 8] = [
    ("user", CloneFlags::NEWUSER),
    ("mnt", CloneFlags::NEWNS),
    ("uts", CloneFlags::NEWUTS),
    ("ipc", CloneFlags::NEWIPC),
    ("pid", CloneFlags::NEWPID),
    ("cgroup", CloneFlags::NEWCGROUP),
    ("net", CloneFlags::NEWNET),
    ("time", CloneFlags::NEWTIME),
];

fn name_of(r: &Req) -> String {
    match r {
        Req::Unshare(f) => format!(
            "unshare({})",
            CloneFlags::from_bits_retain(*f).to_names_string()
        ),
        Req::Setns(t, f) => {
            let t = match t {
                Tgt::Own(k) => format!("own-{k}"),
                Tgt::Fd(_, n) => n.clone(),
                Tgt::SelfPidfd => "self-pidfd".into(),
            };
            format!(
                "setns({t}, {})",
                CloneFlags::from_bits_retain(*f).to_names_string()
            )
        }
    }
}

// -------------------------------------------------------------------------------------------
// Processes that hold namespaces (made by the runner)
// -------------------------------------------------------------------------------------------

fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

fn write_file(path: &str, s: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(s.as_bytes())
}

fn die(what: &str) -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "{what}: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: leaving a forked child without running the harness's exit path.
    unsafe { libc::_exit(90) }
}

/// The write end of the runner's release pipe, which every holder closes in itself.
static RELEASE_WR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Blocks until the runner closes `release`'s write end (or its parent dies), then exits.
fn hold(release: &OwnedFd) -> ! {
    // SAFETY: plain calls in a forked, single-threaded child.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::close(RELEASE_WR.load(std::sync::atomic::Ordering::Relaxed));
        let mut b = [0u8; 1];
        libc::read(release.as_raw_fd(), b.as_mut_ptr().cast(), 1);
        libc::_exit(0)
    }
}

fn drop_to_nobody() {
    // SAFETY: credential changes in a single-threaded forked child.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(65534) != 0
            || libc::setuid(65534) != 0
        {
            die("drop to nobody");
        }
        libc::prctl(libc::PR_SET_DUMPABLE, 1);
    }
}

/// `unshare(CLONE_NEWUSER | more)` and map the caller's ids to 0 inside.
fn new_userns(more: i32) -> std::io::Result<()> {
    let (uid, gid) = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    // SAFETY: unshare in a single-threaded forked child.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | more) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    write_file("/proc/self/setgroups", "deny")?;
    write_file("/proc/self/uid_map", &format!("0 {uid} 1"))?;
    write_file("/proc/self/gid_map", &format!("0 {gid} 1"))
}

/// A process in namespaces of its own (every type; its pid and time namespaces are those of
/// its parent's children), made as root or as nobody. Returns its pid; it lives until
/// `release`'s write end closes.
fn holder(as_nobody: bool, release: &OwnedFd) -> i32 {
    let (rd, wr) = pipe();
    // SAFETY: fork of the single-threaded runner; the child only makes plain calls.
    let c1 = unsafe { libc::fork() };
    if c1 == 0 {
        // SAFETY: our copy of the release pipe's write end; only the runner keeps one.
        unsafe { libc::close(RELEASE_WR.load(std::sync::atomic::Ordering::Relaxed)) };
        if as_nobody {
            drop_to_nobody();
        }
        let all = libc::CLONE_NEWNS
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWCGROUP
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWTIME;
        if new_userns(all).is_err() {
            die("holder: new namespaces");
        }
        // SAFETY: as above.
        let c2 = unsafe { libc::fork() };
        if c2 == 0 {
            hold(release);
        }
        let mut w = File::from(wr);
        let _ = w.write_all(&c2.to_ne_bytes());
        drop(w);
        // SAFETY: reaping our child, then leaving.
        unsafe {
            libc::waitpid(c2, std::ptr::null_mut(), 0);
            libc::_exit(0)
        }
    }
    drop(wr);
    let mut b = [0u8; 4];
    File::from(rd).read_exact(&mut b).unwrap();
    i32::from_ne_bytes(b)
}

/// A child that blocks on `release`; for zombies and reaped processes.
fn plain_child(release: &OwnedFd) -> i32 {
    // SAFETY: fork of the single-threaded runner; the child only blocks and exits.
    let c = unsafe { libc::fork() };
    if c == 0 {
        hold(release);
    }
    c
}

fn pidfd(pid: i32) -> OwnedFd {
    rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )
    .unwrap()
}

/// Opens `path` and leaks it into a plain descriptor number the request children inherit.
fn keep(path: &str) -> Option<RawFd> {
    File::open(path).ok().map(|f| f.into_raw_fd())
}

// -------------------------------------------------------------------------------------------
// The requests
// -------------------------------------------------------------------------------------------

struct Env {
    holder_root: i32,
    holder_nobody: i32,
    targets: Vec<(RawFd, String)>,
    pidfds: Vec<(RawFd, String)>,
    chroot_dir: String,
}

fn unshare_requests() -> Vec<Req> {
    use CloneFlags as F;
    let mut v = vec![0u64];
    for f in [
        F::FILES,
        F::FS,
        F::NEWCGROUP,
        F::NEWIPC,
        F::NEWNET,
        F::NEWNS,
        F::NEWPID,
        F::NEWTIME,
        F::NEWUSER,
        F::NEWUTS,
        F::SYSVSEM,
        F::THREAD,
        F::SIGHAND,
        F::VM,
    ] {
        v.push(f.bits());
    }
    for f in [
        F::NEWUSER | F::NEWNET,
        F::NEWUSER | F::NEWNS | F::NEWPID | F::NEWUTS | F::NEWIPC | F::NEWCGROUP | F::NEWTIME,
        F::NEWNS | F::NEWNET | F::NEWUTS,
        F::NEWIPC | F::SYSVSEM,
        F::FILES | F::FS,
        F::NEWPID | F::NEWTIME,
        F::NEWUSER | F::FS,
        F::PIDFD,
        F::VFORK | F::NEWNET,
        F::from_bits_retain(1 << 40),
    ] {
        v.push(f.bits());
    }
    v.into_iter().map(Req::Unshare).collect()
}

fn setns_requests(env: &Env) -> Vec<Req> {
    use CloneFlags as F;
    let mut v = Vec::new();
    for (k, flag) in KINDS {
        v.push(Req::Setns(Tgt::Own(k), 0));
        if k == "net" || k == "mnt" || k == "user" {
            v.push(Req::Setns(Tgt::Own(k), flag.bits()));
        }
    }
    v.push(Req::Setns(Tgt::Own("net"), F::NEWUTS.bits()));
    for (fd, name) in &env.targets {
        v.push(Req::Setns(Tgt::Fd(*fd, name.clone()), 0));
    }
    // Flags that do not match the file.
    if let Some((fd, name)) = env.targets.iter().find(|(_, n)| n.ends_with("/mnt")) {
        v.push(Req::Setns(Tgt::Fd(*fd, name.clone()), F::NEWNET.bits()));
    }
    if let Some((fd, name)) = env.targets.iter().find(|(_, n)| n.ends_with("/user")) {
        v.push(Req::Setns(Tgt::Fd(*fd, name.clone()), F::NEWUSER.bits()));
    }
    let combos: Vec<u64> = KINDS
        .iter()
        .map(|(_, f)| f.bits())
        .chain([
            0,
            (F::NEWUSER | F::NEWNET).bits(),
            (F::NEWUSER | F::NEWNS).bits(),
            (F::NEWNS | F::NEWNET).bits(),
            (F::NEWUSER | F::NEWPID | F::NEWTIME).bits(),
            F::NAMESPACES.bits(),
            (F::NAMESPACES - F::NEWUSER).bits(),
            (F::NEWNET | F::VM).bits(),
        ])
        .collect();
    for (fd, name) in &env.pidfds {
        let all = name.starts_with("holder");
        for f in &combos {
            if all || [F::NEWNET.bits(), F::NEWUSER.bits(), 0].contains(f) {
                v.push(Req::Setns(Tgt::Fd(*fd, name.clone()), *f));
            }
        }
    }
    for f in [
        F::NEWNET,
        F::NEWUSER,
        F::NEWNS,
        F::NEWTIME,
        F::NEWNET | F::NEWUTS | F::NEWNS,
    ] {
        v.push(Req::Setns(Tgt::SelfPidfd, f.bits()));
    }
    v
}

// -------------------------------------------------------------------------------------------
// One request, in a child of its own
// -------------------------------------------------------------------------------------------

/// Blocks the calling thread's sibling forever (until the process exits).
fn start_thread() {
    let (rd, wr) = pipe();
    let (ready_rd, ready_wr) = pipe();
    std::thread::spawn(move || {
        drop(ready_wr);
        let mut b = [0u8; 1];
        let _ = File::from(rd).read(&mut b);
    });
    // The thread is running once it closed its end.
    let mut b = [0u8; 1];
    let _ = File::from(ready_rd).read(&mut b);
    std::mem::forget(wr);
}

/// A process sharing our filesystem information (clone with CLONE_FS), alive until we die.
fn start_fs_sharer() {
    let (rd, wr) = pipe();
    // SAFETY: a fork-like clone (no CLONE_VM) of the single-threaded request child; the new
    // process only blocks and exits.
    let c = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_FS | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if c == 0 {
        // SAFETY: closing our copy of the write end, so that only the request child holds it.
        unsafe { libc::close(wr.as_raw_fd()) };
        hold(&rd);
    }
    std::mem::forget(wr);
}

fn chroot_into(dir: &str) -> std::io::Result<()> {
    use rustix::mount::{mount_bind_recursive, mount_change, MountPropagationFlags};
    // SAFETY: unshare in the single-threaded request child.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    mount_change(
        "/",
        MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
    )?;
    mount_bind_recursive("/proc", format!("{dir}/proc").as_str())?;
    rustix::process::chroot(dir)?;
    rustix::process::chdir("/")?;
    Ok(())
}

fn set_up(s: Sit, env: &Env) -> Result<(), String> {
    let e = |what: &str, err: std::io::Error| format!("{what}: {err}");
    match s {
        Sit::Root => {}
        Sit::RootThreads => start_thread(),
        Sit::RootFsShared => start_fs_sharer(),
        Sit::Nobody => drop_to_nobody(),
        Sit::NobodyThreads => {
            drop_to_nobody();
            start_thread()
        }
        Sit::UserNs | Sit::UserNsThreads | Sit::UserNsLimited => {
            drop_to_nobody();
            new_userns(0).map_err(|x| e("user namespace", x))?;
            if s == Sit::UserNsThreads {
                start_thread();
            }
            if s == Sit::UserNsLimited {
                for k in ["user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"] {
                    write_file(&format!("/proc/sys/user/max_{k}_namespaces"), "0")
                        .map_err(|x| e("namespace limits", x))?;
                }
            }
        }
        Sit::Chroot | Sit::ChrootNobody => {
            chroot_into(&env.chroot_dir).map_err(|x| e("chroot", x))?;
            if s == Sit::ChrootNobody {
                drop_to_nobody();
            }
        }
        Sit::PidUnshared | Sit::InChildPidNs => {
            // SAFETY: unshare in the single-threaded request child.
            if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
                return Err(e("unshare", std::io::Error::last_os_error()));
            }
            if s == Sit::InChildPidNs {
                // The request is made by our child, the init of the new pid namespace; it
                // writes the report through the inherited pipe.
                // SAFETY: fork of the single-threaded request child.
                let c = unsafe { libc::fork() };
                if c > 0 {
                    // SAFETY: waiting for it, then leaving.
                    unsafe {
                        libc::waitpid(c, std::ptr::null_mut(), 0);
                        libc::_exit(0)
                    }
                }
            }
        }
        Sit::UserNsUnmapped => {
            // A user namespace without id maps: the caller's ids are unmapped in it.
            // SAFETY: unshare in the single-threaded request child.
            if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
                return Err(e("unshare", std::io::Error::last_os_error()));
            }
        }
        Sit::UserNsDeepest => {
            // Level 33, the deepest a user namespace can be (create_user_ns()).
            for _ in 0..33 {
                new_userns(0).map_err(|x| e("nested user namespace", x))?;
            }
        }
    }
    Ok(())
}

/// Runs in the request child: returns the line to report.
fn judge(s: Sit, r: &Req, env: &Env, features: &Features) -> String {
    let name = format!("{s:?} {}", name_of(r));
    if let Err(why) = set_up(s, env) {
        return format!("SKIP {name}: {why}");
    }
    let (verdict, kernel) = match r {
        Req::Unshare(f) => {
            let mut caller = Caller::current().unwrap();
            if s == Sit::UserNsDeepest {
                // No process can read its own user namespace's depth (NS_GET_PARENT stops at
                // its own namespace): the test, which made the 33 levels, tells the validator.
                caller.user_ns_level = Some(33);
            }
            let v = xclone::unshare::validate(*f, features, &caller);
            (v, nscalls::unshare(*f))
        }
        Req::Setns(t, f) => {
            let fd = match t {
                Tgt::Own(k) => match File::open(format!("/proc/thread-self/ns/{k}")) {
                    Ok(f) => f.into_raw_fd(),
                    Err(x) => return format!("SKIP {name}: {x}"),
                },
                Tgt::Fd(fd, _) => *fd,
                Tgt::SelfPidfd => pidfd(std::process::id() as i32).into_raw_fd(),
            };
            let caller = Caller::current().unwrap();
            let target = Target::inspect(fd, caller.euid);
            let v = xclone::setns::validate(&target, *f, features, &caller);
            (v, nscalls::setns_raw(fd, *f))
        }
    };
    let said = verdict.errno();
    let got = kernel.err();
    let rule = verdict.first().map_or("ok", |p| p.rule);
    if said == got {
        format!("MATCH {rule} {name}")
    } else {
        format!(
            "MISMATCH {name}: validator {} ({rule}{}), kernel {}",
            said.map_or("ok".into(), |e| e.name()),
            if verdict.notes.is_empty() {
                String::new()
            } else {
                format!("; notes: {}", verdict.notes.join("; "))
            },
            got.map_or("ok".into(), |e: Errno| e.name()),
        )
    }
}

fn run_request(s: Sit, r: &Req, env: &Env, features: &Features) -> String {
    let (rd, wr) = pipe();
    // SAFETY: fork of the single-threaded runner; the child judges one request, writes a
    // line and leaves with _exit. The alarm bounds it.
    let c = unsafe { libc::fork() };
    if c == 0 {
        drop(rd);
        // SAFETY: as above.
        unsafe { libc::alarm(30) };
        let line = judge(s, r, env, features);
        let mut w = File::from(wr);
        let _ = w.write_all(line.as_bytes());
        drop(w);
        // SAFETY: leaving the child without the harness's exit path.
        unsafe { libc::_exit(0) }
    }
    drop(wr);
    let mut out = String::new();
    let _ = File::from(rd).read_to_string(&mut out);
    let mut status = 0;
    // SAFETY: reaping our child.
    unsafe { libc::waitpid(c, &mut status, 0) };
    if out.is_empty() {
        format!(
            "MISMATCH {s:?} {}: child failed (status {status:#x})",
            name_of(r)
        )
    } else {
        out
    }
}

/// The entry point of the re-executed binary (does nothing in a normal test run).
#[test]
fn runner() {
    if std::env::var_os(ROLE_ENV).is_none() {
        return;
    }
    let features = xclone::setns::current_features();
    let (release_rd, release_wr) = pipe();
    RELEASE_WR.store(release_wr.as_raw_fd(), std::sync::atomic::Ordering::Relaxed);
    let holder_root = holder(false, &release_rd);
    let holder_nobody = holder(true, &release_rd);
    let zombie = plain_child(&release_rd);
    let reaped = plain_child(&release_rd);
    let mut targets = Vec::new();
    let mut pidfds = Vec::new();
    for (who, pid) in [
        ("holder-root", holder_root),
        ("holder-nobody", holder_nobody),
    ] {
        for (k, _) in KINDS {
            if let Some(fd) = keep(&format!("/proc/{pid}/ns/{k}")) {
                targets.push((fd, format!("{who}/{k}")));
            }
        }
        pidfds.push((pidfd(pid).into_raw_fd(), format!("{who}-pidfd")));
    }
    for (k, _) in KINDS {
        if let Some(fd) = keep(&format!("/proc/1/ns/{k}")) {
            targets.push((fd, format!("pid1/{k}")));
        }
    }
    let reaped_net = keep(&format!("/proc/{reaped}/ns/net")).unwrap();
    let zombie_fd = pidfd(zombie).into_raw_fd();
    let reaped_fd = pidfd(reaped).into_raw_fd();
    // The zombie and the reaped child end now (killed; the holders stay).
    // SAFETY: signalling our own children.
    unsafe {
        libc::kill(zombie, libc::SIGKILL);
        libc::kill(reaped, libc::SIGKILL);
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            zombie as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
        libc::waitpid(reaped, std::ptr::null_mut(), 0);
    }
    targets.push((reaped_net, "reaped/net-file".into()));
    pidfds.push((zombie_fd, "zombie-pidfd".into()));
    pidfds.push((reaped_fd, "reaped-pidfd".into()));
    // Descriptors that are not namespaces.
    targets.push((
        File::open("/proc/self/status").unwrap().into_raw_fd(),
        "proc-status-file".into(),
    ));
    targets.push((
        File::open(format!("/proc/{holder_root}"))
            .unwrap()
            .into_raw_fd(),
        "proc-pid-dir".into(),
    ));
    targets.push((9999, "closed-fd".into()));

    let chroot_dir = format!("/tmp/xclone-nsvvk-{}", std::process::id());
    std::fs::create_dir_all(format!("{chroot_dir}/proc")).unwrap();
    let env = Env {
        holder_root,
        holder_nobody,
        targets,
        pidfds,
        chroot_dir: chroot_dir.clone(),
    };
    let mut requests = unshare_requests();
    requests.extend(setns_requests(&env));

    // libtest printed "test runner ... " without a newline.
    println!();
    for s in SITUATIONS {
        for r in &requests {
            println!("{}", run_request(s, r, &env, &features));
        }
    }
    drop(release_wr);
    // SAFETY: reaping the zombie and whatever else of ours ended.
    unsafe { while libc::waitpid(-1, std::ptr::null_mut(), libc::__WALL) > 0 {} }
    let _ = std::fs::remove_dir_all(&chroot_dir);
    let _ = (env.holder_root, env.holder_nobody);
    println!("END");
}

// -------------------------------------------------------------------------------------------
// The test proper
// -------------------------------------------------------------------------------------------

#[test]
fn ns_validator_matches_kernel() {
    if !xclone_testsupport::privilege::privileged() {
        return;
    }
    if !Features::setns_pidfd_supported() {
        eprintln!("skipped: setns(2) takes no pidfd on this kernel (Linux 5.8+)");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "runner", "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("\nEND"),
        "runner failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let mut rules = BTreeSet::new();
    let mut skipped = 0;
    for line in stdout.lines() {
        if let Some(m) = line.strip_prefix("MISMATCH ") {
            mismatches.push(m.to_string());
            compared += 1;
        } else if let Some(m) = line.strip_prefix("MATCH ") {
            rules.insert(m.split(' ').next().unwrap().to_string());
            compared += 1;
        } else if let Some(m) = line.strip_prefix("SKIP ") {
            eprintln!("skipped request: {m}");
            skipped += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "validator and kernel disagree on {} of {compared} requests:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        compared >= 300,
        "only {compared} requests compared ({skipped} skipped)"
    );
    let must = [
        "ok",
        "unshare-unknown-flags",
        "unshare-newuser-threaded",
        "unshare-thread-threaded",
        "unshare-userns-chrooted",
        "unshare-userns-unmapped-ids",
        "unshare-userns-too-deep",
        "unshare-userns-limit",
        "unshare-namespace-limit",
        "setns-pid-not-descendant",
        "unshare-needs-cap",
        "unshare-newpid-twice",
        "setns-bad-fd",
        "setns-type-mismatch",
        "setns-pidfd-no-flags",
        "setns-pidfd-unknown-flags",
        "setns-not-namespace",
        "setns-target-gone",
        "setns-target-ptrace",
        "setns-user-same",
        "setns-user-threaded",
        "setns-user-fs-shared",
        "setns-user-needs-cap",
        "setns-mnt-needs-cap",
        "setns-mnt-fs-shared",
        "setns-needs-cap",
        "setns-time-shared",
    ];
    let missing: Vec<_> = must.iter().filter(|r| !rules.contains(**r)).collect();
    assert!(
        missing.is_empty(),
        "rules never exercised against the kernel: {missing:?} (seen: {rules:?})"
    );
    eprintln!(
        "{compared} requests compared, {skipped} skipped, rules seen: {}",
        rules.into_iter().collect::<Vec<_>>().join(", ")
    );
}
