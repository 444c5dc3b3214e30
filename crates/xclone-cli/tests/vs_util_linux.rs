//! `xclone run`/`enter` side by side with util-linux `unshare`/`nsenter`: each row runs the
//! same request with both and compares what the program saw — uid, gid, groups, each
//! namespace relative to the parent's and the target's, hostname, working directory, root,
//! pid, setgroups, time offsets, which PID 1 /proc shows, the propagation of `/`, the
//! addresses of the loopback interface (none while it is down), a variable of the target's
//! environment — and how it ended (exit status or signal, with
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
echo lo="$(ip -o addr show lo 2>/dev/null | awk '{print $4}' | tr '\n' ' ')"
echo env.T=$XCLONE_T"#;

/// The probe plus the capability sets (`CapInh=…` … `CapAmb=…` of /proc/self/status).
const CAPS: &str =
    r#"grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status | tr -d '\t ' | sed 's/:/=/'"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Run,
    Enter,
}

struct Row {
    name: &'static str,
    tool: Tool,
    /// Options; `{P}` is replaced by the probe (`sh -c PROBE`), `{C}` by the probe followed
    /// by the capability sets the program holds, `{U}` by nobody's target, `{R}` by a root
    /// directory,
    /// `{T}` by the target's pid, `{F}`/`{G}` by files, `{D}` by a directory, `{N}` by a
    /// network namespace file of `ip netns`.
    args: &'static [&'static str],
    /// util-linux's arguments when they are not the same.
    ul: Option<&'static [&'static str]>,
    /// Run as `nobody` (both tools).
    nobody: bool,
    /// Why the two differ, when they do by design.
    differs: Option<&'static str>,
    /// The util-linux versions the difference belongs to, `[from, until)`; with any other
    /// version both must agree. None: every version.
    ul_versions: Option<(UlVersion, UlVersion)>,
}

/// A util-linux version, (major, minor).
type UlVersion = (u32, u32);

/// Every version from the one named on.
const LATER: UlVersion = (u32::MAX, 0);

const fn row(name: &'static str, tool: Tool, args: &'static [&'static str]) -> Row {
    Row {
        name,
        tool,
        args,
        ul: None,
        nobody: false,
        differs: None,
        ul_versions: None,
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

/// A difference from util-linux versions `from` up to (not including) `until` only: the
/// table runs against the util-linux installed (2.38 on Debian 12, 2.41 on Debian 13).
const fn in_versions(mut r: Row, from: UlVersion, until: UlVersion) -> Row {
    r.ul_versions = Some((from, until));
    r
}

/// The installed util-linux's version, from `unshare --version` ("… util-linux 2.38.1").
fn util_linux_version() -> Option<UlVersion> {
    let out = Command::new("unshare").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.split_whitespace().last()?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.split('-').next()?.parse().ok()?;
    Some((major, minor))
}

use Tool::{Enter as E, Run as R};

/// Sets the host name with the program's own binary (`{D}/busybox`, owned by uid 65534)
/// and prints what it is afterwards.
const AMBIENT: &str = "{D}/busybox hostname kept-caps; echo host=$({D}/busybox hostname); \
                       echo amb=$({D}/busybox grep CapAmb /proc/self/status | {D}/busybox tr -d '\\t ')";

const PIVOT: &str = "unshare 2.38 has no --pivot-root (compared with its -R, a chroot): the \
                     program sees the same ids, namespaces, root and proc, but / is a mount \
                     point of its own (private) after pivot_root and none after a chroot";

/// nsenter 2.41 refuses a request that names no namespace.
const NO_NAMESPACE: &str = "nsenter 2.41 refuses a request naming no namespace (\"no namespace \
                            specified\"); xclone, as nsenter before 2.41, runs the program in \
                            the caller's namespaces with what was asked of the target (its \
                            directory, root or the ids given)";

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
    in_versions(
        differs(
            row(
                "map-users-2.38-form",
                R,
                &["--map-users=100000,0,65536", "{P}"],
            ),
            "util-linux before 2.40 always runs newuidmap, which also wants an /etc/subuid \
             range from root; xclone writes the map itself when it may (CAP_SETUID), as \
             unshare does as root from 2.40 on",
        ),
        (0, 0),
        (2, 40),
    ),
    in_versions(
        differs(
            row(
                "map-users-2.39-form",
                R,
                &["--map-users=0:100000:65536", "{P}"],
            ),
            "util-linux 2.38 knows only OUTER,INNER,COUNT; xclone takes 2.39's form too",
        ),
        (0, 0),
        (2, 39),
    ),
    row("map-auto", R, &["--map-auto", "{P}"]),
    in_versions(
        differs(
            row("map-subids", R, &["--map-subids", "{P}"]),
            "util-linux before 2.41 has no --map-subids (2.41 added it); xclone maps the \
             first /etc/subuid and /etc/subgid ranges onto themselves",
        ),
        (0, 0),
        (2, 41),
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
    // --keep-caps: the capability sets the program holds (CapInh/Prm/Eff/Bnd/Amb).
    row("caps-user", R, &["-U", "{C}"]),
    row("caps-user-keep-caps", R, &["-U", "--keep-caps", "{C}"]),
    row("caps-map-root", R, &["-Ur", "{C}"]),
    row("caps-map-root-keep-caps", R, &["-Ur", "--keep-caps", "{C}"]),
    row("caps-keep-caps-without-userns", R, &["--keep-caps", "{C}"]),
    row(
        "caps-keep-caps-mount-only",
        R,
        &["-m", "--keep-caps", "{C}"],
    ),
    nobody(row("caps-user-unprivileged", R, &["-U", "{C}"])),
    nobody(row(
        "caps-user-keep-caps-unprivileged",
        R,
        &["-U", "--keep-caps", "{C}"],
    )),
    nobody(row("caps-map-root-unprivileged", R, &["-Ur", "{C}"])),
    nobody(row(
        "caps-map-root-keep-caps-unprivileged",
        R,
        &["-Ur", "--keep-caps", "{C}"],
    )),
    nobody(row(
        "caps-keep-caps-without-userns-unprivileged",
        R,
        &["--keep-caps", "{C}"],
    )),
    // The ambient set at work: uid 65534 of a new user namespace (no map) execs a binary it
    // owns (no file capabilities, not set-uid) which sets the host name of the new UTS
    // namespace, CAP_SYS_ADMIN there; without --keep-caps the exec loses it (EPERM).
    row(
        "caps-ambient-used",
        R,
        &["-Uu", "--keep-caps", "{D}/busybox", "sh", "-c", AMBIENT],
    ),
    row(
        "caps-ambient-lost",
        R,
        &["-Uu", "{D}/busybox", "sh", "-c", AMBIENT],
    ),
    nobody(row(
        "caps-ambient-used-unprivileged",
        R,
        &["-Uu", "--keep-caps", "{D}/busybox", "sh", "-c", AMBIENT],
    )),
    nobody(row(
        "caps-ambient-lost-unprivileged",
        R,
        &["-Uu", "{D}/busybox", "sh", "-c", AMBIENT],
    )),
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
    row("enter-user-caps", E, &["-t", "{T}", "-U", "{C}"]),
    // nsenter 2.38 has no --keep-caps (2.39 added it): the reference does its steps with
    // setpriv (inheritable and ambient := all, which is what the permitted set is there).
    ul(
        row(
            "enter-user-keep-caps",
            E,
            &["-t", "{T}", "-U", "--keep-caps", "{C}"],
        ),
        &[
            "-t",
            "{T}",
            "-U",
            "setpriv",
            "--inh-caps=+all",
            "--ambient-caps=+all",
            "{C}",
        ],
    ),
    ul(
        row(
            "enter-user-preserve-credentials-keep-caps",
            E,
            &[
                "-t",
                "{T}",
                "-U",
                "--preserve-credentials",
                "--keep-caps",
                "{C}",
            ],
        ),
        &[
            "-t",
            "{T}",
            "-U",
            "--preserve-credentials",
            "setpriv",
            "--inh-caps=+all",
            "--ambient-caps=+all",
            "{C}",
        ],
    ),
    // Unprivileged: nobody enters the user namespace of its own target (keeping its ids,
    // which are root's there: see the next row for why).
    nobody(row(
        "enter-user-caps-unprivileged",
        E,
        &["-t", "{U}", "-U", "--preserve-credentials", "{C}"],
    )),
    nobody(ul(
        row(
            "enter-user-keep-caps-unprivileged",
            E,
            &[
                "-t",
                "{U}",
                "-U",
                "--preserve-credentials",
                "--keep-caps",
                "{C}",
            ],
        ),
        &[
            "-t",
            "{U}",
            "-U",
            "--preserve-credentials",
            "setpriv",
            "--inh-caps=+all",
            "--ambient-caps=+all",
            "{C}",
        ],
    )),
    differs(
        nobody(row(
            "enter-user-setgroups-denied-unprivileged",
            E,
            &["-t", "{U}", "-U", "--keep-caps", "{C}"],
        )),
        "nsenter fails (setgroups: EPERM) when an unprivileged user enters a user namespace \
         whose setgroups is deny, as every namespace such a user maps is; xclone keeps the \
         groups there and goes on",
    ),
    // Without a user namespace to join, --keep-caps does nothing (nsenter 2.39 likewise).
    ul(
        row(
            "enter-keep-caps-without-user",
            E,
            &["-t", "{T}", "-n", "--keep-caps", "{C}"],
        ),
        &["-t", "{T}", "-n", "{C}"],
    ),
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
    in_versions(
        differs(
            row("enter-wd-no-value", E, &["-t", "{T}", "-w", "{P}"]),
            NO_NAMESPACE,
        ),
        (2, 41),
        LATER,
    ),
    differs(
        row("enter-root-dir", E, &["-t", "{T}", "--root={R}", "{P}"]),
        "nsenter --root without --wd keeps the old working directory, now outside the root \
         (pwd fails); xclone starts at / of the new root, as chroot(1) and unshare -R do",
    ),
    in_versions(
        differs(
            row("enter-wd-dir", E, &["-t", "{T}", "--wd=/etc", "{P}"]),
            NO_NAMESPACE,
        ),
        (2, 41),
        LATER,
    ),
    in_versions(
        differs(
            row("enter-wdns", E, &["-t", "{T}", "-m", "-W", "/tmp", "{P}"]),
            "nsenter's -W takes its value only attached from 2.39 on (-W/tmp), so -W /tmp \
             is -W without one followed by the program /tmp; xclone takes the next word as \
             the directory, as nsenter 2.38",
        ),
        (2, 39),
        LATER,
    ),
    in_versions(
        differs(
            row(
                "enter-setuid-setgid",
                E,
                &["-t", "{T}", "-S", "65534", "-G", "65534", "{P}"],
            ),
            NO_NAMESPACE,
        ),
        (2, 41),
        LATER,
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
    in_versions(
        differs(
            row(
                "enter-join-cgroup",
                E,
                &["-t", "{T}", "-n", "--join-cgroup", "{P}"],
            ),
            "nsenter before 2.40 has no --join-cgroup (2.40 added it); xclone creates the \
             program in the target's cgroup by default where it may",
        ),
        (0, 0),
        (2, 40),
    ),
];

/// What one side saw and how it ended.
type Seen = BTreeMap<String, String>;

struct Env {
    root: PathBuf,
    dir: PathBuf,
    target: u32,
    target_ns: BTreeMap<String, String>,
    /// nobody's target: a user namespace of its own (`unshare -Ur` as nobody).
    ntarget: u32,
    ntarget_ns: BTreeMap<String, String>,
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
        if *a == "{C}" {
            out.extend([
                "sh".to_string(),
                "-c".to_string(),
                format!("{PROBE}\n{CAPS}"),
            ]);
            continue;
        }
        out.push(
            a.replace("{R}", env.root.to_str().unwrap())
                .replace("{T}", &env.target.to_string())
                .replace("{U}", &env.ntarget.to_string())
                .replace("{F}", f.to_str().unwrap())
                .replace("{G}", g.to_str().unwrap())
                .replace("{D}", env.dir.to_str().unwrap())
                .replace("{N}", &format!("/run/netns/{}", env.netns)),
        );
    }
    out
}

/// Seconds after which a row's process is killed (`timeout -s KILL`).
const ROW_LIMIT: &str = "300";

fn run_side(
    prog: &[&str],
    args: &[String],
    as_nobody: bool,
    env: &Env,
    f: &Path,
    g: &Path,
) -> Seen {
    // A guard against a hang, not a timing: under emulation on a busy machine a row takes
    // tens of seconds (30 s killed rows of both tools on 5.10 under TCG).
    let mut argv: Vec<String> = vec![
        "timeout".into(),
        "-s".into(),
        "KILL".into(),
        ROW_LIMIT.into(),
    ];
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
            } else if v == env.ntarget_ns[n] {
                "nobodys-target"
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
    // /usr/bin too, as on a merged-/usr system: the program is looked up by PATH in the new
    // root, and a PATH may name only /usr/bin (Debian's root shell, the emulated guests').
    std::fs::create_dir_all(root.join("usr")).map_err(|e| e.to_string())?;
    let _ = std::os::unix::fs::symlink("../bin", root.join("usr/bin"));
    for c in [
        "sh", "id", "readlink", "hostname", "pwd", "stat", "cat", "tr", "ls", "grep", "awk",
        "tail", "sed", "echo",
    ] {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(c));
    }
    // A busybox owned by nobody, for the ambient-capability rows.
    std::fs::copy(root.join("bin/busybox"), dir.join("busybox")).map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(dir.join("busybox"), Some(65534), Some(65534))
        .map_err(|e| e.to_string())?;
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
            // Outlives the table (under emulation it runs for more than 5 minutes, which
            // `sleep 300` did not: every later enter row of both tools failed); killed at
            // clean-up.
            "hostname tgt; cd /tmp; export XCLONE_T=target-env; exec sleep 3600",
        ])
        .spawn()
        .unwrap();
    let unshare_pid = child.id();
    let mut target = 0;
    // Bounded by time, not by a count of tries: under emulation starting takes seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
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
        // Poll /proc while the target starts (no event tells when it exec'd).
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if target == 0 {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the target did not start".into());
    }
    // nobody's target: setpriv and unshare exec in place, so the process becomes the sleep.
    let mut nchild = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["unshare", "-Ur", "--", "sleep", "3600"])
        .spawn()
        .unwrap();
    let ntarget = nchild.id();
    let mut started = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        let comm = std::fs::read_to_string(format!("/proc/{ntarget}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" {
            started = true;
            break;
        }
        // Poll /proc while it starts, as above.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if !started {
        for c in [&mut child, &mut nchild] {
            let _ = c.kill();
            let _ = c.wait();
        }
        return Err("nobody's target did not start".into());
    }
    let env = Env {
        root,
        dir: dir.clone(),
        target,
        target_ns: ns_links(&target.to_string()),
        ntarget,
        ntarget_ns: ns_links(&ntarget.to_string()),
        our_ns: ns_links("self"),
        netns: netns.clone(),
    };
    let target_pid = target;
    let cleanups: Cleanups = vec![
        Box::new(move || {
            // unshare -f leaves its child (the target) behind when it is killed.
            if let Some(p) = rustix::process::Pid::from_raw(target_pid as i32) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = nchild.kill();
            let _ = nchild.wait();
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
    let cgroup2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let Some(ulv) = util_linux_version() else {
        panic!("unshare --version names no util-linux version");
    };
    for r in ROWS {
        // A difference that belongs to other util-linux versions is no difference here.
        let differs = r
            .differs
            .filter(|_| {
                r.ul_versions
                    .is_none_or(|(from, until)| from <= ulv && ulv < until)
            })
            // nsenter's --join-cgroup wants cgroup v2 in every version.
            .or(r
                .differs
                .filter(|_| r.name == "enter-join-cgroup" && !cgroup2));
        if r.name == "map-subids" && !root_has_subids {
            // Both refuse alike without a range; the difference shows only with one.
            eprintln!(
                "row {} skipped: /etc/subuid has no range for root (subid_ranges_as_unshare \
                 compares it with test ranges)",
                r.name
            );
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
        match differs {
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
        if differs.is_none()
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
        // --keep-caps: the ambient set holds what is permitted (all of a new user
        // namespace's capabilities), and without it nothing; the ambient rows' binary really
        // set the host name only with it.
        if r.name.starts_with("caps-")
            || r.name.starts_with("enter-user")
            || r.name.starts_with("enter-keep")
        {
            let amb = x.get("CapAmb").or(x.get("amb")).map(String::as_str);
            let keeps = r.args.contains(&"--keep-caps")
                && r.name != "enter-keep-caps-without-user"
                && !r.name.contains("without-userns")
                && !r.name.contains("mount-only");
            let all = format!("{:016x}", xclone::isolate::sandbox::CapSet::all().0);
            let want_amb = if keeps {
                all.as_str()
            } else {
                "0000000000000000"
            };
            let has_caps_probe = r.args.contains(&"{C}") || r.name.contains("ambient");
            if has_caps_probe && amb.map(|a| a.trim_start_matches("CapAmb:")) != Some(want_amb) {
                failures.push(format!(
                    "{}: CapAmb {amb:?}, want {want_amb}: {x:?}",
                    r.name
                ));
            }
            if r.name.contains("ambient") {
                let host_set = x.get("host").map(String::as_str) == Some("kept-caps");
                if host_set != keeps {
                    failures.push(format!(
                        "{}: the host name was set: {host_set}: {x:?}",
                        r.name
                    ));
                }
            }
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

/// What a program prints of its user namespace's maps.
const MAPS: &str =
    "echo uid_map=$(cat /proc/self/uid_map); echo gid_map=$(cat /proc/self/gid_map); \
                    echo setgroups=$(cat /proc/self/setgroups); echo ids=$(id -u):$(id -g)";

/// One row of the subordinate-range table: xclone's options, util-linux's when they differ,
/// whether both run as nobody, and the uid map xclone must show (`None`: it must fail).
struct SubidRow {
    name: &'static str,
    args: &'static [&'static str],
    ul: Option<&'static [&'static str]>,
    nobody: bool,
    uid_map: Option<&'static str>,
}

const fn sr(
    name: &'static str,
    args: &'static [&'static str],
    uid_map: Option<&'static str>,
) -> SubidRow {
    SubidRow {
        name,
        args,
        ul: None,
        nobody: false,
        uid_map,
    }
}

/// The test's /etc/subuid and /etc/subgid (root's and nobody's ranges differ, so that a
/// file read for the wrong user or a group read from the wrong file shows).
const SUBUID: &str = "root:100000:65536\nnobody:200000:1000\n";
const SUBGID: &str = "root:300000:65536\nnobody:400000:2000\n";

const SUBID_ROWS: &[SubidRow] = &[
    sr("map-auto", &["--map-auto"], Some("0 100000 65536")),
    SubidRow {
        nobody: true,
        ..sr(
            "map-auto-unprivileged",
            &["--map-auto"],
            Some("0 200000 1000"),
        )
    },
    sr(
        "map-users-groups-auto",
        &["--map-users=auto", "--map-groups=auto"],
        Some("0 100000 65536"),
    ),
    SubidRow {
        nobody: true,
        ..sr(
            "map-users-groups-auto-unprivileged",
            &["--map-users=auto", "--map-groups=auto"],
            Some("0 200000 1000"),
        )
    },
    // A range next to -r or -c leaves out the single line's ids, as unshare does.
    sr(
        "map-auto-map-root",
        &["--map-auto", "-r"],
        Some("0 0 1 1 100000 65535"),
    ),
    SubidRow {
        nobody: true,
        ..sr(
            "map-auto-map-root-unprivileged",
            &["--map-auto", "-r"],
            Some("0 65534 1 1 200000 999"),
        )
    },
    sr(
        "map-auto-map-current",
        &["--map-auto", "-c"],
        Some("0 0 1 1 100000 65535"),
    ),
    SubidRow {
        nobody: true,
        ..sr(
            "map-auto-map-current-unprivileged",
            &["--map-auto", "-c"],
            Some("65534 65534 1 0 200000 1000"),
        )
    },
    // Explicit ranges inside the granted ones (unshare 2.38 runs newuidmap even for root).
    sr(
        "map-users-2.38-form-granted",
        &["--map-users=100000,0,65536", "--map-groups=300000,0,65536"],
        Some("0 100000 65536"),
    ),
    SubidRow {
        nobody: true,
        ..sr(
            "map-users-2.38-form-granted-unprivileged",
            &["--map-users=200000,0,1000", "--map-groups=400000,0,2000"],
            Some("0 200000 1000"),
        )
    },
    // --map-subids (util-linux 2.41) is --map-users/--map-groups of the ranges onto
    // themselves, which 2.38 is given explicitly.
    SubidRow {
        ul: Some(&[
            "--map-users=100000,100000,65536",
            "--map-groups=300000,300000,65536",
        ]),
        ..sr("map-subids", &["--map-subids"], Some("100000 100000 65536"))
    },
    SubidRow {
        ul: Some(&[
            "--map-users=200000,200000,1000",
            "--map-groups=400000,400000,2000",
        ]),
        nobody: true,
        ..sr(
            "map-subids-unprivileged",
            &["--map-subids"],
            Some("200000 200000 1000"),
        )
    },
];

/// Runs `argv` in a mount namespace of its own where /etc/subuid and /etc/subgid are
/// `subuid` and `subgid` (bind mounts on a private copy of the mount tree: the machine's
/// files stay as they are), as nobody when asked; the setuid newuidmap/newgidmap started
/// there read the same files.
fn with_subid_files(subuid: &Path, subgid: &Path, as_nobody: bool, argv: &[String]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg(
            "mount --bind \"$1\" /etc/subuid && mount --bind \"$2\" /etc/subgid && shift 2 && \
             exec \"$@\"",
        )
        .arg("sh")
        .arg(subuid)
        .arg(subgid);
    if as_nobody {
        cmd.args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]);
    }
    cmd.args(["timeout", "-s", "KILL", ROW_LIMIT]);
    cmd.args(argv).current_dir("/").output().unwrap()
}

/// The maps the program saw, how it ended (a tool's own failure as one class) and who spoke
/// first on stderr.
fn seen_maps(out: &Output) -> Seen {
    let mut seen = Seen::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((k, v)) = line.split_once('=') {
            seen.insert(k.into(), v.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.split_whitespace().next().unwrap_or("");
    let tool_spoke = matches!(first, "unshare:" | "xclone:");
    seen.insert(
        "stderr".into(),
        if tool_spoke { "<tool>" } else { first }.into(),
    );
    let end = match out.status.code() {
        Some(1 | 125) if tool_spoke => "tool-failed".to_string(),
        Some(c) => format!("exit {c}"),
        None => format!("{:?}", out.status),
    };
    seen.insert("end".into(), end);
    seen
}

/// `--map-auto`, `--map-subids` and the `auto`/`subids` maps with real subordinate ranges,
/// side by side with util-linux `unshare` run the same way, root and nobody: the uid and gid
/// maps, setgroups and the ids the program sees must be the same, and the uid map the
/// expected one. Without a range for the user both refuse (xclone: one line, exit 125).
#[test]
fn subid_ranges_as_unshare() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root (a mount namespace to replace /etc/subuid in)");
        return;
    }
    for t in ["unshare", "setpriv", "newuidmap", "newgidmap"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("skipped: {t} is not installed (.ci/run installs util-linux and uidmap)");
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("xclone-vsul-subid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (subuid, subgid, empty) = (dir.join("subuid"), dir.join("subgid"), dir.join("empty"));
    std::fs::write(&subuid, SUBUID).unwrap();
    std::fs::write(&subgid, SUBGID).unwrap();
    std::fs::write(&empty, "").unwrap();
    let probe = ["sh".to_string(), "-c".to_string(), MAPS.to_string()];
    let argv = |tool: &[&str], args: &[&str]| -> Vec<String> {
        tool.iter()
            .chain(args)
            .map(|s| s.to_string())
            .chain(probe.iter().cloned())
            .collect()
    };
    let mut failures = Vec::new();
    for r in SUBID_ROWS {
        let x = seen_maps(&with_subid_files(
            &subuid,
            &subgid,
            r.nobody,
            &argv(&[XCLONE, "run"], r.args),
        ));
        let u = seen_maps(&with_subid_files(
            &subuid,
            &subgid,
            r.nobody,
            &argv(&["unshare"], r.ul.unwrap_or(r.args)),
        ));
        if x != u {
            failures.push(format!("{}:\n  xclone: {x:?}\n  util-linux: {u:?}", r.name));
        }
        if x.get("uid_map").map(String::as_str) != r.uid_map {
            failures.push(format!(
                "{}: uid map {:?}, want {:?}",
                r.name,
                x.get("uid_map"),
                r.uid_map
            ));
        }
        if x.get("end").map(String::as_str) != Some("exit 0") {
            failures.push(format!("{}: did not succeed: {x:?}", r.name));
        }
    }
    // No range for the user: both refuse, xclone with one line and 125.
    for nobody in [false, true] {
        for opt in ["--map-auto", "--map-subids", "--map-users=auto"] {
            let xo = with_subid_files(&empty, &empty, nobody, &argv(&[XCLONE, "run"], &[opt]));
            let x = seen_maps(&xo);
            let stderr = String::from_utf8_lossy(&xo.stderr);
            let who = if nobody {
                "user nobody (uid 65534)"
            } else {
                "user root (uid 0)"
            };
            if xo.status.code() != Some(125)
                || stderr.lines().count() != 1
                || !stderr.starts_with(&format!("xclone: /etc/subuid has no range for {who}"))
                || x.contains_key("uid_map")
            {
                failures.push(format!("{opt} without a range (nobody: {nobody}): {xo:?}"));
            }
            if opt != "--map-subids" {
                let u = seen_maps(&with_subid_files(
                    &empty,
                    &empty,
                    nobody,
                    &argv(&["unshare"], &[opt]),
                ));
                if x != u {
                    failures.push(format!("{opt} without a range (nobody: {nobody}):\n  xclone: {x:?}\n  util-linux: {u:?}"));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// unshare's `-n` leaves the new namespace's `lo` down (util-linux does nothing to it), and
/// so does `xclone run -n`; only bubblewrap's `--unshare-net` brings it up (`vs_bwrap.rs`).
#[test]
fn net_leaves_loopback_down_as_unshare() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root (a network namespace without a user namespace)");
        return;
    }
    if !xclone_testsupport::have_unshare() {
        eprintln!("skipped: util-linux unshare not found");
        return;
    }
    let script = "ip -o link show lo | grep -o '<[^>]*>'; ip -o addr show lo | wc -l";
    let go = |argv: &[&str]| {
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .args(["sh", "-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{argv:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ul = go(&["unshare", "-n"]);
    assert_eq!(ul, "<LOOPBACK>\n0\n", "unshare -n");
    for opts in [&["-n"][..], &["--net"], &["-U", "-r", "-n"]] {
        let argv: Vec<&str> = [XCLONE, "run"].iter().chain(opts).copied().collect();
        assert_eq!(go(&argv), ul, "{opts:?}");
    }
    // bwrap's spelling of the same namespace: lo up, 127.0.0.1/8 and ::1.
    let up = go(&[XCLONE, "run", "--unshare-net"]);
    assert!(up.starts_with("<LOOPBACK,UP,LOWER_UP>\n"), "{up}");
    assert_eq!(up.lines().last(), Some("2"), "{up}");
}
