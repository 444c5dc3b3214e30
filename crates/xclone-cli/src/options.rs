//! The clone options shared by `run`, `explain` and `enter`, with util-linux `unshare` names,
//! turned into one library request.

use clap::Args;
use std::path::PathBuf;
use xclone::CloneFlags;

/// Options that describe the clone3 call itself.
#[derive(Args, Debug, Clone, Default)]
pub struct CloneOpts {
    /// Raw flags: hex/decimal, or a '|'-separated list of CLONE_ names (e.g. 'CLONE_NEWUTS|CLONE_NEWIPC').
    #[arg(long, value_name = "FLAGS", value_parser = parse_flags)]
    pub flags: Option<CloneFlags>,
    /// Signal sent to the parent when the child exits: a name (SIGCHLD, CHLD) or any number (0 for none).
    #[arg(long, value_name = "SIG", value_parser = parse_signal_raw)]
    pub exit_signal: Option<u64>,
    /// PIDs for the child, innermost pid namespace first (set_tid).
    #[arg(long, value_name = "PID[,PID...]", value_parser = parse_set_tid)]
    pub set_tid: Option<SetTid>,
    /// Create the child in this cgroup2 directory (CLONE_INTO_CGROUP).
    #[arg(long, value_name = "DIR")]
    pub into_cgroup: Option<PathBuf>,
    /// Reset the child's signal handlers to their defaults (CLONE_CLEAR_SIGHAND).
    #[arg(long)]
    pub clear_sighand: bool,
    /// New user namespace (CLONE_NEWUSER); with =FILE, bind-mount it on FILE so that it
    /// outlives the program (as unshare).
    #[arg(short = 'U', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub user: Option<Persist>,
    /// New mount namespace (CLONE_NEWNS); =FILE persists it (FILE's mount must have private
    /// propagation, as for unshare).
    #[arg(short = 'm', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub mount: Option<Persist>,
    /// New UTS namespace (CLONE_NEWUTS); =FILE persists it.
    #[arg(short = 'u', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub uts: Option<Persist>,
    /// New IPC namespace (CLONE_NEWIPC); =FILE persists it.
    #[arg(short = 'i', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub ipc: Option<Persist>,
    /// New network namespace (CLONE_NEWNET); =FILE persists it (e.g. /run/netns/NAME for
    /// `ip netns`).
    #[arg(short = 'n', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub net: Option<Persist>,
    /// New PID namespace (CLONE_NEWPID); the child is its PID 1. =FILE persists it.
    #[arg(short = 'p', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub pid: Option<Persist>,
    /// New cgroup namespace (CLONE_NEWCGROUP); =FILE persists it.
    #[arg(short = 'C', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub cgroup: Option<Persist>,
    /// New time namespace (CLONE_NEWTIME); =FILE persists it.
    #[arg(short = 'T', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub time: Option<Persist>,
}

/// A namespace option's value: `--net` alone, or `--net=FILE` (persist the namespace on
/// FILE).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Persist(pub Option<PathBuf>);

/// `""` (the option without `=FILE`) or a path.
pub fn parse_persist(s: &str) -> Result<Persist, String> {
    Ok(Persist((!s.is_empty()).then(|| PathBuf::from(s))))
}

/// `--set-tid` values: any unsigned 32-bit numbers, stored as the kernel's `pid_t`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetTid(pub Vec<i32>);

impl CloneOpts {
    /// The flag word these options ask for (namespace shorts, --clear-sighand, --flags).
    pub fn clone_flags(&self) -> CloneFlags {
        let mut f = self.flags.unwrap_or_default();
        let pairs = [
            (self.user.is_some(), CloneFlags::NEWUSER),
            (self.mount.is_some(), CloneFlags::NEWNS),
            (self.uts.is_some(), CloneFlags::NEWUTS),
            (self.ipc.is_some(), CloneFlags::NEWIPC),
            (self.net.is_some(), CloneFlags::NEWNET),
            (self.pid.is_some(), CloneFlags::NEWPID),
            (self.cgroup.is_some(), CloneFlags::NEWCGROUP),
            (self.time.is_some(), CloneFlags::NEWTIME),
            (self.clear_sighand, CloneFlags::CLEAR_SIGHAND),
        ];
        for (on, flag) in pairs {
            if on {
                f |= flag;
            }
        }
        f
    }

    /// The namespaces to persist: each type with its FILE (`--net=FILE`…).
    pub fn persist(&self) -> Vec<(CloneFlags, PathBuf)> {
        [
            (&self.user, CloneFlags::NEWUSER),
            (&self.mount, CloneFlags::NEWNS),
            (&self.uts, CloneFlags::NEWUTS),
            (&self.ipc, CloneFlags::NEWIPC),
            (&self.net, CloneFlags::NEWNET),
            (&self.pid, CloneFlags::NEWPID),
            (&self.cgroup, CloneFlags::NEWCGROUP),
            (&self.time, CloneFlags::NEWTIME),
        ]
        .into_iter()
        .filter_map(|(p, f)| Some((f, p.as_ref()?.0.clone()?)))
        .collect()
    }

    /// The exit signal: as given, else the shared default ([`default_exit_signal`]).
    pub fn exit_signal_for(&self, flags: CloneFlags) -> u64 {
        self.exit_signal
            .unwrap_or_else(|| default_exit_signal(flags))
    }
}

/// The exit signal `run` and `explain` use unless told otherwise: SIGCHLD like fork(), but 0
/// where clone3 demands it (a thread, and a `CLONE_PARENT` child, which the kernel gives the
/// caller's own exit signal: `copy_process` in kernel/fork.c).
pub fn default_exit_signal(flags: CloneFlags) -> u64 {
    if flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) {
        0
    } else {
        libc::SIGCHLD as u64
    }
}

pub fn parse_flags(s: &str) -> Result<CloneFlags, String> {
    CloneFlags::parse(s)
}

/// A signal by name (`SIGTERM`, `term`) or number; numbers are taken as they are.
pub fn parse_signal_raw(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if let Some(n) = parse_u64(t) {
        return Ok(n);
    }
    signal_by_name(t)
        .map(|n| n as u64)
        .ok_or_else(|| format!("unknown signal {s:?} (use a name such as SIGTERM or a number)"))
}

/// A signal by name or number that must be a real signal (1..=64).
#[allow(dead_code)] // for `run --kill-signal`-style options, which land with `run`
pub fn parse_signal(s: &str) -> Result<i32, String> {
    let n = parse_signal_raw(s)?;
    if (1..=64).contains(&n) {
        Ok(n as i32)
    } else {
        Err(format!("{s:?} is not a signal number (1-64)"))
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `SIGTERM`, `TERM`, `term`, `SIGRTMIN+3`, `RTMAX-1`.
pub fn signal_by_name(s: &str) -> Option<i32> {
    let up = s.to_ascii_uppercase();
    let bare = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = SIGNALS.iter().find(|(name, _)| *name == bare) {
        return Some(n);
    }
    let rt = |base: i32, rest: &str| -> Option<i32> {
        if rest.is_empty() {
            return Some(base);
        }
        let off: i32 = rest.get(1..)?.parse().ok()?;
        let n = if rest.starts_with('+') {
            base + off
        } else if rest.starts_with('-') {
            base - off
        } else {
            return None;
        };
        (libc::SIGRTMIN()..=libc::SIGRTMAX())
            .contains(&n)
            .then_some(n)
    };
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return rt(libc::SIGRTMIN(), rest);
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return rt(libc::SIGRTMAX(), rest);
    }
    None
}

/// The name of a signal for messages (`SIGTERM`), or its number.
pub fn signal_name(n: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, v)| *v == n)
        .map(|(name, _)| format!("SIG{name}"))
        .unwrap_or_else(|| n.to_string())
}

/// `PID[,PID…]`, each an unsigned 32-bit number (stored bit-for-bit as `pid_t`).
pub fn parse_set_tid(s: &str) -> Result<SetTid, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        let v: u32 = parse_u64(part)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{part:?} is not an unsigned 32-bit PID"))?;
        out.push(v as i32);
    }
    Ok(SetTid(out))
}

/// `KEY=VALUE` of `--env` (`run`, `enter`): the value may hold `=`, the key may not be empty.
pub fn parse_env(s: &str) -> Result<(std::ffi::OsString, std::ffi::OsString), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.into(), v.into())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal_raw("SIGCHLD"), Ok(17));
        assert_eq!(parse_signal_raw("term"), Ok(15));
        assert_eq!(parse_signal_raw("65"), Ok(65));
        assert_eq!(parse_signal_raw("0x100000011"), Ok(0x1_0000_0011));
        assert!(parse_signal_raw("NOPE").is_err());
        assert_eq!(parse_signal("KILL"), Ok(9));
        assert!(parse_signal("65").is_err());
        assert_eq!(signal_by_name("SIGRTMIN+1"), Some(libc::SIGRTMIN() + 1));
        assert_eq!(signal_name(15), "SIGTERM");
    }

    #[test]
    fn set_tid_takes_u32() {
        assert_eq!(parse_set_tid("1,30001"), Ok(SetTid(vec![1, 30001])));
        assert_eq!(parse_set_tid("4294967295"), Ok(SetTid(vec![-1])));
        assert!(parse_set_tid("4294967296").is_err());
        assert!(parse_set_tid("-5").is_err());
        assert!(parse_set_tid("").is_err());
    }

    #[test]
    fn flags_from_shorts() {
        let on = || Some(Persist(None));
        let o = CloneOpts {
            user: on(),
            pid: on(),
            time: Some(Persist(Some("/x".into()))),
            ..Default::default()
        };
        assert_eq!(o.persist(), [(CloneFlags::NEWTIME, PathBuf::from("/x"))]);
        assert_eq!(
            o.clone_flags(),
            CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::NEWTIME
        );
    }
}
