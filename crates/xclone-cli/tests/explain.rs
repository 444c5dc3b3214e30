//! `xclone explain` end to end: the built binary, its exit codes, its words and its JSON.

use std::process::{Command, Output};

fn xclone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xclone"))
        .args(args)
        .output()
        .expect("run xclone")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether clone3 exists here (the verdicts below assume a kernel that has it).
fn clone3_present() -> bool {
    let o = xclone(&["explain", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["rule"] != "clone3-missing")
}

/// Whether the caller may create namespaces; without that the kernel's EPERM comes first.
fn may_create_namespaces() -> bool {
    xclone::caller::Caller::current()
        .unwrap()
        .has_cap(xclone::caller::CAP_SYS_ADMIN)
}

#[test]
fn new_pid_namespace_needs_pid_1_first() {
    let o = xclone(&["explain", "-p", "--set-tid", "5"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    if may_create_namespaces() {
        assert!(out.contains("clone3 would fail with EINVAL"), "{out}");
    } else {
        // copy_namespaces() refuses before alloc_pid() looks at set_tid.
        assert!(out.contains("clone3 would fail with EPERM"), "{out}");
        assert!(
            out.contains("creating CLONE_NEWPID needs CAP_SYS_ADMIN"),
            "{out}"
        );
    }
    assert!(
        out.contains(
            "set_tid[0] = 5, but the new pid namespace has no init yet, so its first PID must be 1"
        ),
        "{out}"
    );
    assert!(out.contains("<- clone3 returns this"), "{out}");
    assert!(out.contains("fix: pass 1 as set_tid[0]"), "{out}");
}

#[test]
fn thread_reports_missing_sighand_and_vm() {
    let o = xclone(&["explain", "--flags", "CLONE_THREAD"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    let first = out.find("CLONE_THREAD without CLONE_SIGHAND").expect(&out);
    let second = out.find("without CLONE_VM").expect(&out);
    assert!(first < second, "{out}");
    assert!(out.contains("first of 2 problems"), "{out}");
    // An explicit exit signal with CLONE_THREAD is what clone3 checks first.
    let o = xclone(&["explain", "--flags", "0x10000", "--exit-signal", "SIGCHLD"]);
    let out = stdout(&o);
    assert!(
        out.contains("exit_signal is 17, but clone3 needs exit_signal 0"),
        "{out}"
    );
}

#[test]
fn accepted_request_exits_0() {
    if !clone3_present() {
        eprintln!("skipped: no clone3 on this kernel");
        return;
    }
    let o = xclone(&["explain"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o)
            .lines()
            .next()
            .unwrap_or_default()
            .split(" (")
            .next(),
        Some("ok: the kernel would accept this request")
    );
    assert!(stdout(&o).contains("64-byte clone_args"));
    let o = xclone(&[
        "explain",
        "--flags",
        "CLONE_VM|CLONE_VFORK",
        "--exit-signal",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn unusable_options_exit_125() {
    for args in [
        &["explain", "--no-such-option"][..],
        &["explain", "--flags", "CLONE_NOPE"],
        &["explain", "--set-tid", "-5"],
        &["explain", "--set-tid", "4294967296"],
        &["explain", "--exit-signal", "SIGNOPE"],
        &["explain", "--kernel", "x"],
    ] {
        let o = xclone(args);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?}: one line on stderr");
    }
    // --help is not a failure, and shows examples.
    let o = xclone(&["explain", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Examples:"));
    assert!(stdout(&o).contains("xclone explain -p --set-tid 5"));
}

#[test]
fn raw_values_are_judged_not_refused() {
    // Any u32 set_tid entry, any count, any exit signal: the validator judges them.
    let o = xclone(&["explain", "--set-tid", "4294967295"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("set_tid[0] = -1 is not a PID"),
        "{}",
        stdout(&o)
    );
    let many = vec!["1"; 33].join(",");
    let o = xclone(&["explain", "--set-tid", &many]);
    assert!(
        stdout(&o).contains("33 entries, more than MAX_PID_NS_LEVEL (32)"),
        "{}",
        stdout(&o)
    );
    let o = xclone(&["explain", "--exit-signal", "0x100000011"]);
    assert!(
        stdout(&o).contains("exit_signal is 0x100000011"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn json_verdicts_parse() {
    let o = xclone(&["explain", "-p", "--set-tid", "5", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["ok"], false);
    let privileged = may_create_namespaces();
    assert_eq!(v["errno"], if privileged { "EINVAL" } else { "EPERM" });
    assert_eq!(v["size"], 80);
    assert_eq!(v["request"]["set_tid"][0], 5);
    assert_eq!(v["request"]["flags"][0], "CLONE_NEWPID");
    let p = &v["problems"][if privileged { 0 } else { 1 }];
    assert_eq!(p["rule"], "set-tid-needs-init");
    assert_eq!(p["errno"], "EINVAL");
    assert_eq!(p["flags"][0], "CLONE_NEWPID");
    assert!(p["cause"].as_str().unwrap().contains("must be 1"));
    assert!(p["fix"].as_str().unwrap().contains("pass 1"));

    let o = xclone(&["explain", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["ok"], o.status.code() == Some(0));
    assert!(v["caller"]["cap_effective"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
}

#[test]
fn missing_cgroup_is_explained_as_the_kernel_would_see_it() {
    let o = xclone(&["explain", "--into-cgroup", "/nonexistent/xclone-test"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("EBADF"), "{out}");
    assert!(
        out.contains("(standing for /nonexistent/xclone-test)"),
        "{out}"
    );
    assert!(
        out.contains("note: cannot open /nonexistent/xclone-test (No such file or directory)"),
        "{out}"
    );
    // A directory that is not a cgroup2 one.
    let o = xclone(&["explain", "--into-cgroup", "/"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("not a cgroup2 directory"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn verdict_follows_the_callers_privileges() {
    // As an unprivileged user (only when we can become one), choosing an outer PID is EPERM.
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to run explain as uid 65534");
        return;
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xclone"));
    cmd.args(["explain", "-U", "-p", "--set-tid", "1,4242"]);
    std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
    std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("EPERM"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("choosing PID 4242 (set_tid[1])"),
        "{}",
        stdout(&o)
    );
    // The same request is fine for a caller holding CAP_SYS_ADMIN (uid 0 alone would not do).
    let caller = xclone::caller::Caller::current().unwrap();
    if caller.has_cap(xclone::caller::CAP_SYS_ADMIN) && !std::path::Path::new("/proc/4242").exists()
    {
        let o = xclone(&["explain", "-U", "-p", "--set-tid", "1,4242"]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
}
