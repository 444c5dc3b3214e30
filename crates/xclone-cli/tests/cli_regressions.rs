//! Regression tests for what `run` and `enter` got wrong before they followed util-linux
//! (issue 14): strict parsing, nsenter's `-r`/`-w` without values, one exit-signal default,
//! refusals that name the real cause, the status descriptor on exec failures, execvp's
//! shell fallback, namespaces persisted on files and joined from them.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};
use xclone_testsupport::{is_root, stderr_line};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

fn xclone(args: &[&str]) -> Output {
    Command::new(XCLONE).args(args).output().unwrap()
}

/// Short options each subcommand defines (and `-h`); every other letter is unknown.
const RUN_SHORTS: &str = "UmuinpCTrcRwSGfh";
const ENTER_SHORTS: &str = "tamuinpUCTcSGrwWeFh";

#[test]
fn every_unknown_option_is_a_usage_error_and_nothing_runs() {
    let marker = std::env::temp_dir().join(format!("xclone-unknown-{}", std::process::id()));
    let touch = ["touch", marker.to_str().unwrap()];
    let letters = ('a'..='z').chain('A'..='Z');
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    for l in letters {
        for (sub, shorts) in [("run", RUN_SHORTS), ("enter", ENTER_SHORTS)] {
            if !shorts.contains(l) {
                cases.push((sub.into(), vec![format!("-{l}")]));
            }
        }
    }
    for long in ["--frobnicate", "--no-such-option=1", "--ne", "--pivot"] {
        cases.push(("run".into(), vec![long.into()]));
        cases.push(("enter".into(), vec![long.into()]));
    }
    // Unknown letters inside a cluster of known ones, as a typo would put them.
    cases.push(("run".into(), vec!["-Urpq".into()]));
    cases.push(("enter".into(), vec!["-t".into(), "1".into(), "-aq".into()]));
    for (sub, opts) in &cases {
        let mut args: Vec<&str> = vec![sub.as_str()];
        if sub == "enter" && opts[0] != "-t" {
            args.extend(["-t", "1"]);
        }
        args.extend(opts.iter().map(String::as_str));
        args.extend(touch);
        let out = xclone(&args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        assert!(!marker.exists(), "{args:?} ran the program");
        // The first line names it (clap's usage block after it is shortened to one line by
        // main's usage-error handling where that has landed).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("");
        let opt = opts.last().unwrap();
        let shown = opt.split('=').next().unwrap();
        let named = first.contains(shown)
            || shown
                .chars()
                .last()
                .is_some_and(|c| first.contains(&format!("'-{c}'")));
        assert!(named, "{args:?}: the error does not name {shown}: {first}");
    }
}

#[test]
fn words_after_the_program_are_the_programs() {
    let out = xclone(&[
        "run",
        "sh",
        "-c",
        "echo \"$@\"",
        "sh",
        "-U",
        "--frobnicate",
        "-x",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-U --frobnicate -x\n");
    let out = xclone(&["run", "-f", "--", "ls", "-d", "/"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/\n");
}

#[test]
fn one_exit_signal_default_for_explain_and_run() {
    let out = xclone(&["explain", "--flags", "CLONE_PARENT"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // run refuses the flag for its own reason (it could not wait), not the kernel's.
    let out = xclone(&["run", "--flags", "CLONE_PARENT", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let line = stderr_line(&out);
    assert!(
        line.starts_with("xclone: CLONE_PARENT cannot be used with run"),
        "{line}"
    );
    assert!(!line.contains("exit_signal"), "{line}");
}

#[test]
fn a_refused_spawn_flag_is_named_not_the_spawners() {
    let out = xclone(&["run", "--flags", "CLONE_SIGHAND|CLONE_VM", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let line = stderr_line(&out);
    assert!(
        line.starts_with("xclone: CLONE_SIGHAND cannot be used with a spawn"),
        "{line}"
    );
    assert!(!line.contains("CLEAR_SIGHAND"), "{line}");
}

#[test]
fn status_descriptor_reports_exec_failures() {
    let (r, w) = xclone_testsupport::pipe();
    let fd = w.as_raw_fd().to_string();
    let mut c = Command::new(XCLONE);
    c.args([
        "run",
        "--json-status-fd",
        &fd,
        "--",
        "xclone-no-such-program",
    ]);
    // The pipe's write end must reach xclone: the helper's pipes are close-on-exec.
    rustix::io::fcntl_setfd(&w, rustix::io::FdFlags::empty()).unwrap();
    let out = c.output().unwrap();
    drop(w);
    let mut r = std::fs::File::from(r);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let mut text = String::new();
    r.read_to_string(&mut text).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(v["error"]["step"], "execve", "{text}");
    assert_eq!(v["error"]["errno"], "ENOENT", "{text}");
}

#[test]
fn a_file_without_shebang_runs_through_sh() {
    let dir = std::env::temp_dir().join(format!("xclone-noshebang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script");
    std::fs::write(&script, "echo ran \"$1\"\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = xclone(&["run", "--", script.to_str().unwrap(), "arg"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran arg\n");
    // As env(1) does it.
    let env = Command::new("env")
        .arg(&script)
        .arg("arg")
        .output()
        .unwrap();
    assert_eq!(env.stdout, out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn enter_root_and_wd_without_values_are_the_targets() {
    // The target says when it is in /tmp (a line on a pipe: no polling).
    let mut sleeper = Command::new("sh")
        .args(["-c", "cd /tmp && echo ready && exec sleep 30"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = sleeper.id().to_string();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sleeper.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        Path::new("/tmp")
    );
    let out = xclone(&["enter", "-t", &pid, "-a", "-r", "-w", "--", "pwd"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/tmp\n");
}

#[test]
fn enter_names_step_path_and_cause() {
    let out = xclone(&["enter", "--target-pidfd", "0", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_line(&out).contains("is not a pidfd"),
        "{}",
        stderr_line(&out)
    );
    if !is_root() {
        eprintln!("skipped the unprivileged part: needs root to switch to nobody");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", XCLONE])
        .args(["enter", "-t", "1", "-n", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let line = stderr_line(&out);
    assert!(line.contains("/proc/1/"), "{line}");
    assert!(line.contains("EACCES") || line.contains("EPERM"), "{line}");
    assert!(!line.contains("os error"), "{line}");
}

#[test]
fn persisted_and_joined_namespaces() {
    if !is_root() {
        eprintln!("skipped: bind mounts and ip netns need root");
        return;
    }
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("xclone-persist-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("net");
    std::fs::write(&file, "").unwrap();
    let f = file.to_str().unwrap();
    let out = xclone(&["run", &format!("--net={f}"), "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&file).unwrap());
    let out = xclone(&[
        "enter",
        &format!("--net={f}"),
        "--",
        "readlink",
        "/proc/self/ns/net",
    ]);
    let _ = Command::new("umount").arg(&file).status();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("net:[{ino}]\n"),
        "{out:?}"
    );
    // A namespace of `ip netns`: only its loopback.
    let name = format!("xclreg{id}");
    assert!(Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap()
        .success());
    let out = xclone(&[
        "enter",
        &format!("--net=/var/run/netns/{name}"),
        "--",
        "ip",
        "-o",
        "link",
    ]);
    let _ = Command::new("ip").args(["netns", "del", &name]).status();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("1: lo:"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `sh -c SCRIPT` (with `$1`/`$2` the test's subuid and subgid files) in a private
/// mount namespace where they are bound over /etc/subuid and /etc/subgid; the machine's
/// files are not touched.
fn with_subid_files(subuid: &Path, subgid: &Path, script: &str) -> Output {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg(format!(
            "mount --bind \"$1\" /etc/subuid && mount --bind \"$2\" /etc/subgid && {script}"
        ))
        .arg("sh")
        .arg(subuid)
        .arg(subgid)
        .output()
        .unwrap()
}

/// `--map-auto` and `--map-subids` refuse with one line and 125, before anything runs,
/// when the user has no range in /etc/subuid or /etc/subgid (both files are keyed by the
/// user, /etc/subgid too) or when newuidmap is missing; with ranges they map them (the
/// comparison with unshare is in vs_util_linux.rs).
#[test]
fn subid_maps_refuse_in_one_line() {
    if !is_root() {
        eprintln!("skipped: needs root (a mount namespace to replace /etc/subuid in)");
        return;
    }
    let have = |t: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !["unshare", "setpriv", "newuidmap", "newgidmap"]
        .iter()
        .all(|t| have(t))
    {
        eprintln!("skipped: util-linux (unshare, setpriv) or uidmap (newuidmap) missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("xclone-subid-reg-{}", std::process::id()));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let (ranges, empty) = (dir.join("ranges"), dir.join("empty"));
    std::fs::write(&ranges, "nobody:200000:1000\nroot:100000:65536\n").unwrap();
    std::fs::write(&empty, "").unwrap();
    // A PATH without newuidmap/newgidmap, with what the program needs.
    for t in ["cat", "true"] {
        let path = String::from_utf8(
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        std::os::unix::fs::symlink(path.trim(), bin.join(t)).unwrap();
    }
    let setpriv = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups";
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    let cases: Vec<(&str, &Path, &Path, String, &str)> = vec![
        (
            "no range for nobody",
            &empty,
            &empty,
            format!("exec {setpriv} {XCLONE} run --map-auto -- sh -c '{touch}'"),
            "xclone: /etc/subuid has no range for user nobody (uid 65534): ",
        ),
        (
            "no range for root",
            &empty,
            &empty,
            format!("exec {XCLONE} run --map-subids -- sh -c '{touch}'"),
            "xclone: /etc/subuid has no range for user root (uid 0): ",
        ),
        (
            "a uid range but no gid range",
            &ranges,
            &empty,
            format!("exec {setpriv} {XCLONE} run --map-auto -- sh -c '{touch}'"),
            "xclone: /etc/subgid has no range for user nobody (uid 65534): ",
        ),
        (
            "newuidmap missing",
            &ranges,
            &ranges,
            format!(
                "PATH={} exec {setpriv} {XCLONE} run --map-auto -- /bin/sh -c '{touch}'",
                bin.display()
            ),
            "xclone: uid_map 0 200000 1000: without CAP_SETUID the kernel only takes a map \
             of the caller's own uid (65534, count 1), and the setuid helper newuidmap is \
             not on PATH; fix: install newuidmap",
        ),
    ];
    for (what, subuid, subgid, script, start) in cases {
        let out = with_subid_files(subuid, subgid, &script);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{what}: {out:?}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.starts_with(start), "{what}: {stderr}");
        assert!(!marker.exists(), "{what}: the program ran");
    }
    // Root writes the map itself (CAP_SETUID): no newuidmap needed.
    let out = with_subid_files(
        &ranges,
        &ranges,
        &format!(
            "PATH={} exec {XCLONE} run --map-auto -- /bin/cat /proc/self/uid_map",
            bin.display()
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(words, ["0", "100000", "65536"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--keep-caps` without a user namespace does nothing, as in util-linux (`run` says so in
/// --dry-run); `enter --keep-caps` without joining a user namespace likewise.
#[test]
fn keep_caps_without_a_user_namespace_does_nothing() {
    let out = xclone(&["run", "--keep-caps", "--dry-run", "--", "true"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--keep-caps: ignored without a new user namespace (-U)"),
        "{text}"
    );
    assert!(!text.contains("keep capabilities:"), "{text}");
    let out = xclone(&["run", "-U", "--keep-caps", "--dry-run", "--", "true"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("child (sandbox): keep capabilities: inheritable := permitted"),
        "{text}"
    );
    let caps = |out: &Output| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("CapAmb:"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let out = xclone(&["run", "--keep-caps", "--", "cat", "/proc/self/status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(caps(&out), ["CapAmb:\t0000000000000000"]);
    let out = xclone(&[
        "enter",
        "-t",
        &std::process::id().to_string(),
        "-u",
        "--keep-caps",
        "--",
        "cat",
        "/proc/self/status",
    ]);
    if is_root() {
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(caps(&out), ["CapAmb:\t0000000000000000"]);
    }
}
