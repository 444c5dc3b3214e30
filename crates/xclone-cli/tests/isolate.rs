//! `xclone run` with isolation options, end to end, observed from inside the program.

use std::io::{BufRead, BufReader, Read};
use std::process::Command as StdCommand;
use std::time::Duration;
use xclone::{Command, Stdio};
use xclone_testsupport::{
    cli_output, free_pid, have_setpriv, need_root, own_ns, pipe, probe_program, stderr_line,
    uptime, SETPRIV_NOBODY,
};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

fn run(args: &[&str]) -> std::process::Output {
    cli_output(XCLONE, "run", args)
}

/// Runs `xclone run ARGS`, asserting success; its stdout.
fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "xclone run {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// `setpriv` (util-linux) as uid/gid 65534 without groups, running xclone.
fn as_nobody(args: &[&str]) -> std::process::Output {
    StdCommand::new("setpriv")
        .args(SETPRIV_NOBODY)
        .arg(XCLONE)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn urpm_mount_proc_ps_shows_only_ps_as_pid_1() {
    need_root!();
    let out = run_ok(&["-Urpm", "--mount-proc", "--", "ps", "-e"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(words(lines[0]), ["PID", "TTY", "TIME", "CMD"]);
    assert_eq!(words(lines[1])[0], "1");
    assert_eq!(*words(lines[1]).last().unwrap(), "ps");
}

#[test]
fn every_namespace_is_new_inside() {
    need_root!();
    let names = ["user", "mnt", "uts", "ipc", "net", "pid", "cgroup", "time"];
    let script = names
        .iter()
        .map(|n| format!("readlink /proc/self/ns/{n}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = run_ok(&["-UmuinpCT", "-r", "--", "sh", "-c", &script]);
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), names.len(), "{out}");
    for (n, link) in names.iter().zip(inside) {
        assert_ne!(link, own_ns(n), "{n}");
    }
}

#[test]
fn map_root_user_and_maps_from_inside() {
    need_root!();
    let out = run_ok(&[
        "-r",
        "--",
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map /proc/self/setgroups",
    ]);
    assert_eq!(words(&out), ["0", "0", "0", "0", "1", "deny"]);
    let out = run_ok(&[
        "--map-user",
        "0",
        "--map-users",
        "1:100000:65536",
        "--map-groups",
        "0:200000:10",
        "--setgroups",
        "allow",
        "--",
        "cat",
        "/proc/self/uid_map",
        "/proc/self/gid_map",
        "/proc/self/setgroups",
    ]);
    assert_eq!(
        words(&out),
        ["0", "0", "1", "1", "100000", "65536", "0", "200000", "10", "allow"]
    );
}

#[test]
fn hostname_needs_uts() {
    need_root!();
    assert_eq!(
        run_ok(&["-u", "--hostname", "xbox", "--", "hostname"]),
        "xbox\n"
    );
    let out = run(&["--hostname", "xbox", "--", "hostname"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_line(&out),
        "xclone: --hostname needs a new UTS namespace (-u), or it would rename this host"
    );
}

#[test]
fn option_rules_fail_with_one_line() {
    for (args, line) in [
        (
            &["--monotonic", "1", "true"][..],
            "xclone: --monotonic and --boottime need a new time namespace (-T)",
        ),
        (
            &["--propagation", "shared", "true"][..],
            "xclone: --propagation needs a new mount namespace (-m)",
        ),
        (
            &["--pivot-root", "true"][..],
            "xclone: --pivot-root needs --root DIR",
        ),
        (
            &["--init", "true"][..],
            "xclone: --init needs a new pid namespace (-p): it is there to be its PID 1",
        ),
        (
            &["--setgroups", "deny", "true"][..],
            "xclone: --setgroups needs a new user namespace (-U)",
        ),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert_eq!(stderr_line(&out), line, "{args:?}");
    }
    let out = run(&["--into-cgroup", "/tmp", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_line(&out).starts_with("xclone: open cgroup /tmp: not a cgroup2 directory"),
        "{}",
        stderr_line(&out)
    );
    // A kernel-level refusal goes through the validator.
    let out = run(&["-p", "--set-tid", "5", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr_line(&out).starts_with("xclone: clone3 failed with EINVAL"));
}

#[test]
fn time_offsets_shift_uptime() {
    need_root!();
    let before = uptime();
    let out = run_ok(&["-T", "--boottime", "86400.5", "--", "cat", "/proc/uptime"]);
    let after = uptime();
    let inside: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    // /proc/uptime has two decimals.
    assert!(
        inside - 86400.5 >= before - 0.011 && inside - 86400.5 <= after + 0.011,
        "{inside} - 86400.5 not within [{before}, {after}]"
    );
}

/// Both clocks on every kernel: on 5.10 and 6.1 (before 6.2) xclone creates and enters the
/// time namespace itself, from 6.2 the child writes its offsets (issue 18).
#[test]
fn monotonic_offset_on_every_kernel() {
    need_root!();
    let out = run_ok(&["-T", "--monotonic", "100", "--", "cat", "/proc/uptime"]);
    assert!(
        out.split_whitespace()
            .next()
            .unwrap()
            .parse::<f64>()
            .is_ok(),
        "{out}"
    );
    let dry = run_ok(&["--dry-run", "-T", "--monotonic", "100", "--", "true"]);
    assert!(dry.contains("monotonic 100 0"), "{dry}");
    assert!(!dry.contains("refused"), "{dry}");
}

/// The init is executed through a descriptor (execveat, or /proc/self/fd/N where a kernel's
/// execveat answers ENOENT for the empty path, as 5.10.223 does); ps shows it by name, not
/// as the descriptor's number (issue 18).
#[test]
fn init_is_named() {
    need_root!();
    let out = run_ok(&["-p", "--mount-proc", "--init", "--", "cat", "/proc/1/comm"]);
    assert_eq!(out.trim(), "xclone", "{out}");
    let out = run_ok(&[
        "-p",
        "--mount-proc",
        "--init",
        "--",
        "ps",
        "-o",
        "comm=",
        "-p",
        "1",
    ]);
    assert_eq!(out.trim(), "xclone", "{out}");
}

#[test]
fn set_tid_echo_pid() {
    need_root!();
    let want = free_pid(std::process::id() as i32 + 5000);
    let out = run_ok(&["--set-tid", &want.to_string(), "--", "sh", "-c", "echo $$"]);
    assert_eq!(out, format!("{want}\n"));
    let want = free_pid(std::process::id() as i32 + 11000);
    let out = run_ok(&[
        "-p",
        "--set-tid",
        &format!("1,{want}"),
        "--",
        "sh",
        "-c",
        "echo $$",
    ]);
    assert_eq!(out, "1\n");
}

/// A new pid namespace inside a pid namespace: the PID is right at all three levels.
#[test]
fn nested_pid_namespaces_with_chosen_pids() {
    need_root!();
    let a = free_pid(std::process::id() as i32 + 13000);
    let b = 4321;
    let c = free_pid(a + 1);
    let (r, w) = pipe();
    let script = "echo $$; while read -r k x y z; do [ \"$k\" = NSpid: ] && echo $x $y $z; done < /proc/self/status; true";
    let out = Command::new(XCLONE)
        .args(["run", "--json-status-fd", "3", "-p", "--set-tid"])
        .arg(format!("1,{a}"))
        .args(["--", XCLONE, "run", "-p", "--set-tid"])
        .arg(format!("1,{b},{c}"))
        .args(["--", "sh", "-c", script])
        .fd_map(w, 3)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Innermost: PID 1; its NSpid from the root namespace inwards: c, b, 1.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("1\n{c} {b} 1\n")
    );
    // The outer xclone's child (the inner xclone) got PID a outside and 1 inside.
    let mut s = String::new();
    std::fs::File::from(r).read_to_string(&mut s).unwrap();
    let first: serde_json::Value = serde_json::from_str(s.lines().next().unwrap()).unwrap();
    assert_eq!(first["child-pid"], a);
    assert_eq!(first["ns-pids"], serde_json::json!([a, 1]));
}

#[test]
fn unprivileged_user_namespace_first() {
    need_root!(); // to become nobody
    if !have_setpriv() {
        eprintln!("skipped: setpriv (util-linux) not found");
        return;
    }
    if xclone::isolate::vm_child_enters_time_ns_at_exec() == Some(false) {
        eprintln!(
            "skipped: Linux {} gives an unprivileged `run -U -T --monotonic` no way to set \
             offsets (a CLONE_VM child enters its time namespace at creation until 6.2)",
            rustix::system::uname().release().to_string_lossy()
        );
        return;
    }
    let out = as_nobody(&[
        "run",
        "-UmuinpCT",
        "-r",
        "--mount-proc",
        "--hostname",
        "nobodys-box",
        "--monotonic",
        "100",
        "--set-tid",
        "1",
        "--",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; hostname; echo $$; ps -e -o pid=,comm= | wc -l",
    ]);
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        words(&String::from_utf8(out.stdout).unwrap()),
        [
            "0",
            "0",
            "65534",
            "1",
            "0",
            "65534",
            "1",
            "deny",
            "nobodys-box",
            "1",
            // sh, ps and wc
            "3"
        ]
    );
    // Without a user namespace the kernel says no, explained.
    let out = as_nobody(&["run", "-u", "--hostname", "x", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let line = stderr_line(&out);
    assert!(
        line.starts_with("xclone: clone3 failed with EPERM"),
        "{line}"
    );
}

/// Multi-range maps for an unprivileged user through newuidmap/newgidmap, with
/// /etc/subuid and /etc/subgid replaced inside a private mount namespace for the test.
#[test]
fn unprivileged_ranges_through_newuidmap() {
    need_root!();
    let helpers = ["newuidmap", "newgidmap", "setpriv"].iter().all(|h| {
        StdCommand::new("sh")
            .args(["-c", &format!("command -v {h}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !helpers {
        eprintln!("skipped: newuidmap/newgidmap (package uidmap) or setpriv missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("xclone-subid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("granted"), "nobody:200000:1000\n").unwrap();
    std::fs::write(dir.join("none"), "").unwrap();
    // A newuidmap that fails, first on PATH: the waiting child is killed, the error says why.
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let fake = dir.join("bin").join("newuidmap");
    StdCommand::new("sh")
        .args(["-c", r#"printf '%s\n' '#!/bin/sh' 'echo "newuidmap: no way" >&2' 'exit 1' > "$1" && chmod 755 "$1""#, "sh"])
        .arg(&fake)
        .status()
        .unwrap();
    let inner = |file: &str, path: &str| {
        format!(
            "mount --bind {d}/{file} /etc/subuid && mount --bind {d}/{file} /etc/subgid && \
             PATH={path} exec setpriv {nobody} {x} run --map-users 0:65534:1 --map-users 1:200000:1000 \
             --map-groups 0:65534:1 --map-groups 1:200000:1000 -- cat /proc/self/uid_map /proc/self/gid_map",
            d = dir.display(),
            nobody = SETPRIV_NOBODY.join(" "),
            x = XCLONE
        )
    };
    let path = std::env::var("PATH").unwrap();
    let fake_first = format!("{}:{path}", dir.join("bin").display());
    let out = run(&["-m", "--", "sh", "-c", &inner("granted", &path)]);
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        words(&String::from_utf8(out.stdout).unwrap()),
        ["0", "65534", "1", "1", "200000", "1000", "0", "65534", "1", "1", "200000", "1000"]
    );
    let out = run(&["-m", "--", "sh", "-c", &inner("granted", &fake_first)]);
    assert_eq!(out.status.code(), Some(125));
    let line = stderr_line(&out);
    assert!(
        line.contains("the helper failed (exit status: 1): newuidmap: no way"),
        "{line}"
    );
    let out = run(&["-m", "--", "sh", "-c", &inner("none", &path)]);
    assert_eq!(out.status.code(), Some(125));
    let line = stderr_line(&out);
    assert!(
        line.contains(
            "newuidmap would refuse: /etc/subuid gives nobody (uid 65534) no subordinate uids covering 200000-200999"
        ),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pid_1_ignores_unhandled_signals_unless_init() {
    need_root!();
    let script = "kill -TERM $$; echo survived";
    // Without --init the shell is PID 1: its own SIGTERM (no handler) is dropped.
    let out = run(&["-p", "--", "sh", "-c", script]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"survived\n");
    // With --init the shell is PID 2 and dies of it; init exits 128+15.
    let out = run(&["-p", "--init", "--", "sh", "-c", script]);
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM));
    assert_eq!(out.stdout, b"");
}

#[test]
fn init_forwards_signals_sent_to_xclone() {
    need_root!();
    let (r, w) = pipe();
    let mut xc = Command::new(XCLONE)
        .args([
            "run",
            "-p",
            "--init",
            "--fd-map",
            "7:7",
            "--",
            "sh",
            "-c",
            "echo ready >&7; exec sleep 1000",
        ])
        .fd_map(w, 7)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(std::fs::File::from(r)).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    xc.signal(libc::SIGTERM).unwrap();
    let st = xc
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .unwrap_or_else(|| {
            let _ = xc.kill();
            panic!("SIGTERM did not reach the program through the init")
        });
    assert_eq!(st.code(), Some(128 + libc::SIGTERM));
}

#[test]
fn init_reaps_orphans() {
    need_root!();
    // A background process whose parent (a subshell) is gone becomes the init's; once it has
    // exited, the init must reap it. The program waits until no zombie is left.
    let script = "(true &); while ps -e -o stat= | grep -q Z; do :; done; \
                  ps -e -o pid=,comm=";
    let mut xc = Command::new(XCLONE)
        .args([
            "run",
            "-pm",
            "--mount-proc",
            "--init",
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = xc
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .unwrap_or_else(|| {
            let _ = xc.kill();
            panic!("a zombie was never reaped")
        });
    assert!(st.success(), "{st:?}");
    let mut out = String::new();
    xc.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    // PID 1 is the init (xclone), the program is PID 2.
    let procs: Vec<Vec<&str>> = out.lines().map(words).collect();
    assert_eq!(procs[0], ["1", "xclone"], "{out}");
    assert_eq!(procs[1], ["2", "sh"], "{out}");
}

#[test]
fn no_new_privs_one_way_or_another() {
    let out = run_ok(&["--no-new-privs", "--", "cat", "/proc/self/status"]);
    assert!(
        out.lines().any(|l| words(l) == ["NoNewPrivs:", "1"]),
        "{out}"
    );
    let out = run_ok(&["--dry-run", "--no-new-privs", "true"]);
    if !xclone::probe::Features::probe().clone3_accepts(xclone::CloneFlags::NNP) {
        assert!(out.contains("prctl(PR_SET_NO_NEW_PRIVS)"), "{out}");
        assert!(out.contains("needs 7.1"), "{out}");
    }
}

#[test]
fn newest_flags_refused_where_missing() {
    for (opt, flag) in [
        ("--autoreap", xclone::CloneFlags::AUTOREAP),
        ("--pidfd-autokill", xclone::CloneFlags::PIDFD_AUTOKILL),
        ("--empty-mount-ns", xclone::CloneFlags::EMPTY_MNTNS),
    ] {
        if xclone::probe::Features::probe().clone3_accepts(flag) {
            eprintln!("skipped {opt}: this kernel has {}", flag.to_names_string());
            continue;
        }
        let out = run(&[opt, "true"]);
        assert_eq!(out.status.code(), Some(125));
        assert_eq!(
            stderr_line(&out),
            format!(
                "xclone: {opt}: {} is not supported by this kernel (needs 7.1)",
                flag.to_names_string()
            )
        );
    }
}

#[test]
fn into_cgroup_from_birth() {
    need_root!();
    let Ok(cg) =
        xclone::isolate::Cgroup::create_at_root(&format!("xclone-cli-test-{}", std::process::id()))
    else {
        eprintln!("skipped: cannot create a test cgroup");
        return;
    };
    let root = xclone::isolate::cgroup2_mount().unwrap();
    let want = format!("0::/{}", cg.path().strip_prefix(root).unwrap().display());
    let probe = probe_program();
    let out = match probe {
        Some(p) => run_ok(&[
            "--into-cgroup",
            cg.path().to_str().unwrap(),
            "--",
            p.to_str().unwrap(),
            "cgroup",
        ]),
        None => run_ok(&[
            "--into-cgroup",
            cg.path().to_str().unwrap(),
            "--",
            "cat",
            "/proc/self/cgroup",
        ]),
    };
    assert!(out.lines().any(|l| l == want), "{want} not in\n{out}");
    // Without write access to its cgroup.procs: refused before the clone, explained.
    if have_setpriv() {
        let out = as_nobody(&[
            "run",
            "--into-cgroup",
            cg.path().to_str().unwrap(),
            "--",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125));
        let line = stderr_line(&out);
        assert!(
            line.starts_with("xclone: clone3 failed with EACCES") && line.contains("cgroup.procs"),
            "{line}"
        );
    }
    cg.remove().unwrap();
}

#[test]
fn propagation_seen_from_an_outer_mount_namespace() {
    need_root!();
    for (p, reaches) in [
        ("private", "0"),
        ("slave", "0"),
        ("shared", "1"),
        ("unchanged", "1"),
    ] {
        let dir = std::env::temp_dir().join(format!("xclone-cli-prop-{p}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let script = format!(
            "mount --make-rshared / && {XCLONE} run -m --propagation {p} -- mount -t tmpfs xclone-prop {d} \
             && grep -c ' {d} ' /proc/self/mountinfo; true"
        );
        let out = run_ok(&[
            "-m",
            "--propagation",
            "unchanged",
            "--",
            "sh",
            "-c",
            &script,
        ]);
        assert_eq!(out.trim(), reaches, "--propagation {p}");
        std::fs::remove_dir(&dir).unwrap();
    }
}

#[test]
fn new_root_with_pivot_root_and_proc() {
    need_root!();
    let Some(probe) = probe_program() else {
        eprintln!("skipped: cannot build the static probe program (gcc -static)");
        return;
    };
    let root = std::env::temp_dir().join(format!("xclone-cli-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::hard_link(probe, root.join("probe")).unwrap();
    std::fs::write(root.join("xclone-marker"), "").unwrap();
    let r = root.to_str().unwrap();
    assert_eq!(run_ok(&["--root", r, "--", "/probe", "root"]), "/ marker\n");
    assert_eq!(
        run_ok(&["--root", r, "--pivot-root", "--", "/probe", "root"]),
        "/ marker\n"
    );
    // proc is mounted inside the new root.
    let out = run_ok(&[
        "-p",
        "--root",
        r,
        "--pivot-root",
        "--mount-proc",
        "--",
        "/probe",
        "cgroup",
    ]);
    assert!(out.contains("0::/"), "{out}");
    // --init finds xclone through a descriptor; the (static, see .cargo/config.toml) xclone
    // then runs inside a root without libraries. A dynamically linked one would also need
    // its loader and libraries under the new root: said so.
    let out = run(&[
        "-p",
        "--root",
        r,
        "--mount-proc",
        "--init",
        "--",
        "/probe",
        "cgroup",
    ]);
    let dynamic = has_elf_interpreter(std::path::Path::new(env!("CARGO_BIN_EXE_xclone")));
    if !dynamic {
        assert!(out.status.success(), "{}", stderr_line(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("0::/"));
    } else {
        assert_eq!(out.status.code(), Some(127));
        let line = stderr_line(&out);
        assert!(
            line.starts_with("xclone: execve xclone (from a descriptor): ENOENT")
                && line.contains("ELF loader"),
            "{line}"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn dry_run_lists_the_isolation_steps() {
    let out = run_ok(&[
        "--dry-run",
        "-Urpu",
        "--hostname",
        "box",
        "-T",
        "--monotonic",
        "-0.25",
        "--mount-proc",
        "--init",
        "--",
        "true",
    ]);
    // Where the offsets are written is the kernel's answer (before 6.2 xclone writes them
    // itself: a CLONE_VM child is in its new time namespace at once), and the dry run says so.
    let by_xclone = xclone::isolate::vm_child_enters_time_ns_at_exec() == Some(false);
    let flags = out
        .lines()
        .find(|l| l.trim_start().starts_with("flags"))
        .unwrap();
    let time_step = if by_xclone {
        assert!(!flags.contains("CLONE_NEWTIME"), "{out}");
        "xclone, before the clone: unshare(CLONE_NEWTIME), write 'monotonic -1 750000000' to \
         /proc/self/timens_offsets, setns(/proc/self/ns/time_for_children)"
    } else {
        assert!(flags.contains("CLONE_NEWTIME"), "{out}");
        "child: write 'monotonic -1 750000000' to /proc/self/timens_offsets"
    };
    for want in [
        "handshake spawn: CLONE_VM without CLONE_VFORK",
        "parent: write '0 ",
        time_step,
        "child: make every mount private",
        "child: mount proc on /proc",
        "child: sethostname box",
        "exec: xclone __init",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    assert!(!out.contains("CLONE_VFORK|"), "{out}");
}

/// Whether an ELF64 executable names a program interpreter (PT_INTERP): dynamically linked.
fn has_elf_interpreter(exe: &std::path::Path) -> bool {
    let b = std::fs::read(exe).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let o = phoff + i * size;
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 3
    })
}
