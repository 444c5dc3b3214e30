//! `xclone run [OPTIONS] [--] PROGRAM [ARGS…]`: run a program as a child created with the
//! requested clone3 options, forward signals to it, and exit with its status.

use crate::exit;
use crate::isolation::{kernel_accepts, Ids, IsolationOpts, Resolved};
use crate::options::{parse_signal, signal_name, CloneOpts};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::path::PathBuf;
use xclone::raw::fdnum::{dup_number, set_cloexec_number};
use xclone::raw::signal::{self, SigSet, SignalFd, SI_KERNEL};
use xclone::{Child, Command, ExitStatus, FallbackPolicy, SpawnError, Step};

/// The signals xclone passes on to the program.
const FORWARDED: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: the program's; 128+N if it was killed by signal N (xclone \
    then kills itself with the same signal where it can); 125 if xclone failed, 126 if the \
    program could not be executed, 127 if it was not found.\n\nForwards SIGINT, SIGTERM, SIGHUP, \
    SIGQUIT, SIGUSR1 and SIGUSR2 to the program (not those a terminal already sent to the \
    whole process group). Signals ignored when xclone starts (nohup, background jobs) stay \
    ignored in the program and are not forwarded."
)]
pub struct RunArgs {
    #[command(flatten)]
    pub clone: CloneOpts,
    #[command(flatten)]
    pub isolation: IsolationOpts,
    /// Kill the program with SIG (default SIGKILL) when xclone dies (PR_SET_PDEATHSIG).
    #[arg(long, value_name = "SIG", num_args = 0..=1, require_equals = true,
          default_missing_value = "SIGKILL", value_parser = parse_signal)]
    pub kill_child: Option<i32>,
    /// Working directory of the program.
    #[arg(long, value_name = "DIR")]
    pub wd: Option<PathBuf>,
    /// Set an environment variable for the program (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::options::parse_env)]
    pub env: Vec<(OsString, OsString)>,
    /// Make xclone's descriptor PARENT appear as CHILD in the program (repeatable).
    #[arg(long = "fd-map", value_name = "PARENT:CHILD", value_parser = parse_fd_map)]
    pub fd_map: Vec<(RawFd, RawFd)>,
    /// Write JSON Lines to descriptor FD: {"child-pid": …} once the program exists, and
    /// {"exit-code": …} or {"signal": …} when it ends.
    #[arg(long, value_name = "FD")]
    pub json_status_fd: Option<RawFd>,
    /// Never fall back to clone(2) where clone3 is missing or filtered.
    #[arg(long)]
    pub no_fallback: bool,
    /// Print the clone_args that would be passed and the validator's verdict; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    pub command: Vec<OsString>,
}

fn parse_fd_map(s: &str) -> Result<(RawFd, RawFd), String> {
    let err = || format!("{s:?} is not PARENT:CHILD (two descriptor numbers)");
    let (p, c) = s.split_once(':').ok_or_else(err)?;
    let p: RawFd = p.trim().parse().map_err(|_| err())?;
    let c: RawFd = c.trim().parse().map_err(|_| err())?;
    if p < 0 || c < 0 {
        return Err(err());
    }
    Ok((p, c))
}

pub fn run(a: RunArgs) -> i32 {
    let json = match status_file(a.json_status_fd) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let (mut cmd, resolved) = match build(&a) {
        Ok(c) => c,
        Err(msg) => return exit::fail(msg),
    };
    if a.dry_run {
        return dry_run(&cmd, &resolved);
    }

    let sigfd = match forwarded_signals() {
        Ok(fd) => fd,
        Err(code) => return code,
    };

    // The kernel is the judge: the request is not validated beforehand, since probing the
    // kernel and reading the caller from /proc would cost more than the spawn itself (about
    // a millisecond, see BENCHMARKS.md). When clone3 refuses, nothing was created, and the
    // validator explains the refusal as `xclone explain` would.
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if SpawnError::from_io(&e).is_none() => match judge(&cmd) {
            Ok((v, _)) if !v.is_ok() => {
                let p = &v.problems[0];
                return exit::fail(format!(
                    "refused: clone3 would fail with {}: {}; fix: {}",
                    p.errno.name(),
                    p.cause,
                    p.fix
                ));
            }
            _ => return spawn_failed(&e),
        },
        Err(e) => return spawn_failed(&e),
    };
    follow(child, &sigfd, json)
}

/// Reports the program on the status descriptor, forwards signals until it ends, and turns
/// its status into ours (`run` and `enter` alike).
pub(crate) fn follow(child: Child, sigfd: &SignalFd, mut json: Option<File>) -> i32 {
    if let Some(j) = json.as_mut() {
        json_started(j, &child);
    }
    let status = match supervise(child, sigfd) {
        Ok(s) => s,
        Err(e) => return exit::fail(format!("waiting for the program: {}", errno_text(&e))),
    };
    if let Some(j) = json.as_mut() {
        json_ended(j, status);
    }
    drop(json);
    exit_like(status)
}

/// The `--json-status-fd` descriptor as a file, or the exit status of the failure (after
/// its one line on stderr).
pub(crate) fn status_file(fd: Option<RawFd>) -> Result<Option<File>, i32> {
    fd.map(open_status_fd)
        .transpose()
        .map_err(|e| exit::fail(format!("--json-status-fd {}: {e}", fd.unwrap_or(-1))))
}

/// Blocks the forwarded signals before the child exists, so that none is lost or kills
/// xclone (the child starts with an empty mask anyway), and returns the descriptor they
/// arrive on; or the exit status of the failure.
pub(crate) fn forwarded_signals() -> Result<SignalFd, i32> {
    let set = SigSet::from_signals(FORWARDED);
    if let Err(e) = signal::block(&set) {
        return Err(exit::fail(format!("rt_sigprocmask: {}", xclone::Errno(e))));
    }
    SignalFd::new(&set).map_err(|e| exit::fail(format!("signalfd: {}", errno_text(&e))))
}

/// The status descriptor, made close-on-exec so the program does not hold it open.
fn open_status_fd(fd: RawFd) -> io::Result<File> {
    let owned = dup_number(fd)?;
    set_cloexec_number(fd)?;
    Ok(File::from(owned))
}

fn build(a: &RunArgs) -> Result<(Command, Resolved), String> {
    let (program, args) = a.command.split_first().ok_or("no program given")?;
    let o = &a.clone;
    let resolved = a
        .isolation
        .resolve(o.clone_flags(), Ids::current(), kernel_accepts)?;
    let mut cmd = if resolved.init {
        init_command(program, args)?
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    };
    for (k, v) in &a.env {
        cmd.env(k, v);
    }
    if let Some(d) = &a.wd {
        cmd.current_dir(d);
    }
    cmd.flags(resolved.flags);
    cmd.isolation(resolved.isolation.clone());
    if let Some(sig) = o.exit_signal.or(resolved.exit_signal) {
        cmd.exit_signal(sig);
    }
    if let Some(t) = &o.set_tid {
        cmd.set_tid(&t.0);
    }
    if let Some(dir) = &o.into_cgroup {
        let fd = xclone::isolate::open_cgroup2_dir(dir).map_err(|e| e.to_string())?;
        cmd.into_cgroup(fd);
    }
    if let Some(sig) = a.kill_child {
        cmd.die_with_parent(Some(sig));
    }
    if a.no_fallback {
        cmd.clone3_fallback(FallbackPolicy::Never);
    }
    for &(parent, child) in &a.fd_map {
        let fd = dup_number(parent)
            .map_err(|e| format!("--fd-map {parent}:{child}: {}", errno_text(&e)))?;
        // Only the mapping should reach the program, not the original number too.
        if !a.fd_map.iter().any(|&(_, c)| c == parent) && parent > 2 {
            set_cloexec_number(parent)
                .map_err(|e| format!("--fd-map {parent}:{child}: {}", errno_text(&e)))?;
        }
        cmd.fd_map(fd, child);
    }
    Ok((cmd, resolved))
}

/// `xclone __init -- PROGRAM ARGS…`, executed from this very binary through a descriptor
/// opened now (so neither a new root nor new mounts can hide it).
fn init_command(program: &OsString, args: &[OsString]) -> Result<Command, String> {
    let exe = rustix::fs::open(
        "/proc/self/exe",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| {
        format!(
            "--init: open /proc/self/exe: {}",
            xclone::Errno(e.raw_os_error())
        )
    })?;
    let mut c = Command::new("xclone");
    c.program_fd(exe)
        .arg("__init")
        .arg("--")
        .arg(program)
        .args(args);
    Ok(c)
}

/// `EBADF (Bad file descriptor)` for an OS error, else the error's text.
pub(crate) fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => xclone::Errno(n).to_string(),
        None => e.to_string(),
    }
}

/// One line naming the step and errno; 127 when the program was not found, 126 when it
/// could not be executed, 125 for everything else.
pub(crate) fn spawn_failed(e: &io::Error) -> i32 {
    match SpawnError::from_io(e) {
        Some(se) => {
            let what = if se.detail().is_empty() {
                se.step().name().to_string()
            } else {
                format!("{} {}", se.step().name(), se.detail())
            };
            match se.hint() {
                Some(h) => eprintln!("xclone: {what}: {} ({h})", se.errno()),
                None => eprintln!("xclone: {what}: {}", se.errno()),
            }
            match se.step() {
                Step::Execve if se.is_not_found() => exit::NOT_FOUND,
                Step::Execve => exit::CANNOT_EXECUTE,
                _ => exit::FAILURE,
            }
        }
        None => exit::fail(e),
    }
}

/// Waits for the child on its pidfd while passing the forwarded signals on to it.
pub(crate) fn supervise(mut child: Child, sigfd: &SignalFd) -> io::Result<ExitStatus> {
    use rustix::event::{poll, PollFd, PollFlags};
    loop {
        let (child_ready, sig_ready) = {
            let mut fds = [
                PollFd::new(child.pidfd(), PollFlags::IN),
                PollFd::new(sigfd, PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Err(rustix::io::Errno::INTR) => continue,
                r => r?,
            };
            (!fds[0].revents().is_empty(), !fds[1].revents().is_empty())
        };
        if sig_ready {
            let info = sigfd.read()?;
            // A terminal sends ^C and friends to the whole foreground process group, the
            // program included: passing it on would deliver it twice.
            if info.code != SI_KERNEL {
                match child.signal(info.signo) {
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                    r => r?,
                }
            }
        }
        if child_ready {
            if let Some(s) = child.try_wait()? {
                return Ok(s);
            }
        }
    }
}

/// Exits the way the program did: with its code, or killed by its signal (re-raised on
/// xclone itself, as util-linux unshare does), else 128+N.
pub(crate) fn exit_like(status: ExitStatus) -> i32 {
    if let Some(c) = status.code() {
        return c;
    }
    let Some(sig) = status.signal() else {
        return status.shell_code();
    };
    // Dying of a core-dumping signal must not leave a core file of xclone itself.
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: None,
        },
    );
    let _ = io::stdout().flush();
    let _ = signal::raise_default(sig);
    128 + sig
}

/// The `--json-status-fd` line once the program exists: its PID and its PID at every
/// pid-namespace level from ours inwards.
pub(crate) fn json_started(j: &mut File, child: &Child) {
    let pids = child.pidfd().ns_pids().unwrap_or_default();
    let line = serde_json::json!({ "child-pid": child.id(), "ns-pids": pids });
    let _ = writeln!(j, "{line}").and_then(|_| j.flush());
}

/// The `--json-status-fd` line when the program has ended.
pub(crate) fn json_ended(j: &mut File, status: ExitStatus) {
    let line = match (status.code(), status.signal()) {
        (Some(c), _) => serde_json::json!({ "exit-code": c }),
        (None, Some(s)) => serde_json::json!({
            "signal": s,
            "signal-name": signal_name(s),
            "core-dumped": status.core_dumped(),
        }),
        _ => serde_json::json!({ "exit-code": status.shell_code() }),
    };
    let _ = writeln!(j, "{line}").and_then(|_| j.flush());
}

fn dry_run(cmd: &Command, resolved: &Resolved) -> i32 {
    let args = cmd.get_clone_args();
    let mut pidfd_slot = -1;
    let enc = args.encode(Some(&mut pidfd_slot));
    let raw = enc.raw;
    println!(
        "clone3(args, {}): clone_args for {}",
        enc.size,
        cmd.get_program().to_string_lossy()
    );
    for (name, value) in raw.fields() {
        let shown = match name {
            "flags" => format!(
                "{value:#x} {}",
                xclone::CloneFlags::from_bits_retain(value).to_names_string()
            ),
            "pidfd" => "<address of the pidfd slot, filled in at spawn>".to_string(),
            "exit_signal" => match value {
                0 => "0 (none)".to_string(),
                1..=64 => format!("{value} ({})", signal_name(value as i32)),
                _ => format!("{value:#x}"),
            },
            "stack" => "<lowest address of the child stack, mapped at spawn above a guard page>"
                .to_string(),
            "stack_size" => format!("{} (the spawn stack)", xclone::raw::stack::SPAWN_STACK_SIZE),
            "set_tid" if value != 0 => format!("{:?}", args.get_set_tid()),
            "cgroup" if args.get_cgroup().is_some() => {
                format!("{value} (descriptor of the cgroup directory)")
            }
            _ => value.to_string(),
        };
        println!("  {name:<13}{shown}");
    }
    if raw.flags & xclone::CloneFlags::CLEAR_SIGHAND.bits() != 0 && !cmd_asked_clear_sighand(cmd) {
        println!("  (CLONE_CLEAR_SIGHAND is added by the spawner; without it the child resets handlers itself)");
    }
    print_isolation(cmd, resolved);
    match judge(cmd) {
        Ok((verdict, features)) => {
            println!();
            crate::cmd::explain::print_human(&verdict, features, &[]);
            if verdict.is_ok() {
                0
            } else {
                exit::FAILURE
            }
        }
        Err(e) => exit::fail(format!("cannot judge the request: {e}")),
    }
}

/// What happens around the clone besides the clone_args: the maps handshake, the child's
/// isolation steps, the init.
fn print_isolation(cmd: &Command, resolved: &Resolved) {
    let iso = cmd.get_isolation();
    let mut lines = Vec::new();
    if cmd.uses_handshake() {
        lines.push(
            "handshake spawn: CLONE_VM without CLONE_VFORK; the child waits on a socket until \
             the parent has written its id maps"
                .to_string(),
        );
        if let Some(m) = &iso.id_maps {
            match xclone::isolate::MapPlan::prepare(m) {
                Ok(plan) => {
                    lines.extend(plan.describe().into_iter().map(|l| format!("parent: {l}")))
                }
                Err(e) => lines.push(format!("parent: cannot write the maps: {e}")),
            }
        }
    }
    lines.extend(
        iso.describe_child_steps(cmd.no_new_privs_by_flag())
            .into_iter()
            .map(|l| format!("child: {l}")),
    );
    if resolved.init {
        lines.push(
            "exec: xclone __init (PID 1 of the new pid namespace: forwards signals to the \
             program, reaps orphans), which runs the program as PID 2"
                .into(),
        );
    }
    lines.extend(resolved.notes.iter().cloned());
    if !lines.is_empty() {
        println!();
        println!("isolation, in this order:");
        for l in lines {
            println!("  {l}");
        }
    }
}

fn cmd_asked_clear_sighand(cmd: &Command) -> bool {
    // get_clone_args() adds CLEAR_SIGHAND itself; the request's own flags are what was asked.
    cmd.get_requested_flags()
        .contains(xclone::CloneFlags::CLEAR_SIGHAND)
}

/// The validator's verdict on the exact clone_args the spawner will pass, for this kernel
/// and this caller.
fn judge(
    cmd: &Command,
) -> Result<(xclone::validate::Verdict, &'static xclone::Features), xclone::Error> {
    let caller = xclone::Caller::current()?;
    let features = xclone::Features::probe();
    Ok((cmd.validate(features, &caller), features))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(parse_fd_map("5:3"), Ok((5, 3)));
        assert!(parse_fd_map("5").is_err());
        assert!(parse_fd_map("-1:3").is_err());
        assert_eq!(
            crate::options::parse_env("A=b=c"),
            Ok(("A".into(), "b=c".into()))
        );
        assert!(crate::options::parse_env("=x").is_err());
        assert!(crate::options::parse_env("novalue").is_err());
    }
}
