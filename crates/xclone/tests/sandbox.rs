//! `xclone::isolate::sandbox::Sandbox` through the library: a new root built by the child, limits,
//! capabilities and a seccomp filter, and how a failing step is reported.

use xclone::isolate::sandbox::{
    BindKind, Cap, CapChange, CapSet, Filesystem, FsOp, Rlimit, Sandbox, SeccompProgram,
};
use xclone::isolate::IdMaps;
use xclone::{CloneFlags, Command, Step};
use xclone_testsupport::seccomp;

fn ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

fn layout(extra: Vec<FsOp>) -> Filesystem {
    let ro = BindKind {
        read_only: true,
        ..Default::default()
    };
    let link = |t: &str, d: &str| FsOp::Symlink {
        target: t.into(),
        dest: d.into(),
    };
    let mut ops = vec![
        FsOp::Bind {
            src: "/usr".into(),
            dest: "/usr".into(),
            kind: ro,
        },
        link("usr/bin", "/bin"),
        link("usr/lib", "/lib"),
        link("usr/lib64", "/lib64"),
        FsOp::Proc {
            dest: "/proc".into(),
        },
    ];
    ops.extend(extra);
    Filesystem { base: None, ops }
}

fn sandboxed(script: &str, sandbox: Sandbox) -> Command {
    let (u, g) = ids();
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(script)
        .flags(CloneFlags::NEWUSER | CloneFlags::NEWNS | CloneFlags::NEWPID)
        .id_maps(IdMaps::root(u, g))
        .current_dir("/")
        .env("LC_ALL", "C")
        .sandbox(sandbox);
    c
}

fn have_userns() -> bool {
    let ok = Command::new("/bin/true")
        .flags(CloneFlags::NEWUSER)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: user namespaces are not available to this user");
    }
    ok
}

#[test]
fn the_child_builds_the_root() {
    if !have_userns() {
        return;
    }
    let mut s = Sandbox::default();
    s.filesystem = Some(layout(vec![
        FsOp::Tmpfs {
            dest: "/tmp".into(),
            perms: Some(0o1777),
            size: None,
        },
        FsOp::Dir {
            dest: "/a/b".into(),
            perms: None,
        },
    ]));
    let out = sandboxed(
        "ls /; stat -c %a /tmp; echo x > /usr/f 2>/dev/null || echo erofs",
        s,
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a\nbin\nlib\nlib64\nproc\ntmp\nusr\n1777\nerofs\n"
    );
}

/// A filter making the calls that create a directory fail with ENOTTY (seen by the program,
/// not by the setup, which makes its mount points before the filter is loaded), one limit,
/// one capability kept.
#[test]
fn limits_caps_and_seccomp_reach_the_program() {
    if !have_userns() {
        return;
    }
    let f = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let calls = seccomp::mkdir_calls();
    let n = calls.len() as u8;
    // Another architecture's call: to the final allow. Each comparison jumps to the errno
    // return when equal, else to the next one; the last one to the allow.
    let mut prog = vec![
        f(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 4),
        f(jeq, 0, n + 2, seccomp::AUDIT_ARCH),
        f(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
    ];
    for (i, nr) in calls.iter().enumerate() {
        let i = i as u8;
        prog.push(f(jeq, n - 1 - i, u8::from(i == n - 1), *nr));
    }
    prog.push(f(
        libc::BPF_RET | libc::BPF_K,
        0,
        0,
        libc::SECCOMP_RET_ERRNO | libc::ENOTTY as u32,
    ));
    prog.push(f(
        libc::BPF_RET | libc::BPF_K,
        0,
        0,
        libc::SECCOMP_RET_ALLOW,
    ));
    let keep = CapSet::EMPTY.apply(CapChange::Add(Cap::One(13))); // CAP_NET_RAW
    let mut s = Sandbox::default();
    s.filesystem = Some(layout(vec![FsOp::Tmpfs {
        dest: "/tmp".into(),
        perms: None,
        size: None,
    }]));
    s.rlimits = vec!["NOFILE=77:88".parse::<Rlimit>().unwrap()];
    s.capabilities = Some(keep);
    s.seccomp = vec![SeccompProgram::from_filter(&prog).unwrap()];
    let out = sandboxed(
        "ulimit -Sn; ulimit -Hn; grep -E '^Cap(Eff|Bnd|Amb)|NoNewPrivs' /proc/self/status; \
         mkdir /tmp/d 2>&1",
        s,
    )
    .output()
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "77\n88\nCapEff:\t0000000000002000\nCapBnd:\t0000000000002000\n\
         CapAmb:\t0000000000002000\nNoNewPrivs:\t1\nmkdir: cannot create directory '/tmp/d': Inappropriate \
         ioctl for device\n"
    );
}

#[test]
fn a_failing_step_names_operation_path_and_errno() {
    if !have_userns() {
        return;
    }
    let mut s = Sandbox::default();
    s.filesystem = Some(layout(vec![FsOp::Dir {
        dest: "/usr/new".into(),
        perms: None,
    }]));
    let mut cmd = sandboxed("true", s);
    let err = cmd.status().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    let e = cmd.last_spawn_error().expect("the failing step");
    assert_eq!(e.step(), Step::Filesystem);
    assert_eq!(e.errno().0, libc::EROFS);
    assert_eq!(e.detail(), "--dir /usr/new: mkdir /newroot/usr/new");
    // Without a mount namespace the request is refused before the clone.
    let mut c = Command::new("/bin/true");
    let mut s = Sandbox::default();
    s.filesystem = Some(Filesystem::default());
    c.sandbox(s);
    let err = c.status().unwrap_err();
    assert!(err.to_string().contains("CLONE_NEWNS"), "{err}");
}

/// `keep_caps` (unshare --keep-caps): in a new user namespace without a uid map the
/// program (uid 65534 there) keeps every capability through exec in its ambient set;
/// without it the exec drops them all. The bounding set is untouched either way.
#[test]
fn keep_caps_raises_the_permitted_set_into_the_ambient_set() {
    if !have_userns() {
        return;
    }
    let sets = |keep_caps: bool| {
        let mut sandbox = Sandbox::default();
        sandbox.keep_caps = keep_caps;
        let out = Command::new("/bin/cat")
            .arg("/proc/self/status")
            .flags(CloneFlags::NEWUSER)
            .sandbox(sandbox)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("Cap"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    let all = format!("{:016x}", CapSet::all().0);
    let none = "0000000000000000";
    assert_eq!(
        sets(true),
        [
            format!("CapInh: {all}"),
            format!("CapPrm: {all}"),
            format!("CapEff: {all}"),
            format!("CapBnd: {all}"),
            format!("CapAmb: {all}"),
        ]
    );
    assert_eq!(
        sets(false),
        [
            format!("CapInh: {none}"),
            format!("CapPrm: {none}"),
            format!("CapEff: {none}"),
            format!("CapBnd: {all}"),
            format!("CapAmb: {none}"),
        ]
    );
}

/// `Sandbox::init`: the program runs as PID 2 under an init of xclone's; `wait` returns the
/// program's status (from the init's pipe), signals sent to the child (the init) reach the
/// program, orphans are reaped, `output()` sees end of file as soon as the program ends.
#[test]
fn init_runs_the_program_as_pid_2() {
    if !have_userns() {
        eprintln!("skipped: user namespaces are not available");
        return;
    }
    let mut init = Sandbox::default();
    init.filesystem = Some(layout(vec![]));
    init.init = true;
    // What the program sees; its exit code comes back as is.
    let out = sandboxed(
        "echo $$; cut -d' ' -f4 /proc/$$/stat; p=$( (true & echo $!) ); \
         i=0; while [ -d /proc/$p ] && [ $i -lt 200000 ]; do i=$((i+1)); done; \
         [ -d /proc/$p ] && echo left || echo reaped; exit 3",
        init.clone(),
    )
    .output()
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n1\nreaped\n");
    assert_eq!(out.status.code(), Some(3));

    // Killed by a signal: the program's status says so (the init's own would be 128+N).
    let mut c = sandboxed("kill -TERM $$", init.clone());
    let st = c.status().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM), "{st:?}");

    // A blocking wait leaves nothing behind: the init is reaped too, not left a zombie.
    let mut child = sandboxed("exit 4", init.clone()).spawn().unwrap();
    let init_pid = child.id();
    assert_eq!(child.wait().unwrap().code(), Some(4));
    assert!(
        !std::path::Path::new(&format!("/proc/{init_pid}")).exists(),
        "the init {init_pid} was not reaped"
    );

    // A signal to the child (the init) is passed on to the program.
    let mut c = sandboxed(
        "trap 'exit 7' USR1; echo ready; while :; do :; done",
        init.clone(),
    );
    c.stdout(xclone::Stdio::piped());
    let mut child = c.spawn().unwrap();
    assert!(child.has_init());
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    assert_eq!(child.try_wait().unwrap(), None);
    child.signal(libc::SIGUSR1).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(7));

    // Killing the init ends everything; wait falls back to the init's own status.
    let mut child = sandboxed("while :; do :; done", init.clone())
        .spawn()
        .unwrap();
    assert_eq!(
        child
            .wait_timeout(std::time::Duration::from_millis(1))
            .unwrap(),
        None
    );
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));

    // A failing step of the program's process is reported as without an init.
    let mut c = sandboxed("true", init.clone());
    c.current_dir("/nonexistent");
    let e = c.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(c.last_spawn_error().unwrap().step(), Step::Chdir);

    // Without a new pid namespace the request is refused.
    let mut c = sandboxed("true", init);
    c.flags(CloneFlags::NEWUSER | CloneFlags::NEWNS);
    let e = c.spawn().unwrap_err();
    assert!(e.to_string().contains("CLONE_NEWPID"), "{e}");
}
