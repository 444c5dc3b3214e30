//! `xclone explain --unshare` and `--setns` end to end: the built binary, its exit codes, its
//! words and its JSON, for the current caller and for described ones.

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

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn newuser_in_a_threaded_process() {
    let o = xclone(&["explain", "--unshare", "CLONE_NEWUSER", "--threads", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("refused: unshare would fail with EINVAL"),
        "{out}"
    );
    assert!(out.contains("3 other threads"), "{out}");
    assert!(
        out.contains("rule: unshare-newuser-threaded (check_unshare_flags)"),
        "{out}"
    );
    assert!(out.contains("<- unshare returns this"), "{out}");
    // A mount namespace is per thread and fine there; the answer says who moves.
    let o = xclone(&[
        "explain",
        "--unshare",
        "mnt",
        "--threads",
        "4",
        "--as-user",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("only the calling thread would change"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn unprivileged_namespaces_need_a_user_namespace() {
    let o = xclone(&["explain", "--unshare", "net", "--as-user", "1000", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["call"], "unshare");
    assert_eq!(v["errno"], "EPERM");
    assert_eq!(v["problems"][0]["rule"], "unshare-needs-cap");
    assert_eq!(v["problems"][0]["area"], "unshare");
    assert_eq!(v["caller"]["euid"], 1000);
    // The same user with a user namespace in the same call: the caller owns the new one.
    let o = xclone(&[
        "explain",
        "--unshare",
        "user,net",
        "--as-user",
        "1000",
        "--json",
    ]);
    let v = json(&o);
    let chrooted = v["caller"]["chrooted"] == true;
    if !chrooted && v["notes"].as_array().unwrap().is_empty() {
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(o.status.code(), Some(0));
    }
}

#[test]
fn setns_targets() {
    let o = xclone(&["explain", "--setns", "/proc/self/ns/net", "net,uts"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("is a net namespace, but nstype asks for"),
        "{}",
        stdout(&o)
    );

    let o = xclone(&["explain", "--setns", "/proc/self/status", "--json"]);
    let v = json(&o);
    assert_eq!(v["errno"], "EINVAL");
    assert_eq!(v["problems"][0]["rule"], "setns-not-namespace");
    assert_eq!(v["request"]["target"]["is"], "other");

    let o = xclone(&["explain", "--setns", "/nonexistent/ns", "--json"]);
    let v = json(&o);
    assert_eq!(v["errno"], "EBADF");
    assert!(
        v["notes"][0].as_str().unwrap().contains("cannot open"),
        "{v}"
    );

    let o = xclone(&["explain", "--setns", "/proc/self/ns/time", "--threads", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("setns would fail with EUSERS"),
        "{}",
        stdout(&o)
    );

    // Our own user namespace: re-entering it is refused.
    let o = xclone(&["explain", "--setns", "/proc/self/ns/user", "--json"]);
    assert_eq!(json(&o)["problems"][0]["rule"], "setns-user-same");

    // A pidfd needs the flags of what to join.
    let me = std::process::id().to_string();
    let o = xclone(&["explain", "--setns", &format!("pid:{me}"), "--json"]);
    let v = json(&o);
    if xclone::probe::Features::setns_pidfd_supported() {
        assert_eq!(v["problems"][0]["rule"], "setns-pidfd-no-flags", "{v}");
        assert_eq!(v["request"]["target"]["is"], "pidfd");
    }
}

#[test]
fn usage_errors_are_125() {
    let o = xclone(&["explain", "--threads", "2"]);
    assert_eq!(o.status.code(), Some(125));
    let o = xclone(&["explain", "--unshare", "bogus"]);
    assert_eq!(o.status.code(), Some(125));
    let o = xclone(&[
        "explain",
        "--unshare",
        "net",
        "--setns",
        "/proc/self/ns/net",
    ]);
    assert_eq!(o.status.code(), Some(125));
}

/// The CLI's verdict is the library's: the same rule for the same caller and request.
#[test]
fn same_verdict_as_the_library() {
    let mut caller = xclone::caller::Caller::current().unwrap();
    caller.sharing = xclone::caller::Sharing::ALONE;
    let features = xclone::validate::current_features();
    for flags in ["net", "user,net", "pid,time", "CLONE_VM", "CLONE_PIDFD"] {
        let bits = flags_of(flags);
        let want = xclone::unshare::validate(bits, &features, &caller);
        let o = xclone(&["explain", "--unshare", flags, "--threads", "1", "--json"]);
        let v = json(&o);
        assert_eq!(
            v["errno"].as_str().map(String::from),
            want.errno().map(|e| e.name()),
            "{flags}: {v}"
        );
    }
}

fn flags_of(s: &str) -> u64 {
    use xclone::CloneFlags as F;
    s.split(',')
        .map(|p| match p {
            "net" => F::NEWNET,
            "user" => F::NEWUSER,
            "pid" => F::NEWPID,
            "time" => F::NEWTIME,
            other => F::parse(other).unwrap(),
        })
        .fold(F::empty(), |a, b| a | b)
        .bits()
}
