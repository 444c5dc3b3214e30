//! The same sandbox run by `xclone run` and by bubblewrap (`bwrap`, 0.8 on Debian 12), as
//! root and as uid 65534: what the program saw must be the same — mount table (targets,
//! roots, file systems, ro/rw and the other per-mount flags), `/dev`, capability sets, ids,
//! session, environment, resource limits, EROFS on read-only binds, seccomp errnos.
//!
//! Each row gives the options both tools take (bwrap's names), a `sh` script printing what
//! the program sees, and where they differ by design a tool-specific option or wrapper
//! (`prlimit` before bwrap, which has no `--rlimit`). Both run the program as PID 2 under an
//! init of their own by default and as PID 1 with `--as-pid-1`; rows compare both layouts. Rows run with
//! descriptors 3 and 4 open on prepared files when they pass programs or data by number.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use xclone_testsupport::{have_bwrap, have_setpriv, is_root, merged_usr, seccomp, SETPRIV_NOBODY};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

/// The namespace options (`--unshare-all` unless the row says otherwise), this machine's
/// merged-/usr layout and `--proc /proc`.
fn base(namespaces: &[&'static str]) -> Vec<&'static str> {
    let mut v = namespaces.to_vec();
    v.extend(merged_usr());
    v.extend(["--proc", "/proc"]);
    v
}

/// Most rows that mount a `--dev` run as uid 0 inside, for both tools; the rows named
/// "nested user namespace" run without it: then both map root first (devpts is mounted by
/// uid 0) and give the program its ids in a user namespace nested after the file tree.
const ROOT_INSIDE: &[&str] = &["--uid", "0", "--gid", "0"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Root,
    Nobody,
}

#[derive(Clone, Copy)]
enum Norm {
    Same,
    /// mountinfo lines as `target root fstype per-mount-options`.
    Mounts,
}

struct Row {
    name: &'static str,
    opts: Vec<&'static str>,
    script: &'static str,
    /// Only for bwrap (what xclone does by default).
    bwrap_only: Vec<&'static str>,
    /// A command bwrap runs under (`prlimit …`).
    bwrap_wrap: Vec<&'static str>,
    /// Only for xclone.
    xclone_only: Vec<&'static str>,
    norm: Norm,
    root_only: bool,
    /// The namespace options of the base.
    namespaces: Vec<&'static str>,
    /// A command both tools run under (after the user switch).
    wrap_both: Vec<&'static str>,
}

fn row(name: &'static str, opts: &[&'static str], script: &'static str) -> Row {
    Row {
        name,
        opts: opts.to_vec(),
        script,
        bwrap_only: Vec::new(),
        bwrap_wrap: Vec::new(),
        xclone_only: Vec::new(),
        norm: Norm::Same,
        root_only: false,
        namespaces: vec!["--unshare-all"],
        wrap_both: Vec::new(),
    }
}

impl Row {
    fn mounts(mut self) -> Self {
        self.norm = Norm::Mounts;
        self
    }
    fn wrap(mut self, w: &[&'static str]) -> Self {
        self.bwrap_wrap = w.to_vec();
        self
    }
    fn root_only(mut self) -> Self {
        self.root_only = true;
        self
    }
    fn namespaces(mut self, ns: &[&'static str]) -> Self {
        self.namespaces = ns.to_vec();
        self
    }
    fn wrap_both(mut self, w: &[&'static str]) -> Self {
        self.wrap_both = w.to_vec();
        self
    }
}

/// A classic-BPF program making the listed system calls of the native ABI fail with `errno`.
fn bpf_deny(nrs: &[u32], errno: u32) -> Vec<u8> {
    let ins = |code: u32, jt: u8, jf: u8, k: u32| {
        let mut b = (code as u16).to_ne_bytes().to_vec();
        b.extend([jt, jf]);
        b.extend(k.to_ne_bytes());
        b
    };
    let (ld, jeq, ret) = (
        libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
        libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
        libc::BPF_RET | libc::BPF_K,
    );
    let n = nrs.len() as u8;
    let mut p = Vec::new();
    p.extend(ins(ld, 0, 0, 4)); // arch
                                // Another architecture: to the final allow.
    p.extend(ins(jeq, 0, n + 2, seccomp::AUDIT_ARCH));
    p.extend(ins(ld, 0, 0, 0)); // nr
    for (i, nr) in nrs.iter().enumerate() {
        let i = i as u8;
        // Equal: to the errno return; else the next comparison, the last one to the allow.
        p.extend(ins(jeq, n - 1 - i, u8::from(i == n - 1), *nr));
    }
    p.extend(ins(ret, 0, 0, libc::SECCOMP_RET_ERRNO | errno));
    p.extend(ins(ret, 0, 0, libc::SECCOMP_RET_ALLOW));
    p
}

fn rows() -> Vec<Row> {
    let ro = ROOT_INSIDE;
    let with = |a: &[&'static str], b: &[&'static str]| -> Vec<&'static str> {
        a.iter().chain(b).copied().collect()
    };
    let mounts = "cat /proc/self/mountinfo";
    vec![
        row("mount table: --dev --tmpfs", &with(ro, &["--dev", "/dev", "--tmpfs", "/tmp"]), mounts).mounts(),
        row("mount table: --ro-bind --bind", &["--ro-bind", "@RO", "/data", "--bind", "@RW", "/rw"], mounts).mounts(),
        row("mount table: --ro-bind is recursive", &["--ro-bind", "/dev", "/hostdev"], mounts).mounts(),
        row("mount table: --remount-ro", &["--bind", "@RW", "/rw", "--remount-ro", "/rw"], mounts).mounts(),
        row("mount table: --mqueue", &with(ro, &["--dev", "/dev", "--mqueue", "/dev/mqueue"]), mounts).mounts(),
        row("mount table: --dev-bind", &["--dev-bind", "/dev", "/dev"], "grep ' /dev ' /proc/self/mountinfo").mounts(),
        row("mount table: --bind-data, --ro-bind-data", &["--bind-data", "3", "/etc/bd", "--ro-bind-data", "4", "/etc/rbd"], mounts).mounts(),
        row("mount table: the brief's sandbox", &with(ro, &["--dev", "/dev", "--tmpfs", "/tmp", "--new-session"]), mounts).mounts(),
        row("ls -la /dev (types, modes, links)", &with(ro, &["--dev", "/dev"]),
            "cd /dev && stat -c '%A %u %g %F %t:%T %N' * .* | sort"),
        row("/dev nodes work, pts has ptmx", &with(ro, &["--dev", "/dev"]),
            "echo hi > /dev/null; head -c 4 /dev/zero | od -An -tx1; head -c 3 /dev/urandom | wc -c; ls /dev/pts; readlink /dev/ptmx /dev/fd /dev/stdin"),
        row("proc: covered directories", &[], "grep ' /proc' /proc/self/mountinfo").mounts(),
        row("--tmpfs with --perms and --size", &["--perms", "0700", "--size", "1048576", "--tmpfs", "/t"],
            "stat -c '%a %u %g' /t; grep ' /t ' /proc/self/mountinfo | sed 's/.* - //'"),
        row("--dir with --perms, parents 0755", &["--perms", "0750", "--dir", "/d/e"], "stat -c '%a %u %n' /d /d/e"),
        row("--symlink", &["--symlink", "/usr/bin/env", "/e", "--symlink", "../x", "/a/b"], "readlink /e /a/b; stat -c '%a %F' /a /a/b"),
        row("--file FD with and without --perms", &["--file", "3", "/etc/f", "--perms", "0640", "--file", "4", "/etc/g"],
            "stat -c '%a %h %s %n' /etc/f /etc/g; cat /etc/f /etc/g"),
        row("--bind-data, --ro-bind-data content", &["--bind-data", "3", "/etc/bd", "--ro-bind-data", "4", "/etc/rbd"],
            "stat -c '%a %h %s %n' /etc/bd /etc/rbd; cat /etc/bd /etc/rbd; echo x >> /etc/rbd 2>&1"),
        row("--chmod", &["--dir", "/c", "--chmod", "0711", "/c"], "stat -c '%a %n' /c"),
        row("--ro-bind: writes fail with EROFS", &["--ro-bind", "@RO", "/data"],
            "cat /data/f; echo x > /data/new 2>&1; touch /data/f 2>&1; echo $?"),
        row("--bind: writable", &["--bind", "@RW", "/rw"], "echo x > /rw/w && cat /rw/w && rm /rw/w && echo removed"),
        row("--remount-ro: writes fail with EROFS", &["--bind", "@RW", "/rw", "--remount-ro", "/rw"], "echo x > /rw/w 2>&1; echo $?"),
        row("--ro-bind of a tree: submounts read-only too", &["--ro-bind", "/dev", "/hostdev"],
            "touch /hostdev/shm/x 2>&1; echo $?"),
        row("--bind-try, --ro-bind-try skip a missing source", &["--bind-try", "/nonexistent-src", "/x", "--ro-bind-try", "/nonexistent-2", "/y", "--dev-bind-try", "/nonexistent-3", "/z"],
            "ls / | tr '\\n' ' '"),
        row("--dev-bind keeps devices", &["--dev-bind", "/dev", "/dev"], "head -c 2 /dev/zero | od -An -tx1"),
        row("--bind is nodev", &["--bind", "/dev", "/dev"], "head -c 2 /dev/zero 2>&1; echo $?"),
        row("id (own ids mapped)", &[], "id"),
        row("id with --uid --gid", &["--uid", "1234", "--gid", "4321"], "id; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '"),
        row("capabilities: --cap-drop ALL", &["--cap-drop", "ALL"], "grep ^Cap /proc/self/status"),
        row("capabilities: drop ALL, add two", &["--cap-drop", "ALL", "--cap-add", "CAP_NET_RAW", "--cap-add", "cap_chown"], "grep ^Cap /proc/self/status"),
        row("capabilities: --cap-add for uid 7 (ambient)", &["--uid", "7", "--cap-add", "CAP_KILL"], "id -u; grep ^Cap /proc/self/status"),
        row("capabilities: uid 0 inside, --cap-add", &with(ro, &["--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN"]), "grep ^Cap /proc/self/status"),
        // Under both tools' init the session's leader is PID 1, the init; with --as-pid-1 it
        // is the program.
        row("session: --new-session (the init leads it)", &["--new-session"],
            "s=$(cut -d' ' -f6 /proc/$$/stat); [ \"$s\" = \"$$\" ] && echo leader || echo \"session $s\"; ps -o pid=,sid=,pgid= | head -2 | tr -s ' '"),
        row("session: --new-session --as-pid-1", &["--new-session", "--as-pid-1"],
            "s=$(cut -d' ' -f6 /proc/$$/stat); [ \"$s\" = \"$$\" ] && echo leader || echo \"session $s\""),
        row("session: inherited", &[],
            "s=$(cut -d' ' -f6 /proc/$$/stat); [ \"$s\" = \"$$\" ] && echo leader || echo \"session $s\""),
        row("environment: --clearenv --setenv --unsetenv", &["--clearenv", "--setenv", "A", "1", "--setenv", "B", "two words", "--unsetenv", "A", "--setenv", "C", "3"], "env | sort"),
        row("environment: inherited, --setenv, --unsetenv", &["--setenv", "A", "1", "--unsetenv", "KEEP"], "env | sort"),
        row("environment: --setenv before --clearenv is lost", &["--setenv", "A", "1", "--clearenv", "--setenv", "Z", "26"], "env | sort"),
        row("--chdir", &["--chdir", "/usr/bin"], "pwd"),
        row("working directory kept when it exists", &[], "pwd"),
        row("--hostname in the new UTS namespace", &["--hostname", "box"], "uname -n"),
        row("--unshare-all: only loopback", &[], "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"),
        row("--unshare-all: lo up, 127.0.0.1/8 and ::1", &[],
            "ip -o link show lo | grep -o '<[^>]*>'; ip -o addr show lo | tr -s ' ' | cut -d' ' -f3-6; ip route show table local"),
        row("--share-net: the host's interfaces", &["--share-net"], "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort"),
        row("pid namespace: the program is PID 2 under an init", &[],
            "echo $$; cut -d' ' -f4 /proc/$$/stat; ps -o pid=,ppid=,user= | head -2 | tr -s ' '"),
        row("pid namespace: --as-pid-1, the program is PID 1", &["--as-pid-1"], "echo $$; cut -d' ' -f4 /proc/$$/stat; ls /proc | grep -cx 2"),
        row("exit status: the program's code", &[], "exit 3"),
        row("exit status: killed by a signal, 128+N", &[], "kill -TERM $$; echo survived"),
        row("signals: --as-pid-1 ignores what it does not handle", &["--as-pid-1"], "kill -TERM $$; echo survived"),
        row("orphans are reaped by the init", &[],
            "p=$( (true & echo $!) ); i=0; while [ -d /proc/$p ] && [ $i -lt 200000 ]; do i=$((i+1)); done; [ -d /proc/$p ] && echo \"left: $(cut -d' ' -f3 /proc/$p/stat)\" || echo reaped"),
        row("rlimit NOFILE", &[], "grep 'open files' /proc/$$/limits").wrap(&["prlimit", "--nofile=100:200", "--"]),
        row("rlimit CORE", &[], "grep 'core file' /proc/$$/limits").wrap(&["prlimit", "--core=0:0", "--"]),
        row("rlimit FSIZE", &[], "grep 'file size' /proc/$$/limits").wrap(&["prlimit", "--fsize=1048576:2097152", "--"]),
        row("rlimit STACK", &[], "grep 'stack size' /proc/$$/limits").wrap(&["prlimit", "--stack=4194304:8388608", "--"]),
        row("rlimit NPROC", &[], "grep 'processes' /proc/$$/limits").wrap(&["prlimit", "--nproc=500:600", "--"]),
        row("rlimit MEMLOCK", &[], "grep 'locked memory' /proc/$$/limits").wrap(&["prlimit", "--memlock=65536:65536", "--"]),
        row("rlimit AS (soft only)", &[], "grep 'address space' /proc/$$/limits").wrap(&["prlimit", "--as=1073741824:", "--"]),
        row("--seccomp FD: mkdir fails with ECHRNG", &["--tmpfs", "/tmp", "--seccomp", "3"], "mkdir /tmp/x 2>&1; echo $?; ls /tmp"),
        row("--add-seccomp-fd twice: both filters apply", &["--tmpfs", "/tmp", "--add-seccomp-fd", "3", "--add-seccomp-fd", "4"],
            "mkdir /tmp/x 2>&1; uname -n 2>&1; echo $?"),
        row("no_new_privs under seccomp", &["--seccomp", "3"], "grep NoNewPrivs /proc/self/status"),
        row("caps as real root without a user namespace", &["--cap-drop", "ALL", "--cap-add", "CAP_NET_RAW"], "id -u; grep -E '^Cap(Prm|Eff|Inh|Amb)' /proc/self/status").root_only(),
        // A real root's sandbox in a new user namespace keeps what root holds, not the full
        // set the new namespace hands out (the caller here lacks CAP_SYS_NICE).
        row("caps: a real root's own in --unshare-user", &[], "grep ^Cap /proc/self/status")
            .namespaces(&["--unshare-user"]).wrap_both(&["setpriv", "--bounding-set", "-sys_nice", "--"]).root_only(),
        row("caps: a real root's own in --unshare-all, --uid 5", &["--uid", "5"], "id -u; grep ^Cap /proc/self/status")
            .wrap_both(&["setpriv", "--bounding-set", "-sys_nice", "--"]).root_only(),
        row("--dev, the caller's ids: nested user namespace", &["--dev", "/dev"],
            "id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups | tr -s ' '; ls -l /dev/pts/ptmx | cut -d' ' -f1,3,4; grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status"),
        row("--dev --uid 5 --gid 6: nested user namespace", &["--dev", "/dev", "--uid", "5", "--gid", "6"],
            "id; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; ls -l /dev/pts/ptmx | cut -d' ' -f1,3,4; grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status"),
        row("mount table: --dev, nested user namespace", &["--dev", "/dev", "--tmpfs", "/tmp"], mounts).mounts(),
        row("caps: a real root's own, --dev --uid 5 (nested)", &["--dev", "/dev", "--uid", "5"], "id -u; grep ^Cap /proc/self/status")
            .wrap_both(&["setpriv", "--bounding-set", "-sys_nice", "--"]).root_only(),
        row("setgroups denied in the new user namespace", &[], "cat /proc/self/setgroups /proc/self/uid_map /proc/self/gid_map | tr -s ' '"),
        // Without a pid namespace of its own the program gets the caller's proc, bound (a
        // new proc would need CAP_SYS_ADMIN over the pid namespace's owner).
        row("--proc without a pid namespace: --unshare-user", &[], "grep ' /proc' /proc/self/mountinfo")
            .namespaces(&["--unshare-user"]).mounts(),
        row("--proc without a pid namespace: no --unshare-*", &[], "grep ' /proc' /proc/self/mountinfo")
            .namespaces(&[]).mounts(),
        row("--proc without a pid namespace: the caller's processes", &[], "ls /proc | grep -cx 1; test -d /proc/$$ && echo own")
            .namespaces(&["--unshare-user"]),
    ]
    .into_iter()
    .map(|mut r| {
        r.xclone_only = match r.name {
            // xclone's rlimits are options; bwrap's come from prlimit(1) around it.
            "rlimit NOFILE" => vec!["--rlimit", "NOFILE=100:200"],
            "rlimit CORE" => vec!["--rlimit", "CORE=0:0"],
            "rlimit FSIZE" => vec!["--rlimit", "fsize=1048576:2097152"],
            "rlimit STACK" => vec!["--rlimit", "STACK=4194304:8388608"],
            "rlimit NPROC" => vec!["--rlimit", "NPROC=500:600"],
            "rlimit MEMLOCK" => vec!["--rlimit", "MEMLOCK=65536"],
            "rlimit AS (soft only)" => vec!["--rlimit", "AS=1073741824:"],
            _ => Vec::new(),
        };
        r
    })
    .collect()
}

/// Files the rows use: a read-only tree, a writable one, two data files, two seccomp
/// programs; readable by uid 65534.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        // One directory per fixture: tests of this binary run at the same time.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xclone-vs-bwrap-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (d, mode) in [("", 0o755), ("ro", 0o755), ("rw", 0o777)] {
            let p = dir.join(d);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::write(dir.join("ro/f"), "read-only file\n").unwrap();
        std::fs::write(dir.join("data1"), "first data\n").unwrap();
        std::fs::write(dir.join("data2"), "second, longer data\n").unwrap();
        // The calls that make a directory (mkdir, mkdirat) -> ECHRNG; uname -> EPERM.
        std::fs::write(
            dir.join("mkdir.bpf"),
            bpf_deny(&seccomp::mkdir_calls(), libc::ECHRNG as u32),
        )
        .unwrap();
        std::fs::write(
            dir.join("uname.bpf"),
            bpf_deny(&[seccomp::UNAME], libc::EPERM as u32),
        )
        .unwrap();
        // mount_setattr -> ENOSYS: what a kernel before 5.12 (Debian 11's 5.10) answers.
        std::fs::write(
            dir.join("no-mount-setattr.bpf"),
            bpf_deny(&[libc::SYS_mount_setattr as u32], libc::ENOSYS as u32),
        )
        .unwrap();
        for f in [
            "ro/f",
            "data1",
            "data2",
            "mkdir.bpf",
            "uname.bpf",
            "no-mount-setattr.bpf",
        ] {
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        Fixture { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one tool on a row; (exit code, stdout normalised).
fn run(tool: &[&str], r: &Row, who: Who, fx: &Fixture, bwrap: bool) -> (i32, String) {
    let fds = if r.opts.contains(&"--seccomp") || r.opts.contains(&"--add-seccomp-fd") {
        ("mkdir.bpf", "uname.bpf")
    } else {
        ("data1", "data2")
    };
    let mut argv: Vec<String> = Vec::new();
    if who == Who::Nobody {
        argv.push("setpriv".into());
        argv.extend(SETPRIV_NOBODY.iter().map(|s| s.to_string()));
    }
    // Descriptors 3 and 4 for --file, --bind-data, --seccomp.
    argv.extend(
        [
            "sh",
            "-c",
            "exec 3<\"$1\" 4<\"$2\"; shift 2; exec \"$@\"",
            "sh",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    argv.push(fx.path(fds.0));
    argv.push(fx.path(fds.1));
    if bwrap {
        argv.extend(r.bwrap_wrap.iter().map(|s| s.to_string()));
    }
    argv.extend(r.wrap_both.iter().map(|s| s.to_string()));
    argv.extend(tool.iter().map(|s| s.to_string()));
    let subst = |s: &str| match s {
        "@RO" => fx.path("ro"),
        "@RW" => fx.path("rw"),
        s => s.to_string(),
    };
    argv.extend(base(&r.namespaces).iter().map(|s| s.to_string()));
    argv.extend(r.opts.iter().map(|s| subst(s)));
    let extra = if bwrap { &r.bwrap_only } else { &r.xclone_only };
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.extend(["--", "sh", "-c", r.script].iter().map(|s| s.to_string()));
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir("/usr")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent")
        .env("PWD", "/usr")
        .env("KEEP", "kept")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = match r.norm {
        Norm::Same => stdout,
        Norm::Mounts => normalize_mounts(&stdout),
    };
    let code = out.status.code().unwrap_or(-1);
    if code != 0 && text.is_empty() {
        return (
            code,
            format!("(stderr) {}", String::from_utf8_lossy(&out.stderr)),
        );
    }
    (code, text)
}

/// `target root fstype mount-options` per mountinfo line, in order (ids and devices differ
/// from run to run), for the mounts a program can reach: of mounts stacked on one target
/// only the top one (bwrap leaves a covered mount as it was, xclone makes it read-only too;
/// neither is reachable). The name of a deleted `--bind-data` file is each tool's own.
fn normalize_mounts(s: &str) -> String {
    let rows: Vec<(String, String)> = s
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let fstype = right.split(' ').next()?;
            let root = match *f.get(3)? {
                r if r.ends_with("//deleted") => "(a deleted data file)",
                r => r,
            };
            let target = f.get(4)?.to_string();
            Some((
                target.clone(),
                format!("{target} {root} {fstype} {}\n", f.get(5)?),
            ))
        })
        .collect();
    rows.iter()
        .enumerate()
        .filter(|(i, (t, _))| !rows[i + 1..].iter().any(|(u, _)| u == t))
        .map(|(_, (_, l))| l.as_str())
        .collect()
}

/// `--argv0` is bubblewrap 0.9's; the 0.8 on Debian 12 does not have it.
#[test]
fn argv0_names_the_program() {
    let out = Command::new(XCLONE)
        .args([
            "run",
            "--argv0",
            "myname",
            "--",
            "sh",
            "-c",
            "tr '\\0' ' ' < /proc/$$/cmdline",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "myname -c tr '\\0' ' ' < /proc/$$/cmdline "
    );
}

#[test]
fn bpf_builder_shape() {
    // arch load, arch check, nr load, one comparison per call, errno, allow.
    assert_eq!(bpf_deny(&[1, 2], 5).len(), 8 * 7);
    let p = bpf_deny(&[83], 44);
    // The comparison jumps over the errno return when it does not match.
    assert_eq!((p[8 * 3 + 2], p[8 * 3 + 3]), (0, 1));
    let p2 = bpf_deny(&[83, 258], 44);
    assert_eq!((p2[8 * 3 + 2], p2[8 * 3 + 3]), (1, 0));
    assert_eq!((p2[8 * 4 + 2], p2[8 * 4 + 3]), (0, 1));
}

/// Runs each row as root and (unless root-only) as uid 65534, with `xclone` (the command that
/// takes the row's options) and with bwrap: the number of comparisons, a markdown table of
/// them, and what differed.
fn compare_with_bwrap(
    rows: Vec<Row>,
    xclone: &[&str],
    fx: &Fixture,
) -> (usize, String, Vec<String>) {
    let mut table = String::from("| row | user | xclone = bwrap |\n|---|---|---|\n");
    let mut failures = Vec::new();
    let mut n = 0;
    for r in rows {
        for who in [Who::Root, Who::Nobody] {
            if who == Who::Nobody && r.root_only {
                continue;
            }
            let x = run(xclone, &r, who, fx, false);
            let b = run(&["bwrap"], &r, who, fx, true);
            n += 1;
            let same = x == b;
            table.push_str(&format!(
                "| {} | {who:?} | {} |\n",
                r.name,
                if same { "yes" } else { "NO" }
            ));
            if !same {
                failures.push(format!(
                    "{} as {who:?}:\n  xclone ({}): {:?}\n  bwrap  ({}): {:?}",
                    r.name, x.0, x.1, b.0, b.1
                ));
            }
        }
    }
    (n, table, failures)
}

#[test]
fn same_as_bwrap() {
    if !is_root() {
        eprintln!("skipped: needs root (to run each row as root and as uid 65534)");
        return;
    }
    if !have_bwrap() || !have_setpriv() {
        eprintln!("skipped: bwrap (bubblewrap) or setpriv (util-linux) not found");
        return;
    }
    let fx = Fixture::new();
    let (n, table, failures) = compare_with_bwrap(rows(), &[XCLONE, "run"], &fx);
    eprintln!("{table}");
    assert!(n >= 40, "only {n} rows");
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Kernels before 5.12 have no `mount_setattr`: read-only binds are then remounts, which
/// must keep each mount's other flags (nosuid, nodev, noexec) and reach the mounts below a
/// `--ro-bind` of a tree, as bwrap's do. Found on Debian 11's 5.10 by the kernel matrix
/// (the fallback remounted only the top mount, without its flags); here the inner xclone runs
/// under a seccomp filter answering `mount_setattr` with `ENOSYS` (installed by an outer
/// `xclone run --seccomp`), and every mount-table row must still equal bwrap's.
#[test]
fn mount_tables_without_mount_setattr_as_bwrap() {
    if !is_root() {
        eprintln!("skipped: needs root (to run each row as root and as uid 65534)");
        return;
    }
    if !have_bwrap() || !have_setpriv() {
        eprintln!("skipped: bwrap (bubblewrap) or setpriv (util-linux) not found");
        return;
    }
    let fx = Fixture::new();
    let filter = fx.path("no-mount-setattr.bpf");
    let wrapped = [
        "sh",
        "-c",
        "exec 5<\"$1\"; shift; exec \"$@\"",
        "sh",
        filter.as_str(),
        XCLONE,
        "run",
        "--seccomp",
        "5",
        "--",
        XCLONE,
        "run",
    ];
    let mounts = rows()
        .into_iter()
        .filter(|r| matches!(r.norm, Norm::Mounts))
        .collect();
    let (n, _, failures) = compare_with_bwrap(mounts, &wrapped, &fx);
    assert!(n >= 10, "only {n} rows");
    assert!(
        failures.is_empty(),
        "{} of {n} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `--unshare-net` alone (no `--unshare-all`): bwrap brings the new namespace's `lo` up, so
/// must xclone — as root without a user namespace, and as uid 65534 with one (bwrap adds it
/// by itself when it is not setuid, and so does xclone for bwrap's spellings; asked with
/// `--unshare-user` or not). And where the
/// child lacks `CAP_NET_ADMIN` (root with it dropped from the bounding set) both fail, each
/// naming the step.
#[test]
fn unshare_net_brings_loopback_up() {
    if !is_root() || !have_setpriv() || !have_bwrap() {
        eprintln!("skipped: needs root, setpriv and bwrap");
        return;
    }
    let script =
        "ip -o link show lo | grep -o '<[^>]*>'; ip -o addr show lo | awk '{print $3, $4}'";
    // `pre` (a setpriv invocation or nothing), the tool, its options, the script.
    let go = |pre: &[&str], tool: &[&str], opts: &[&str]| {
        let argv: Vec<&str> = pre.iter().chain(tool).chain(opts).copied().collect();
        Command::new(argv[0])
            .args(&argv[1..])
            .args(["--", "sh", "-c", script])
            .current_dir("/")
            .output()
            .unwrap()
    };
    let nobody: Vec<&str> = std::iter::once("setpriv")
        .chain(SETPRIV_NOBODY.iter().copied())
        .collect();
    for (who, pre, opts) in [
        ("root", &[][..], &["--unshare-net"][..]),
        (
            "nobody",
            &nobody[..],
            &["--unshare-user", "--unshare-net"][..],
        ),
        (
            "nobody, implied user namespace",
            &nobody[..],
            &["--unshare-net"][..],
        ),
    ] {
        let x = go(pre, &[XCLONE, "run"], opts);
        let b = go(pre, &["bwrap", "--dev-bind", "/", "/"], opts);
        assert!(
            x.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&x.stderr)
        );
        assert!(
            b.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&b.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&x.stdout),
            String::from_utf8_lossy(&b.stdout),
            "{who}"
        );
        assert_eq!(
            String::from_utf8_lossy(&x.stdout),
            "<LOOPBACK,UP,LOWER_UP>\ninet 127.0.0.1/8\ninet6 ::1/128\n",
            "{who}"
        );
    }
    let no_net_admin = ["setpriv", "--bounding-set", "-net_admin"];
    let x = go(&no_net_admin, &[XCLONE, "run"], &["--unshare-net"]);
    let b = go(
        &no_net_admin,
        &["bwrap", "--dev-bind", "/", "/"],
        &["--unshare-net"],
    );
    assert!(!b.status.success() && x.status.code() == Some(125));
    assert!(x.stdout.is_empty() && b.stdout.is_empty());
    let err = String::from_utf8_lossy(&x.stderr);
    assert!(
        err.contains("loopback ioctl SIOCSIFFLAGS lo IFF_UP: EPERM")
            && err.contains("CAP_NET_ADMIN"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&b.stderr).contains("loopback"));
}

/// The issue's command, as uid 65534. On Debian 12 the dynamic loader is reached through
/// /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/…, an absolute link into /lib:
/// without `--symlink usr/lib /lib` neither bwrap nor xclone can start a dynamic program
/// (execve's ENOENT is the missing interpreter). With it, both run.
#[test]
fn the_issue_sandbox_as_nobody() {
    if !is_root() || !have_setpriv() || !have_bwrap() {
        eprintln!("skipped: needs root, setpriv and bwrap");
        return;
    }
    let opts = |lib: bool| {
        let mut v = vec![
            "--unshare-all",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--symlink",
            "usr/bin",
            "/bin",
        ];
        if lib {
            v.extend(["--symlink", "usr/lib", "/lib"]);
        }
        v.extend([
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "--new-session",
            "--",
            "sh",
            "-c",
            "id -u; echo ok > /tmp/f && cat /tmp/f; ls /dev | wc -l",
        ]);
        v
    };
    let go = |tool: &[&str], lib: bool| {
        Command::new("setpriv")
            .args(SETPRIV_NOBODY)
            .args(tool)
            .args(opts(lib))
            .current_dir("/")
            .output()
            .unwrap()
    };
    let x = go(&[XCLONE, "run", "-Ur"], true);
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    assert!(String::from_utf8_lossy(&x.stdout).starts_with("0\nok\n"));
    let b = go(&["bwrap", "--uid", "0", "--gid", "0"], true);
    assert_eq!(x.stdout, b.stdout);
    // The command exactly as the issue writes it: both fail to start sh the same way.
    let x = go(&[XCLONE, "run", "-Ur"], false);
    assert_eq!(x.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&x.stderr).contains("ENOENT"));
    let b = go(&["bwrap", "--uid", "0", "--gid", "0"], false);
    assert!(!b.status.success());
    assert!(String::from_utf8_lossy(&b.stderr).contains("No such file or directory"));
}

/// bwrap not installed setuid and run by anyone but root works in a user namespace of its
/// own, as if `--unshare-user` were given: `--unshare-net`, `--unshare-ipc`, `--unshare-pid`
/// alone work as uid 65534. xclone does the same for bwrap's spellings — the program sees
/// the same ids, uid_map, gid_map, setgroups, capabilities (bounding set included) and a
/// user namespace other than ours; as root neither adds one. Unshare's `-n` is left as
/// util-linux has it: no user namespace, so as uid 65534 clone3 refuses with EPERM.
#[test]
fn bwrap_spellings_bring_a_user_namespace_unless_root() {
    if !is_root() || !have_setpriv() || !have_bwrap() {
        eprintln!("skipped: needs root, setpriv and bwrap");
        return;
    }
    // Ours, to tell which namespaces the program shares with the test.
    let ours: Vec<String> = ["user", "ipc", "net", "pid"]
        .iter()
        .map(|n| {
            let l = std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
            l.to_string_lossy().into_owned()
        })
        .collect();
    let script = "id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups | tr -s ' '; \
                  grep ^Cap /proc/self/status; \
                  for n in user ipc net pid; do \
                    [ \"$(readlink /proc/self/ns/$n)\" = \"$1\" ] && echo \"$n ours\" || echo \"$n new\"; shift; \
                  done; \
                  ip -o link show lo | grep -o '<[^>]*>'";
    let go = |nobody: bool, tool: &[&str], opts: &[&str]| {
        let mut argv: Vec<&str> = Vec::new();
        if nobody {
            argv.push("setpriv");
            argv.extend(SETPRIV_NOBODY);
        }
        argv.extend(tool);
        argv.extend(opts);
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .args(["--", "sh", "-c", script, "sh"])
            .args(&ours)
            .current_dir("/")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Both get the host's tree (bwrap has none by default); --proc covers /proc.
    let cases: [&[&str]; 3] = [
        &["--unshare-net"],
        &["--unshare-ipc"],
        &["--unshare-pid", "--proc", "/proc"],
    ];
    for nobody in [false, true] {
        for opts in cases {
            let opts: Vec<&str> = ["--dev-bind", "/", "/"]
                .iter()
                .chain(opts)
                .copied()
                .collect();
            let x = go(nobody, &[XCLONE, "run"], &opts);
            let b = go(nobody, &["bwrap"], &opts);
            let who = if nobody { "uid 65534" } else { "root" };
            assert_eq!(x.0, Some(0), "{who} {opts:?}: {}", x.2);
            assert_eq!((x.0, &x.1), (b.0, &b.1), "{who} {opts:?}");
            let userns = if nobody { "user new" } else { "user ours" };
            assert!(
                x.1.contains(&format!("\n{userns}\n")),
                "{who} {opts:?}: {}",
                x.1
            );
            let ns = &opts[3..];
            let asked = if ns[0] == "--unshare-net" {
                "net new"
            } else if ns[0] == "--unshare-ipc" {
                "ipc new"
            } else {
                "pid new"
            };
            assert!(
                x.1.contains(&format!("\n{asked}\n")),
                "{who} {opts:?}: {}",
                x.1
            );
            if nobody {
                assert!(
                    x.1.starts_with(
                        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n \
                     65534 65534 1\n 65534 65534 1\ndeny\n"
                    ),
                    "{opts:?}: {}",
                    x.1
                );
                assert!(
                    x.1.contains("CapBnd:\t0000000000000000\n"),
                    "{opts:?}: {}",
                    x.1
                );
            }
        }
    }
    // Unshare's spelling is unshare's: no user namespace, refused as uid 65534 (as
    // util-linux unshare -n is).
    let x = go(true, &[XCLONE, "run", "-n"], &[]);
    assert_eq!(x.0, Some(125), "{}", x.1);
    assert!(x.2.contains("EPERM"), "{}", x.2);
    let u = go(true, &["unshare", "-n"], &[]);
    assert_ne!(u.0, Some(0), "{}", u.1);
}
