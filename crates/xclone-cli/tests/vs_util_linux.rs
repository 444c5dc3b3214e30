//! `xclone run`/`enter` side by side with util-linux `unshare`/`nsenter`: each row runs the
//! same request with both and compares what the program saw — uid, gid, groups, each
//! namespace relative to the parent's and the target's, hostname, working directory, root,
//! pid, setgroups, time offsets, which PID 1 /proc shows, the propagation of `/`, a
//! variable of the target's environment — and how it ended (exit status or signal, with
//! tools' own failures as one class: util-linux exits 1, xclone 125) and who spoke first on
//! stderr (the tool or the program).
//!
//! Rows that differ by design carry the reason (also listed in docs/cli-vs-util-linux.md);
//! for them the test asserts that the two really differ, so a row that stops differing
//! fails too. The table needs root (namespaces, mounts, switching to `nobody` for the
//! unprivileged rows) and util-linux; without them it is skipped with the reason.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

/// What the program prints: one `key=value` per line.
const PROBE: &str = r#"echo uid=$(id -u) gid=$(id -g) groups="$(id -G)"
for n in user mnt uts ipc net pid cgroup time; do echo ns.$n=$(readlink /proc/self/ns/$n); done
echo host=$(hostname)
echo cwd=$(pwd)
echo rootino=$(stat -c %i /)
echo pid=$$
echo setgroups=$(cat /proc/self/setgroups 2>/dev/null)
echo offsets="$(cat /proc/self/timens_offsets 2>/dev/null | tr '\n' ' ')"
echo proc1=$(cat /proc/1/comm 2>/dev/null)
echo prop=$(awk '$5=="/" {print $7}' /proc/self/mountinfo | tail -1 | sed 's/:.*//')
echo env.T=$XCLONE_T"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Run,
    Enter,
}

struct Row {
    name: &'static str,
    tool: Tool,
    /// Options; `{P}` is replaced by the probe (`sh -c PROBE`), `{R}` by a root directory,
    /// `{T}` by the target's pid, `{F}`/`{G}` by files, `{D}` by a directory, `{N}` by a
    /// network namespace file of `ip netns`.
    args: &'static [&'static str],
    /// util-linux's arguments when they are not the same.
    ul: Option<&'static [&'static str]>,
    /// Run as `nobody` (both tools).
    nobody: bool,
    /// Why the two differ, when they do by design.
    differs: Option<&'static str>,
}

const fn row(name: &'static str, tool: Tool, args: &'static [&'static str]) -> Row {
    Row {
        name,
        tool,
        args,
        ul: None,
        nobody: false,
        differs: None,
    }
}

const fn ul(mut r: Row, args: &'static [&'static str]) -> Row {
    r.ul = Some(args);
    r
}

const fn nobody(mut r: Row) -> Row {
    r.nobody = true;
    r
}

const fn differs(mut r: Row, why: &'static str) -> Row {
    r.differs = Some(why);
    r
}

use Tool::{Enter as E, Run as R};

const PIVOT: &str = "unshare 2.38 has no --pivot-root (compared with its -R, a chroot): the \
                     program sees the same ids, namespaces, root and proc, but / is a mount \
                     point of its own (private) after pivot_root and none after a chroot";

const ROWS: &[Row] = &[
    // Plain runs and how they end.
    row("plain", R, &["{P}"]),
    row("double-dash", R, &["--", "{P}"]),
    row("exit-status", R, &["sh", "-c", "exit 7"]),
    row("killed-by-signal", R, &["sh", "-c", "kill -TERM $$"]),
    row("not-found-127", R, &["xclone-no-such-program"]),
    row("not-executable-126", R, &["/etc/passwd"]),
    row(
        "script-without-shebang-runs-in-sh",
        R,
        &["{D}/noshebang", "arg1"],
    ),
    row(
        "program-options-belong-to-it",
        R,
        &["sh", "-c", "echo $1", "x", "--frobnicate"],
    ),
    row(
        "program-short-options-belong-to-it",
        R,
        &["ls", "-d", "-1", "/"],
    ),
    // Strict parsing: unknown options are usage errors, never programs.
    row("unknown-long-option", R, &["--frobnicate", "{P}"]),
    row("unknown-short-option", R, &["-x", "{P}"]),
    row("unknown-after-known", R, &["-U", "--nope", "{P}"]),
    row("unknown-in-cluster", R, &["-Uq", "{P}"]),
    row(
        "enter-unknown-long-option",
        E,
        &["-t", "{T}", "--frobnicate", "{P}"],
    ),
    row("enter-unknown-short-option", E, &["-t", "{T}", "-x", "{P}"]),
    // unshare's namespaces.
    row("user", R, &["-U", "{P}"]),
    row("mount", R, &["-m", "{P}"]),
    row("uts", R, &["-u", "{P}"]),
    row("ipc", R, &["-i", "{P}"]),
    row("net", R, &["-n", "{P}"]),
    row("pid-fork", R, &["-p", "-f", "{P}"]),
    row("cgroup", R, &["-C", "{P}"]),
    row("time-fork", R, &["-T", "-f", "{P}"]),
    row(
        "long-names",
        R,
        &["--user", "--uts", "--ipc", "--net", "{P}"],
    ),
    row(
        "cluster-Urpf-mount-proc",
        R,
        &["-Urpf", "--mount-proc", "{P}"],
    ),
    row(
        "all-namespaces",
        R,
        &["-Ucmuinpf", "-C", "-T", "--mount-proc", "{P}"],
    ),
    // User namespace maps.
    row("map-root-user", R, &["-r", "{P}"]),
    row("map-current-user", R, &["-c", "{P}"]),
    nobody(row("map-root-user-unprivileged", R, &["-r", "{P}"])),
    nobody(row("map-current-user-unprivileged", R, &["-c", "{P}"])),
    nobody(row("map-user-unprivileged", R, &["--map-user=7", "{P}"])),
    row("map-user-number", R, &["--map-user=5", "{P}"]),
    row("map-user-name", R, &["--map-user=nobody", "{P}"]),
    row("map-group-number", R, &["--map-group=100", "{P}"]),
    row(
        "map-group-name",
        R,
        &["--map-group=nogroup", "--map-user=0", "{P}"],
    ),
    row("setgroups-allow", R, &["-U", "--setgroups=allow", "{P}"]),
    row("setgroups-deny", R, &["-U", "--setgroups", "deny", "{P}"]),
    differs(
        row(
            "map-users-2.38-form",
            R,
            &["--map-users=100000,0,65536", "{P}"],
        ),
        "util-linux 2.38 always runs newuidmap, which also wants an /etc/subuid range \
         from root; xclone writes the map itself when it may (CAP_SETUID)",
    ),
    differs(
        row(
            "map-users-2.39-form",
            R,
            &["--map-users=0:100000:65536", "{P}"],
        ),
        "util-linux 2.38 knows only OUTER,INNER,COUNT; xclone takes 2.39's form too",
    ),
    row("map-auto", R, &["--map-auto", "{P}"]),
    differs(
        row("map-subids", R, &["--map-subids", "{P}"]),
        "util-linux 2.38 has no --map-subids (2.39 added it); xclone maps the first \
         /etc/subuid and /etc/subgid ranges onto themselves",
    ),
    row(
        "map-users-auto",
        R,
        &["--map-users=auto", "--map-groups=auto", "{P}"],
    ),
    // Identity.
    row("setuid-setgid", R, &["-S", "65534", "-G", "65534", "{P}"]),
    row("setuid-in-userns", R, &["-r", "-S", "0", "{P}"]),
    differs(
        row("setgid-with-setgroups-deny", R, &["-r", "-G", "0", "{P}"]),
        "unshare -G calls setgroups(2) even where the namespace denies it and fails; xclone \
         drops supplementary groups only where setgroups is allowed",
    ),
    differs(
        row("setuid-by-name", R, &["-S", "nobody", "{P}"]),
        "util-linux 2.38 takes only numbers for -S/-G; xclone takes names too",
    ),
    // Mounts and directories.
    row("mount-proc-pid", R, &["-p", "-f", "--mount-proc", "{P}"]),
    row(
        "propagation-private",
        R,
        &["-m", "--propagation", "private", "{P}"],
    ),
    row(
        "propagation-slave",
        R,
        &["-m", "--propagation=slave", "{P}"],
    ),
    row(
        "propagation-unchanged",
        R,
        &["-m", "--propagation", "unchanged", "{P}"],
    ),
    row("root-short", R, &["-R", "{R}", "{P}"]),
    row("root-long", R, &["--root={R}", "{P}"]),
    row("wd-short", R, &["-w", "/tmp", "{P}"]),
    row("wd-long", R, &["--wd=/etc", "{P}"]),
    row("root-and-wd", R, &["-R", "{R}", "-w", "/tmp", "{P}"]),
    row(
        "root-mount-proc-pid",
        R,
        &["-Urpf", "--mount-proc", "-R", "{R}", "{P}"],
    ),
    differs(
        ul(
            row(
                "pivot-root-userns-mount-proc",
                R,
                &["-Urpm", "--mount-proc", "-R", "{R}", "--pivot-root", "{P}"],
            ),
            &["-Urpmf", "--mount-proc", "-R", "{R}", "{P}"],
        ),
        PIVOT,
    ),
    differs(
        nobody(ul(
            row(
                "pivot-root-userns-mount-proc-unprivileged",
                R,
                &["-Urpm", "--mount-proc", "-R", "{R}", "--pivot-root", "{P}"],
            ),
            &["-Urpmf", "--mount-proc", "-R", "{R}", "{P}"],
        )),
        PIVOT,
    ),
    row(
        "time-offsets",
        R,
        &["-T", "-f", "--monotonic", "100", "--boottime=200", "{P}"],
    ),
    row("kill-child", R, &["--kill-child", "{P}"]),
    row("kill-child-signal", R, &["--kill-child=SIGTERM", "{P}"]),
    // Persistent namespaces (the program's namespace must be the file's afterwards).
    row("persist-net", R, &["--net={F}", "{P}"]),
    row("persist-uts", R, &["--uts={F}", "{P}"]),
    row("persist-ipc", R, &["--ipc={F}", "{P}"]),
    differs(
        row("persist-user", R, &["--user={F}", "{P}"]),
        "unshare 2.38 fails to bind its user namespace (EPERM: its helper process mounts \
         /proc/PID/ns/user from outside that namespace after the switch); xclone's parent \
         binds the child's before the child goes on",
    ),
    row("persist-cgroup", R, &["--cgroup={F}", "{P}"]),
    row("persist-pid", R, &["--pid={F}", "-f", "{P}"]),
    row("persist-time", R, &["--time={F}", "-f", "{P}"]),
    row("persist-mount", R, &["--mount={G}", "{P}"]),
    row("persist-two", R, &["--net={F}", "-u", "{P}"]),
    row(
        "persist-missing-file",
        R,
        &["--net=/nonexistent/xclone-file", "{P}"],
    ),
    // nsenter.
    row("enter-net", E, &["-t", "{T}", "-n", "{P}"]),
    row("enter-uts", E, &["-t", "{T}", "-u", "{P}"]),
    row("enter-ipc", E, &["-t", "{T}", "-i", "{P}"]),
    row("enter-mount", E, &["-t", "{T}", "-m", "{P}"]),
    row("enter-pid", E, &["-t", "{T}", "-p", "{P}"]),
    row("enter-user", E, &["-t", "{T}", "-U", "{P}"]),
    row("enter-cgroup", E, &["-t", "{T}", "-C", "{P}"]),
    row("enter-time", E, &["-t", "{T}", "-T", "{P}"]),
    row("enter-all", E, &["-t", "{T}", "-a", "{P}"]),
    row(
        "enter-long-names",
        E,
        &["--target={T}", "--net", "--uts", "{P}"],
    ),
    row(
        "enter-root-wd-no-value",
        E,
        &["-t", "{T}", "-a", "-r", "-w", "{P}"],
    ),
    row("enter-root-no-value", E, &["-t", "{T}", "-m", "-r", "{P}"]),
    row("enter-wd-no-value", E, &["-t", "{T}", "-w", "{P}"]),
    differs(
        row("enter-root-dir", E, &["-t", "{T}", "--root={R}", "{P}"]),
        "nsenter --root without --wd keeps the old working directory, now outside the root \
         (pwd fails); xclone starts at / of the new root, as chroot(1) and unshare -R do",
    ),
    row("enter-wd-dir", E, &["-t", "{T}", "--wd=/etc", "{P}"]),
    row("enter-wdns", E, &["-t", "{T}", "-m", "-W", "/tmp", "{P}"]),
    row(
        "enter-setuid-setgid",
        E,
        &["-t", "{T}", "-S", "65534", "-G", "65534", "{P}"],
    ),
    row(
        "enter-user-setuid",
        E,
        &["-t", "{T}", "-U", "-S", "0", "-G", "0", "{P}"],
    ),
    row(
        "enter-preserve-credentials",
        E,
        &["-t", "{T}", "-U", "--preserve-credentials", "{P}"],
    ),
    row(
        "enter-wdns-long",
        E,
        &["-t", "{T}", "-m", "--wdns=/etc", "{P}"],
    ),
    row(
        "enter-script-without-shebang",
        E,
        &["-t", "{T}", "-u", "{D}/noshebang", "x"],
    ),
    row("enter-net-file", E, &["--net={N}", "{P}"]),
    row(
        "enter-net-file-with-target",
        E,
        &["-t", "{T}", "-u", "--net={N}", "{P}"],
    ),
    row(
        "enter-proc-file",
        E,
        &["--uts=/proc/{T}/ns/uts", "--ipc=/proc/{T}/ns/ipc", "{P}"],
    ),
    row("enter-no-target", E, &["-n", "{P}"]),
    row(
        "enter-not-found",
        E,
        &["-t", "{T}", "-n", "xclone-no-such-program"],
    ),
    row(
        "enter-exit-status",
        E,
        &["-t", "{T}", "-n", "sh", "-c", "exit 9"],
    ),
    nobody(row(
        "enter-unprivileged-refused",
        E,
        &["-t", "{T}", "-n", "{P}"],
    )),
    differs(
        row("enter-env-of-target", E, &["-t", "{T}", "-e", "{P}"]),
        "util-linux 2.38's nsenter has no -e (2.39 added it): xclone has it",
    ),
    differs(
        row("enter-no-fork", E, &["-t", "{T}", "-n", "-F", "{P}"]),
        "nsenter -F execs in place; xclone always creates the program as its child \
         (pinned by a pidfd, born in the target's pid namespace) and refuses -F",
    ),
    differs(
        row(
            "enter-user-parent",
            E,
            &[
                "-t",
                "{T}",
                "-U",
                "--user-parent",
                "--preserve-credentials",
                "{P}",
            ],
        ),
        "util-linux 2.38's nsenter has no --user-parent (2.39 added it)",
    ),
    differs(
        row(
            "enter-join-cgroup",
            E,
            &["-t", "{T}", "-n", "--join-cgroup", "{P}"],
        ),
        "util-linux 2.38's nsenter has no --join-cgroup (2.39 added it); xclone creates the \
         program in the target's cgroup by default where it may",
    ),
];

/// What one side saw and how it ended.
type Seen = BTreeMap<String, String>;

struct Env {
    root: PathBuf,
    dir: PathBuf,
    target: u32,
    target_ns: BTreeMap<String, String>,
    our_ns: BTreeMap<String, String>,
    netns: String,
}

fn ns_links(pid: &str) -> BTreeMap<String, String> {
    ["user", "mnt", "uts", "ipc", "net", "pid", "cgroup", "time"]
        .iter()
        .map(|n| {
            let l = std::fs::read_link(format!("/proc/{pid}/ns/{n}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            (n.to_string(), l)
        })
        .collect()
}

fn expand(args: &[&str], env: &Env, f: &Path, g: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        if *a == "{P}" {
            out.extend(["sh".to_string(), "-c".to_string(), PROBE.to_string()]);
            continue;
        }
        out.push(
            a.replace("{R}", env.root.to_str().unwrap())
                .replace("{T}", &env.target.to_string())
                .replace("{F}", f.to_str().unwrap())
                .replace("{G}", g.to_str().unwrap())
                .replace("{D}", env.dir.to_str().unwrap())
                .replace("{N}", &format!("/run/netns/{}", env.netns)),
        );
    }
    out
}

fn run_side(
    prog: &[&str],
    args: &[String],
    as_nobody: bool,
    env: &Env,
    f: &Path,
    g: &Path,
) -> Seen {
    let mut argv: Vec<String> = vec!["timeout".into(), "-s".into(), "KILL".into(), "30".into()];
    if as_nobody {
        argv.extend(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
    }
    argv.extend(prog.iter().map(|s| s.to_string()));
    argv.extend(args.iter().cloned());
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir("/")
        .output()
        .unwrap();
    let mut seen = observe(&out, env);
    for (key, file) in [("file.F", f), ("file.G", g)] {
        if let Ok(m) = std::fs::metadata(file) {
            if m.ino() > 1 && m.dev() != std::fs::metadata(file.parent().unwrap()).unwrap().dev() {
                // A namespace is bound on the file: which of the program's is it?
                let link = format!("{}:[{}]", "", m.ino());
                let which = seen
                    .iter()
                    .find(|(k, v)| k.starts_with("raw.ns.") && v.ends_with(&link))
                    .map(|(k, _)| k.trim_start_matches("raw.ns.").to_string())
                    .unwrap_or_else(|| "other".into());
                seen.insert(key.into(), which);
                let _ = Command::new("umount").arg(file).status();
            }
        }
    }
    seen.retain(|k, _| !k.starts_with("raw."));
    seen
}

fn observe(out: &Output, env: &Env) -> Seen {
    let mut seen = Seen::new();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        let Some((k, v)) = line.split_once('=') else {
            seen.insert(format!("line.{}", seen.len()), line.to_string());
            continue;
        };
        if let Some(n) = k.strip_prefix("ns.") {
            seen.insert(format!("raw.{k}"), v.to_string());
            let class = if v == env.our_ns[n] {
                "parent"
            } else if v == env.target_ns[n] {
                "target"
            } else {
                "new"
            };
            seen.insert(k.to_string(), class.to_string());
        } else if k == "pid" {
            // Absolute pids differ run to run: being PID 1 is what counts.
            let class = if v == "1" { "1" } else { "not-1" };
            seen.insert(k.to_string(), class.to_string());
        } else {
            seen.insert(k.to_string(), v.to_string());
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.split_whitespace().next().unwrap_or("");
    let tool_spoke = matches!(first, "unshare:" | "nsenter:" | "xclone:" | "error:");
    seen.insert(
        "stderr".into(),
        if tool_spoke { "<tool>" } else { first }.to_string(),
    );
    use std::os::unix::process::ExitStatusExt;
    let end = match (out.status.code(), out.status.signal()) {
        (Some(1 | 125), _) if tool_spoke => "tool-failed".to_string(),
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "?".into(),
    };
    seen.insert("end".into(), end);
    seen
}

/// What undoes the set-up.
type Cleanups = Vec<Box<dyn FnOnce()>>;

fn setup() -> Result<(Env, Cleanups), String> {
    if !rustix::process::geteuid().is_root() {
        return Err("needs root (namespaces, mounts, setpriv to nobody)".into());
    }
    for t in ["unshare", "nsenter", "setpriv", "ip", "busybox"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Err(format!("{t} is not installed (.ci/run installs it)"));
        }
    }
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("xclone-vsul-{id}"));
    let root = dir.join("root");
    for d in ["bin", "proc", "tmp", "etc"] {
        std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
    }
    std::fs::copy(
        String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v busybox"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim(),
        root.join("bin/busybox"),
    )
    .map_err(|e| e.to_string())?;
    for c in [
        "sh", "id", "readlink", "hostname", "pwd", "stat", "cat", "tr", "ls", "grep", "awk",
        "tail", "sed", "echo",
    ] {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(c));
    }
    std::fs::write(dir.join("noshebang"), "echo script ran \"$0\" \"$1\"\n").unwrap();
    std::fs::set_permissions(
        dir.join("noshebang"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // Directories nobody may enter, for the unprivileged rows.
    for d in [&dir, &root] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let netns = format!("xclvs{id}");
    let st = Command::new("ip")
        .args(["netns", "add", &netns])
        .status()
        .unwrap();
    if !st.success() {
        return Err("ip netns add failed".into());
    }
    // The target: every namespace new, a host name, /tmp as its directory, a variable.
    let mut child = Command::new("unshare")
        .args([
            "-Urpf",
            "-m",
            "-u",
            "-i",
            "-n",
            "-C",
            "-T",
            "--mount-proc",
            "--",
        ])
        .args([
            "sh",
            "-c",
            "hostname tgt; cd /tmp; export XCLONE_T=target-env; exec sleep 300",
        ])
        .spawn()
        .unwrap();
    let unshare_pid = child.id();
    let mut target = 0;
    for _ in 0..500 {
        let kids =
            std::fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children"))
                .unwrap_or_default();
        if let Some(p) = kids.split_whitespace().next() {
            let p: u32 = p.parse().unwrap();
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                target = p;
                break;
            }
        }
        // Bounded poll of /proc while the target starts (no event tells when it exec'd).
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if target == 0 {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the target did not start".into());
    }
    let env = Env {
        root,
        dir: dir.clone(),
        target,
        target_ns: ns_links(&target.to_string()),
        our_ns: ns_links("self"),
        netns: netns.clone(),
    };
    let cleanups: Cleanups = vec![
        Box::new(move || {
            let _ = child.kill();
            let _ = child.wait();
        }),
        Box::new(move || {
            let _ = Command::new("ip").args(["netns", "del", &netns]).status();
        }),
        Box::new(move || {
            let _ = std::fs::remove_dir_all(&dir);
        }),
    ];
    Ok((env, cleanups))
}

/// A file for a persisted namespace; `G` lives on a private tmpfs (a mount namespace can
/// only be kept on a private mount).
fn files(env: &Env, row: &str) -> (PathBuf, PathBuf) {
    let f = env.dir.join(format!("{row}.F"));
    std::fs::write(&f, "").unwrap();
    let gdir = env.dir.join(format!("{row}.Gdir"));
    std::fs::create_dir_all(&gdir).unwrap();
    if row.contains("persist-mount") {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                "size=64k",
                "xclone",
                gdir.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success()
            && Command::new("mount")
                .args(["--make-private", gdir.to_str().unwrap()])
                .status()
                .unwrap()
                .success();
        assert!(ok, "tmpfs for {row}");
    }
    let g = gdir.join("G");
    std::fs::write(&g, "").unwrap();
    (f, g)
}

#[test]
fn table_has_the_promised_rows() {
    assert!(ROWS.len() >= 60, "{} rows", ROWS.len());
    let mut names: Vec<_> = ROWS.iter().map(|r| r.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), ROWS.len(), "row names are unique");
    // Every difference is documented.
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli-vs-util-linux.md"),
    )
    .unwrap();
    for r in ROWS.iter().filter(|r| r.differs.is_some()) {
        assert!(
            doc.contains(&format!("`{}`", r.name)),
            "{} is not in the doc",
            r.name
        );
    }
}

#[test]
fn xclone_sees_what_util_linux_sees() {
    let (env, cleanups) = match setup() {
        Ok(x) => x,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let mut failures = Vec::new();
    let root_has_subids = std::fs::read_to_string("/etc/subuid").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("root:") || l.starts_with("0:"))
    });
    for r in ROWS {
        if r.name == "map-subids" && !root_has_subids {
            // Both refuse alike without a range; the difference shows only with one.
            eprintln!("row {} skipped: /etc/subuid has no range for root", r.name);
            continue;
        }
        let (f, g) = files(&env, r.name);
        let ours = expand(r.args, &env, &f, &g);
        let theirs = expand(r.ul.unwrap_or(r.args), &env, &f, &g);
        let (xsub, ulprog) = match r.tool {
            Tool::Run => ("run", "unshare"),
            Tool::Enter => ("enter", "nsenter"),
        };
        let x = run_side(&[XCLONE, xsub], &ours, r.nobody, &env, &f, &g);
        let u = run_side(&[ulprog], &theirs, r.nobody, &env, &f, &g);
        if r.name.contains("persist-mount") {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(g.parent().unwrap())
                .status();
        }
        match r.differs {
            None if x != u => {
                failures.push(format!("{}:\n  xclone: {x:?}\n  util-linux: {u:?}", r.name))
            }
            Some(why) if x == u => failures.push(format!(
                "{}: listed as differing ({why}) but both saw {x:?}",
                r.name
            )),
            _ => {}
        }
        // Rows that must not be mistaken for a pass where both failed alike.
        if r.differs.is_none()
            && !r.name.starts_with("unknown")
            && !r.name.starts_with("enter-unknown")
            && !r.name.contains("not-")
            && !r.name.contains("missing")
            && !r.name.contains("refused")
            && !r.name.contains("no-target")
            && !(r.name.starts_with("map-") && r.name.contains("auto") && x == u)
            && !r.name.contains("exit-status")
            && !r.name.contains("killed")
            && x.get("end").map(String::as_str) != Some("exit 0")
        {
            failures.push(format!("{}: did not succeed: {x:?}", r.name));
        }
        if r.name == "enter-env-of-target"
            && x.get("env.T").map(String::as_str) != Some("target-env")
        {
            failures.push(format!(
                "{}: the target's environment was not used: {x:?}",
                r.name
            ));
        }
        if r.name.starts_with("persist-") && !r.name.contains("missing") {
            let kind = r.args[0]
                .trim_start_matches("--")
                .split('=')
                .next()
                .unwrap();
            let want = match kind {
                "mount" => "mnt",
                k => k,
            };
            let key = if kind == "mount" { "file.G" } else { "file.F" };
            if x.get(key).map(String::as_str) != Some(want) {
                failures.push(format!(
                    "{}: the file does not hold the program's {want} namespace: {x:?}",
                    r.name
                ));
            }
        }
    }
    for c in cleanups {
        c();
    }
    assert!(
        failures.is_empty(),
        "{} rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
