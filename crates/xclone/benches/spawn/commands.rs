//! Whole command against whole command: `xclone run` vs util-linux `unshare`, `xclone enter`
//! vs `nsenter`. Each run is started with std and timed from spawn to reaped exit, so both
//! tools pay the same start-up around their own work.

use crate::report::{Table, Unit};
use crate::stats::{alternate, Contender, Rounds};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn run(bin: &Path, args: &[OsString]) -> Result<(), String> {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "`{} {}` ended with {}: {}",
            bin.display(),
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            out.status,
            err.lines().next().unwrap_or("").trim()
        ))
    }
}

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

/// The option sets compared: util-linux spelling, xclone spelling (the same short options).
/// `unshare --fork` makes unshare's program a child as `xclone run`'s is (and the new pid
/// namespace's PID 1). Both make a new mount namespace's mounts private by default.
pub fn option_sets() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("no namespace", vec![]),
        ("uts", vec!["-u"]),
        ("ipc", vec!["-i"]),
        ("user", vec!["-U"]),
        ("user, root mapped (-U -r)", vec!["-U", "-r"]),
        ("pid", vec!["-p"]),
        ("mnt", vec!["-m"]),
        ("net", vec!["-n"]),
        ("cgroup", vec!["-C"]),
        ("time", vec!["-T"]),
        (
            CONTAINER_SET,
            vec!["-U", "-r", "-p", "-m", "-u", "-i", "-n"],
        ),
        (
            "container set, no id map (-U -p -m -u -i -n)",
            vec!["-U", "-p", "-m", "-u", "-i", "-n"],
        ),
    ]
}

/// The label of the container set the target is judged on.
pub const CONTAINER_SET: &str = "container set (-U -r -p -m -u -i -n)";

pub fn unshare_args(opts: &[&str], prog: &Path) -> Vec<OsString> {
    let mut a = os(&["--fork"]);
    a.extend(os(opts));
    a.push(prog.into());
    a
}

pub fn xclone_run_args(opts: &[&str], prog: &Path) -> Vec<OsString> {
    let mut a = os(&["run"]);
    a.extend(os(opts));
    a.push("--".into());
    a.push(prog.into());
    a
}

/// The label of a row run by the dynamically linked comparison build.
pub fn dynamic_label(label: &str) -> String {
    format!("{label} [dynamic build]")
}

/// `xclone run` (and, for the option sets where the comparison is judged, the same code linked
/// dynamically, to show what static linking buys)
/// against `unshare --fork` with the same options.
pub fn run_vs_unshare(
    xclone: Option<&Path>,
    xclone_dynamic: Option<&Path>,
    target: &Path,
    cfg: Rounds,
) -> Table {
    let mut table = Table::new(
        "commands/run-vs-unshare",
        "`xclone run` vs util-linux `unshare`, whole command",
        Unit::Us,
    );
    table.reference = Some("unshare: no namespace".into());
    let Some(unshare) = which("unshare") else {
        table.intro = "util-linux `unshare` is not installed".into();
        return table;
    };
    let mut cs: Vec<Contender<'_>> = Vec::new();
    for (name, opts) in option_sets() {
        let ua = unshare_args(&opts, target);
        let u = unshare.clone();
        cs.push(Contender::new(format!("unshare: {name}"), move || {
            run(&u, &ua)
        }));
        let label = format!("xclone run: {name}");
        table
            .pairs
            .push((format!("unshare: {name}"), label.clone()));
        let mut bins = vec![(label, xclone)];
        if name == "no namespace" || name == CONTAINER_SET {
            if let Some(xs) = xclone_dynamic {
                let l = dynamic_label(&format!("xclone run: {name}"));
                table.pairs.push((format!("unshare: {name}"), l.clone()));
                bins.push((l, Some(xs)));
            }
        }
        for (label, bin) in bins {
            match bin {
                None => table
                    .missing
                    .push((label, "the release xclone is not built".into())),
                Some(x) => {
                    let xa = xclone_run_args(&opts, target);
                    // A probe run decides whether `xclone run` can do this yet.
                    match run(x, &xa) {
                        Ok(()) => {
                            let x = x.to_path_buf();
                            cs.push(Contender::new(label, move || run(&x, &xa)));
                        }
                        Err(e) => table
                            .missing
                            .push((label, format!("not available yet ({e})"))),
                    }
                }
            }
        }
    }
    table.intro = format!(
        "`{}` against `xclone run`; both exec `{}`.",
        unshare.display(),
        target.display()
    );
    table.series = alternate(&mut cs, cfg);
    table
}

/// The sandbox both tools build (bubblewrap's option names, which `xclone run` shares), and
/// the target program bound where it lies.
pub fn sandbox_args(target: &Path) -> Vec<OsString> {
    let mut a = os(&["--unshare-all"]);
    a.extend(os(&xclone_testsupport::merged_usr()));
    a.extend(os(&[
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--new-session",
        "--ro-bind",
    ]));
    a.extend([target.into(), target.into(), "--".into(), target.into()]);
    a
}

/// The labels of the sandbox comparison.
pub const BWRAP_SANDBOX: &str = "bwrap: sandbox";
pub const XCLONE_SANDBOX: &str = "xclone run: sandbox";
pub const FLOOR_SANDBOX: &str = "kernel steps in C (floor): sandbox";

/// `xclone run` against `bwrap` building the same sandbox (`--unshare-all`, /usr read-only,
/// proc, dev, tmpfs, new session), whole command.
pub fn run_vs_bwrap(xclone: Option<&Path>, target: &Path, cfg: Rounds) -> Table {
    let mut table = Table::new(
        "commands/run-vs-bwrap",
        "`xclone run` vs `bwrap`, the same sandbox, whole command",
        Unit::Us,
    );
    table.reference = Some(BWRAP_SANDBOX.into());
    let Some(bwrap) = which("bwrap") else {
        table.intro = "bubblewrap (`bwrap`) is not installed".into();
        return table;
    };
    let args = sandbox_args(target);
    table.intro = format!(
        "Both run `{} {}`; `xclone run` takes the same options.",
        bwrap.display(),
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut cs = vec![Contender::new(BWRAP_SANDBOX, move || run(&bwrap, &args))];
    table
        .pairs
        .push((BWRAP_SANDBOX.into(), XCLONE_SANDBOX.into()));
    // What the same kernel steps cost with nothing around them (see floor.rs): the bound
    // below which no rewrite of `xclone run` can go.
    table
        .pairs
        .push((BWRAP_SANDBOX.into(), FLOOR_SANDBOX.into()));
    match crate::floor::build() {
        Err(e) => table
            .missing
            .push((FLOOR_SANDBOX.into(), format!("not built ({e})"))),
        Ok(floor) => {
            let fa = crate::floor::args(target);
            match run(&floor, &fa) {
                Ok(()) => cs.push(Contender::new(FLOOR_SANDBOX, move || run(&floor, &fa))),
                Err(e) => table
                    .missing
                    .push((FLOOR_SANDBOX.into(), format!("not available ({e})"))),
            }
        }
    }
    match xclone {
        None => table.missing.push((
            XCLONE_SANDBOX.into(),
            "the release xclone is not built".into(),
        )),
        Some(x) => {
            let mut xa = os(&["run"]);
            xa.extend(sandbox_args(target));
            match run(x, &xa) {
                Ok(()) => {
                    let x = x.to_path_buf();
                    cs.push(Contender::new(XCLONE_SANDBOX, move || run(&x, &xa)));
                }
                Err(e) => table
                    .missing
                    .push((XCLONE_SANDBOX.into(), format!("not available ({e})"))),
            }
        }
    }
    table.series = alternate(&mut cs, cfg);
    table
}

/// A process sitting in its own user, pid, mount, uts, ipc and net namespaces, for the
/// enter rows; killed on drop.
struct Sleeper {
    unshare: std::process::Child,
    inner: i32,
}

impl Sleeper {
    fn start(unshare: &Path) -> Result<Sleeper, String> {
        let sleep = which("sleep").ok_or("no `sleep` in PATH")?;
        let mut child = Command::new(unshare)
            .args(unshare_args(
                &["--map-root-user", "-U", "-p", "-m", "-u", "-i", "-n"],
                &sleep,
            ))
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("unshare: {e}"))?;
        let children = format!("/proc/{}/task/{}/children", child.id(), child.id());
        // unshare forks right after setting up; a short bounded wait for its child to show.
        for _ in 0..500 {
            let list = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(pid) = list.split_whitespace().next().and_then(|p| p.parse().ok()) {
                return Ok(Sleeper {
                    unshare: child,
                    inner: pid,
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err("the namespaced sleeper did not start".into())
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        // SAFETY: SIGKILL to the process this value started (PID 1 of its namespace, which
        // only an ancestor namespace can kill like this).
        unsafe { libc::kill(self.inner, libc::SIGKILL) };
        let _ = self.unshare.wait();
    }
}

/// The enter row the comparison is judged on: the same namespaces, no cgroup change.
pub const ENTER: &str = "xclone enter (-U -p -m -u -i -n --cgroup-of-caller)";
const ENTER_DEFAULT: &str = "xclone enter (-U -p -m -u -i -n, into the target's cgroup)";

pub fn enter_vs_nsenter(
    xclone: Option<&Path>,
    xclone_dynamic: Option<&Path>,
    target: &Path,
    cfg: Rounds,
) -> Table {
    let mut table = Table::new(
        "commands/enter-vs-nsenter",
        "`xclone enter` vs util-linux `nsenter`, whole command",
        Unit::Us,
    );
    table.reference = Some("nsenter".into());
    let (Some(nsenter), Some(unshare)) = (which("nsenter"), which("unshare")) else {
        table.intro = "util-linux `nsenter`/`unshare` are not installed".into();
        return table;
    };
    let sleeper = match Sleeper::start(&unshare) {
        Ok(s) => s,
        Err(e) => {
            table.intro = e;
            return table;
        }
    };
    let pid = sleeper.inner.to_string();
    let nargs = os(&["-t", &pid, "-U", "-p", "-m", "-u", "-i", "-n"])
        .into_iter()
        .chain([target.into()])
        .collect::<Vec<OsString>>();
    // The same namespaces, and (like nsenter) no cgroup change; then xclone's default, which
    // also creates the program in the target's cgroup (CLONE_INTO_CGROUP).
    let enter_args = |extra: &[&str]| -> Vec<OsString> {
        let mut a = os(&["enter", "-t", &pid, "-U", "-p", "-m", "-u", "-i", "-n"]);
        a.extend(os(extra));
        a.push("--".into());
        a.push(target.into());
        a
    };
    let mut rows = vec![
        (
            ENTER.to_string(),
            xclone,
            enter_args(&["--cgroup-of-caller"]),
        ),
        (ENTER_DEFAULT.to_string(), xclone, enter_args(&[])),
    ];
    if xclone_dynamic.is_some() {
        rows.push((
            dynamic_label(ENTER),
            xclone_dynamic,
            enter_args(&["--cgroup-of-caller"]),
        ));
    }
    let mut cs = vec![Contender::new("nsenter", || run(&nsenter, &nargs))];
    for (label, bin, xargs) in rows {
        table.pairs.push(("nsenter".into(), label.clone()));
        match bin {
            None => table
                .missing
                .push((label, "the release xclone is not built".into())),
            Some(x) => match run(x, &xargs) {
                Ok(()) => cs.push(Contender::new(label, move || run(x, &xargs))),
                Err(e) => table
                    .missing
                    .push((label, format!("not available yet ({e})"))),
            },
        }
    }
    table.intro = format!(
        "Target: a `sleep` in its own user (root mapped), pid, mount, uts, ipc and net \
         namespaces (PID {pid}); \
         `nsenter -t PID -U -p -m -u -i -n` enters all six and forks for the pid namespace."
    );
    table.series = alternate(&mut cs, cfg);
    drop(sleeper);
    table
}
