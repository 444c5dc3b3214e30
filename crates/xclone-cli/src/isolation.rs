//! The isolation options of `run`, with util-linux `unshare` names, and the command-line
//! rules that are not the kernel's (those are the validator's): which option needs or
//! implies which namespace.
//!
//! Like `unshare`: the map options imply `-U`, `-r`/`--map-current-user`/`--map-group` imply
//! `--setgroups deny`, `--mount-proc` implies `-m`, and a new mount namespace gets private
//! propagation unless `--propagation` says otherwise. Unlike `unshare`, `--hostname` exists
//! (it needs `-u`), `--monotonic`/`--boottime` need `-T` (as there), and `--init` puts a
//! reaper in front of the program.

use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use xclone::isolate::{
    ClockOffset, IdMap, IdMaps, IdRange, Isolation, MountRequest, Propagation, RootMode, SetGroups,
    TimeOffsets,
};
use xclone::{probe::Features, CloneFlags};

/// Isolation beyond the namespace flags.
#[derive(Args, Debug, Clone, Default)]
pub struct IsolationOpts {
    /// Map your effective uid and gid to root in the new user namespace (implies -U and
    /// --setgroups deny).
    #[arg(short = 'r', long, help_heading = "User namespace")]
    pub map_root_user: bool,
    /// Map your effective uid and gid to the same ids inside (implies -U and --setgroups deny).
    #[arg(short = 'c', long, help_heading = "User namespace")]
    pub map_current_user: bool,
    /// Map your effective uid to UID (a number or a user name) inside (implies -U).
    #[arg(long, value_name = "UID", value_parser = crate::ids::parse_uid, help_heading = "User namespace")]
    pub map_user: Option<u32>,
    /// Map your effective gid to GID (a number or a group name) inside (implies -U and
    /// --setgroups deny).
    #[arg(long, value_name = "GID", value_parser = crate::ids::parse_gid, help_heading = "User namespace")]
    pub map_group: Option<u32>,
    /// Map a uid range (repeatable; implies -U): INNER:OUTER:COUNT (util-linux 2.39),
    /// OUTER,INNER,COUNT (2.38), `auto` (your first /etc/subuid range from 0) or `subids`
    /// (that range onto itself). Written through newuidmap when you lack CAP_SETUID.
    #[arg(long, value_name = "MAP", value_parser = parse_map_spec, help_heading = "User namespace")]
    pub map_users: Vec<MapSpec>,
    /// Map a gid range (repeatable; implies -U), in the forms of --map-users (/etc/subgid).
    /// Written through newgidmap when you lack CAP_SETGID.
    #[arg(long, value_name = "MAP", value_parser = parse_map_spec, help_heading = "User namespace")]
    pub map_groups: Vec<MapSpec>,
    /// Map your first /etc/subuid and /etc/subgid ranges to ids from 0 (--map-users=auto
    /// --map-groups=auto; implies -U and --setgroups allow).
    #[arg(long, help_heading = "User namespace")]
    pub map_auto: bool,
    /// Map your first /etc/subuid and /etc/subgid ranges onto themselves (implies -U and
    /// --setgroups allow).
    #[arg(long, help_heading = "User namespace")]
    pub map_subids: bool,
    /// Allow or deny setgroups(2) in the new user namespace.
    #[arg(long, value_name = "allow|deny", value_parser = parse_setgroups, help_heading = "User namespace")]
    pub setgroups: Option<SetGroups>,
    /// Keep the capabilities the program holds in its new user namespace across exec, as
    /// unshare --keep-caps: last before exec the inheritable set takes the permitted set and
    /// every effective capability is raised into the ambient set. Without a new user
    /// namespace it does nothing (as unshare).
    #[arg(long, help_heading = "User namespace")]
    pub keep_caps: bool,

    /// Mount a fresh proc on DIR (default /proc; inside --root if given) in a new mount
    /// namespace (implies -m; add -p to see only the program's processes).
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = "/proc", help_heading = "Mounts")]
    pub mount_proc: Option<PathBuf>,
    /// Propagation of the new mount namespace's mounts (default private).
    #[arg(long, value_name = "private|shared|slave|unchanged", value_parser = parse_propagation, help_heading = "Mounts")]
    pub propagation: Option<Propagation>,
    /// Run the program with DIR as its root directory (chroot, or pivot_root with --pivot-root).
    #[arg(short = 'R', long, value_name = "DIR", help_heading = "Mounts")]
    pub root: Option<PathBuf>,
    /// Change root with pivot_root(2) and detach the old root (needs --root; implies -m).
    #[arg(long, help_heading = "Mounts")]
    pub pivot_root: bool,
    /// Host name in the new UTS namespace (needs -u).
    #[arg(long, value_name = "NAME", help_heading = "Other namespaces")]
    pub hostname: Option<OsString>,
    /// CLOCK_MONOTONIC offset in seconds, e.g. 86400 or -0.25 (needs -T).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true, value_parser = parse_offset,
          help_heading = "Other namespaces")]
    pub monotonic: Option<ClockOffset>,
    /// CLOCK_BOOTTIME offset in seconds (needs -T).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true, value_parser = parse_offset,
          help_heading = "Other namespaces")]
    pub boottime: Option<ClockOffset>,
    /// Run a tiny init as PID 1 of the new pid namespace (needs -p): it forwards signals to
    /// the program and reaps orphans. Without it the program is PID 1 and ignores signals it
    /// has no handler for (SIGINT, SIGTERM...).
    #[arg(long, help_heading = "Other namespaces")]
    pub init: bool,

    /// Set no_new_privs on the program (CLONE_NNP where the kernel has it, else prctl in the
    /// child before exec).
    #[arg(long, help_heading = "Lifetime and privileges")]
    pub no_new_privs: bool,
    /// The kernel reaps the child itself (CLONE_AUTOREAP, Linux 7.1; exit signal 0).
    #[arg(long, help_heading = "Lifetime and privileges")]
    pub autoreap: bool,
    /// Kill the child when xclone's pidfd closes (CLONE_PIDFD_AUTOKILL, Linux 7.1; implies
    /// --autoreap).
    #[arg(long, help_heading = "Lifetime and privileges")]
    pub pidfd_autokill: bool,
    /// A new, empty mount namespace (CLONE_EMPTY_MNTNS, Linux 7.1).
    #[arg(long, help_heading = "Lifetime and privileges")]
    pub empty_mount_ns: bool,
}

/// One `--map-users`/`--map-groups` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapSpec {
    Range(IdRange),
    /// The caller's first subordinate range, from id 0.
    Auto,
    /// The caller's first subordinate range, onto itself.
    Subids,
}

/// `INNER:OUTER:COUNT` (util-linux 2.39), `OUTER,INNER,COUNT` (2.38), `auto`, `subids`.
fn parse_map_spec(s: &str) -> Result<MapSpec, String> {
    match s {
        "auto" => return Ok(MapSpec::Auto),
        "subids" => return Ok(MapSpec::Subids),
        _ => {}
    }
    if s.contains(',') {
        let p: Vec<&str> = s.split(',').collect();
        if p.len() != 3 {
            return Err(format!("{s:?} is not OUTER,INNER,COUNT"));
        }
        return format!("{}:{}:{}", p[1], p[0], p[2])
            .parse()
            .map(MapSpec::Range)
            .map_err(|_| format!("{s:?} is not OUTER,INNER,COUNT (three unsigned numbers)"));
    }
    s.parse().map(MapSpec::Range)
}

impl MapSpec {
    /// The range this stands for, reading /etc/subuid or /etc/subgid for the user `uid` (both
    /// files list a *user's* ranges).
    fn range(self, uid: u32, subgid: bool) -> Result<IdRange, String> {
        let sub = |inside_from_zero: bool| {
            let (start, count) = crate::ids::first_subid_range(uid, subgid)?;
            Ok(IdRange {
                inside: if inside_from_zero { 0 } else { start },
                outside: start,
                count,
            })
        };
        match self {
            MapSpec::Range(r) => Ok(r),
            MapSpec::Auto => sub(true),
            MapSpec::Subids => sub(false),
        }
    }
}
/// `range` without the ids of the one-id line `single`, as unshare(1) maps a range next to
/// `-r`/`-c`/`--map-user`: inside ids from `range.inside` upwards (skipping the single's
/// inside id) are paired in order with outside ids from `range.outside` upwards (skipping its
/// outside id); when the single line falls within the range on either side, the range gives
/// up one id (its top one). At most three lines.
fn around_single(range: IdRange, single: Option<IdRange>) -> Vec<IdRange> {
    let Some(one) = single else {
        return vec![range];
    };
    let (i0, o0, n) = (
        u64::from(range.inside),
        u64::from(range.outside),
        u64::from(range.count),
    );
    let (si, so) = (u64::from(one.inside), u64::from(one.outside));
    let within = |x: u64, start: u64| x >= start && x < start + n;
    let mut left = if within(si, i0) || within(so, o0) {
        n.saturating_sub(1)
    } else {
        n
    };
    let (mut inside, mut outside) = (i0, o0);
    let mut out = Vec::new();
    while left > 0 {
        if inside == si {
            inside += 1;
            continue;
        }
        if outside == so {
            outside += 1;
            continue;
        }
        let to_skip = |at: u64, skip: u64| if skip > at { skip - at } else { u64::MAX };
        let len = left.min(to_skip(inside, si)).min(to_skip(outside, so));
        // Ids above u32::MAX cannot be mapped; the kernel would refuse such a line anyway.
        let (Ok(i), Ok(o), Ok(c)) = (
            u32::try_from(inside),
            u32::try_from(outside),
            u32::try_from(len),
        ) else {
            break;
        };
        out.push(IdRange {
            inside: i,
            outside: o,
            count: c,
        });
        inside += len;
        outside += len;
        left -= len;
    }
    out
}

fn parse_setgroups(s: &str) -> Result<SetGroups, String> {
    s.parse()
}
fn parse_propagation(s: &str) -> Result<Propagation, String> {
    s.parse()
}
fn parse_offset(s: &str) -> Result<ClockOffset, String> {
    s.parse()
}

impl IsolationOpts {
    /// Whether the program may call setgroups(2) in its new user namespace: not where the
    /// options imply `--setgroups deny` (as `-r` does) and no `--setgroups allow` overrides it.
    pub fn allows_setgroups(&self) -> bool {
        match self.setgroups {
            Some(s) => s == SetGroups::Allow,
            None => !(self.map_root_user || self.map_current_user || self.map_group.is_some()),
        }
    }
}

/// What the options come to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The clone flags, with what the options imply added.
    pub flags: CloneFlags,
    pub isolation: Isolation,
    /// The exit signal the options imply (`--autoreap`: 0), if any.
    pub exit_signal: Option<u64>,
    pub init: bool,
    /// Notes for `--dry-run` (what is done another way than asked, and why).
    pub notes: Vec<String>,
    /// A time namespace xclone makes and enters itself before the spawn, with these offsets
    /// (set by `run` on kernels where a spawned child cannot write its own offsets).
    pub time_by_xclone: Option<TimeOffsets>,
}

/// The credentials the maps are made from.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    pub euid: u32,
    pub egid: u32,
}

impl Ids {
    pub fn current() -> Self {
        Ids {
            euid: rustix::process::geteuid().as_raw(),
            egid: rustix::process::getegid().as_raw(),
        }
    }
}

impl IsolationOpts {
    /// Applies the options to the clone `flags` (namespace shorts etc.), checking the rules
    /// of the command line. `accepts` says whether this kernel's clone3 takes a flag.
    pub fn resolve(
        &self,
        mut flags: CloneFlags,
        ids: Ids,
        accepts: impl Fn(CloneFlags) -> bool,
    ) -> Result<Resolved, String> {
        let mut notes = Vec::new();

        // User namespace and maps.
        let mut uid = IdMap::default();
        let mut gid = IdMap::default();
        let mut setgroups = None;
        if self.map_root_user {
            uid.push(IdRange::single(0, ids.euid));
            gid.push(IdRange::single(0, ids.egid));
            setgroups = Some(SetGroups::Deny);
        }
        if self.map_current_user {
            if self.map_root_user {
                return Err("--map-root-user and --map-current-user exclude each other".into());
            }
            uid.push(IdRange::single(ids.euid, ids.euid));
            gid.push(IdRange::single(ids.egid, ids.egid));
            setgroups = Some(SetGroups::Deny);
        }
        if let Some(u) = self.map_user {
            if self.map_root_user || self.map_current_user {
                return Err(
                    "--map-user replaces the uid line of -r/--map-current-user: give one".into(),
                );
            }
            uid.push(IdRange::single(u, ids.euid));
        }
        if let Some(g) = self.map_group {
            if self.map_root_user || self.map_current_user {
                return Err(
                    "--map-group replaces the gid line of -r/--map-current-user: give one".into(),
                );
            }
            gid.push(IdRange::single(g, ids.egid));
            setgroups = Some(SetGroups::Deny);
        }
        let mut uspecs = self.map_users.clone();
        let mut gspecs = self.map_groups.clone();
        for (on, spec) in [
            (self.map_auto, MapSpec::Auto),
            (self.map_subids, MapSpec::Subids),
        ] {
            if on {
                uspecs.push(spec);
                gspecs.push(spec);
                setgroups = Some(SetGroups::Allow);
            }
        }
        // As unshare: a range next to a single line (-r, -c, --map-user/--map-group) leaves
        // out that line's ids on both sides.
        let single_uid = uid.0.first().copied();
        let single_gid = gid.0.first().copied();
        for s in uspecs {
            let r = s.range(ids.euid, false)?;
            uid.0.extend(around_single(r, single_uid));
        }
        for s in gspecs {
            let r = s.range(ids.euid, true)?;
            gid.0.extend(around_single(r, single_gid));
        }
        if self.setgroups.is_some() {
            setgroups = self.setgroups;
        }
        let any_map = !uid.is_empty() || !gid.is_empty();
        if any_map {
            flags |= CloneFlags::NEWUSER;
        }
        if self.setgroups.is_some() && !flags.contains(CloneFlags::NEWUSER) {
            return Err("--setgroups needs a new user namespace (-U)".into());
        }
        let id_maps = (any_map || setgroups.is_some()).then_some(IdMaps {
            uid,
            gid,
            setgroups,
        });

        // Mounts.
        if self.mount_proc.is_some() {
            flags |= CloneFlags::NEWNS;
        }
        if self.pivot_root {
            if self.root.is_none() {
                return Err("--pivot-root needs --root DIR".into());
            }
            flags |= CloneFlags::NEWNS;
        }
        let new_mount_ns =
            flags.intersects(CloneFlags::NEWNS | CloneFlags::EMPTY_MNTNS) || self.empty_mount_ns;
        if self.propagation.is_some() && !new_mount_ns {
            return Err("--propagation needs a new mount namespace (-m)".into());
        }
        let propagation = if new_mount_ns {
            Some(self.propagation.unwrap_or_default())
        } else {
            None
        };
        if self.pivot_root && propagation == Some(Propagation::Shared) {
            return Err(
                "--pivot-root cannot work with --propagation shared (pivot_root(2) \
                        refuses shared mounts)"
                    .into(),
            );
        }
        let mut mounts = MountRequest::default();
        mounts.propagation = propagation;
        mounts.root = self.root.clone().map(|d| {
            (
                d,
                if self.pivot_root {
                    RootMode::PivotRoot
                } else {
                    RootMode::Chroot
                },
            )
        });
        mounts.proc_dir = self.mount_proc.clone();

        // UTS and time.
        if self.hostname.is_some() && !flags.contains(CloneFlags::NEWUTS) {
            return Err(
                "--hostname needs a new UTS namespace (-u), or it would rename this host".into(),
            );
        }
        let time_offsets = TimeOffsets {
            monotonic: self.monotonic,
            boottime: self.boottime,
        };
        if !time_offsets.is_empty() && !flags.contains(CloneFlags::NEWTIME) {
            return Err("--monotonic and --boottime need a new time namespace (-T)".into());
        }
        if self.init && !flags.contains(CloneFlags::NEWPID) {
            return Err(
                "--init needs a new pid namespace (-p): it is there to be its PID 1".into(),
            );
        }

        // The newest flags: the probe decides.
        let mut exit_signal = None;
        let needs_71 = |opt: &str, flag: CloneFlags| -> Result<(), String> {
            if accepts(flag) {
                Ok(())
            } else {
                Err(format!(
                    "{opt}: {} is not supported by this kernel (needs 7.1)",
                    flag.to_names_string()
                ))
            }
        };
        if self.pidfd_autokill {
            needs_71("--pidfd-autokill", CloneFlags::PIDFD_AUTOKILL)?;
            flags |= CloneFlags::PIDFD_AUTOKILL | CloneFlags::AUTOREAP;
            exit_signal = Some(0);
        }
        if self.autoreap {
            needs_71("--autoreap", CloneFlags::AUTOREAP)?;
            flags |= CloneFlags::AUTOREAP;
            exit_signal = Some(0);
        }
        if self.empty_mount_ns {
            needs_71("--empty-mount-ns", CloneFlags::EMPTY_MNTNS)?;
            flags |= CloneFlags::EMPTY_MNTNS;
        }
        if self.no_new_privs {
            if accepts(CloneFlags::NNP) {
                notes.push("no_new_privs: CLONE_NNP".into());
            } else {
                notes.push(
                    "no_new_privs: CLONE_NNP is not supported by this kernel (needs 7.1); the \
                     child sets it with prctl(PR_SET_NO_NEW_PRIVS) just before exec instead, \
                     with the same effect on the program"
                        .into(),
                );
            }
        }

        let mut isolation = Isolation::default();
        isolation.id_maps = id_maps;
        isolation.time_offsets = time_offsets;
        isolation.mounts = mounts;
        isolation.hostname = self.hostname.clone();
        isolation.no_new_privs = self.no_new_privs;
        isolation.check(flags)?;
        Ok(Resolved {
            flags,
            isolation,
            exit_signal,
            init: self.init,
            notes,
            time_by_xclone: None,
        })
    }
}

/// `accepts` for [`IsolationOpts::resolve`] from this kernel's probe.
pub fn kernel_accepts(flag: CloneFlags) -> bool {
    Features::probe().clone3_accepts(flag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        iso: IsolationOpts,
        #[arg(short = 'U')]
        user: bool,
        #[arg(short = 'u')]
        uts: bool,
        #[arg(short = 'T')]
        time: bool,
        #[arg(short = 'p')]
        pid: bool,
    }

    const IDS: Ids = Ids {
        euid: 1000,
        egid: 1001,
    };

    fn resolve(args: &[&str], kernel_71: bool) -> Result<Resolved, String> {
        let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let mut f = CloneFlags::empty();
        for (on, flag) in [
            (t.user, CloneFlags::NEWUSER),
            (t.uts, CloneFlags::NEWUTS),
            (t.time, CloneFlags::NEWTIME),
            (t.pid, CloneFlags::NEWPID),
        ] {
            if on {
                f |= flag;
            }
        }
        t.iso.resolve(f, IDS, |_| kernel_71)
    }

    #[test]
    fn map_root_user_like_unshare() {
        let r = resolve(&["-r"], false).unwrap();
        assert!(r.flags.contains(CloneFlags::NEWUSER));
        let m = r.isolation.id_maps.unwrap();
        assert_eq!(m.uid.to_proc_text(), "0 1000 1\n");
        assert_eq!(m.gid.to_proc_text(), "0 1001 1\n");
        assert_eq!(m.setgroups, Some(SetGroups::Deny));
        let r = resolve(&["-r", "--setgroups", "allow"], false).unwrap();
        assert_eq!(
            r.isolation.id_maps.unwrap().setgroups,
            Some(SetGroups::Allow)
        );
    }

    #[test]
    fn ranges_and_single_lines_combine() {
        let r = resolve(
            &[
                "--map-user",
                "0",
                "--map-users",
                "1:100000:65536",
                "--map-groups",
                "0:200000:10",
            ],
            false,
        )
        .unwrap();
        let m = r.isolation.id_maps.unwrap();
        assert_eq!(m.uid.to_proc_text(), "0 1000 1\n1 100000 65536\n");
        assert_eq!(m.gid.to_proc_text(), "0 200000 10\n");
        assert_eq!(m.setgroups, None);
        assert!(resolve(&["--map-users", "1:2"], false).is_err());
        // util-linux 2.38's order: OUTER,INNER,COUNT.
        let r = resolve(&["--map-users", "100000,1,10"], false).unwrap();
        assert_eq!(
            r.isolation.id_maps.unwrap().uid.to_proc_text(),
            "1 100000 10\n"
        );
        assert!(resolve(&["--map-users", "1,2"], false).is_err());
        assert!(resolve(&["-r", "--map-user", "5"], false).is_err());
    }

    #[test]
    fn ranges_leave_out_the_single_line_as_unshare() {
        let r = |i, o, c| IdRange {
            inside: i,
            outside: o,
            count: c,
        };
        // unshare -r --map-auto as root with root:100000:65536.
        assert_eq!(
            around_single(r(0, 100000, 65536), Some(IdRange::single(0, 0))),
            [r(1, 100000, 65535)]
        );
        // The single's outside id in the middle of the range, its inside id below it.
        assert_eq!(
            around_single(r(10, 100, 10), Some(IdRange::single(0, 103))),
            [r(10, 100, 3), r(13, 104, 6)]
        );
        // Both inside: three lines.
        assert_eq!(
            around_single(r(0, 100, 10), Some(IdRange::single(7, 102))),
            [r(0, 100, 2), r(2, 103, 5), r(8, 108, 2)]
        );
        // Apart: unchanged.
        assert_eq!(
            around_single(r(1000, 5000, 10), Some(IdRange::single(0, 1))),
            [r(1000, 5000, 10)]
        );
        assert_eq!(around_single(r(0, 5, 3), None), [r(0, 5, 3)]);
    }

    #[test]
    fn mounts_imply_and_need() {
        let r = resolve(&["--mount-proc"], false).unwrap();
        assert!(r.flags.contains(CloneFlags::NEWNS));
        assert_eq!(r.isolation.mounts.propagation, Some(Propagation::Private));
        assert_eq!(
            r.isolation.mounts.proc_dir.as_deref(),
            Some(std::path::Path::new("/proc"))
        );
        let r = resolve(&["--mount-proc=/x/proc", "--propagation", "slave"], false).unwrap();
        assert_eq!(r.isolation.mounts.propagation, Some(Propagation::Slave));
        assert_eq!(
            resolve(&["--propagation", "shared"], false).unwrap_err(),
            "--propagation needs a new mount namespace (-m)"
        );
        assert_eq!(
            resolve(&["--pivot-root"], false).unwrap_err(),
            "--pivot-root needs --root DIR"
        );
        let r = resolve(&["--root", "/r", "--pivot-root"], false).unwrap();
        assert!(r.flags.contains(CloneFlags::NEWNS));
        // A plain chroot needs no mount namespace.
        let r = resolve(&["--root", "/r"], false).unwrap();
        assert!(!r.flags.contains(CloneFlags::NEWNS));
        assert_eq!(r.isolation.mounts.propagation, None);
    }

    #[test]
    fn hostname_time_init_need_their_namespace() {
        assert!(resolve(&["--hostname", "h"], false)
            .unwrap_err()
            .starts_with("--hostname needs a new UTS namespace (-u)"));
        assert!(resolve(&["-u", "--hostname", "h"], false).is_ok());
        assert_eq!(
            resolve(&["--monotonic", "-86400.25"], false).unwrap_err(),
            "--monotonic and --boottime need a new time namespace (-T)"
        );
        let r = resolve(
            &["-T", "--monotonic", "-86400.25", "--boottime", "5"],
            false,
        )
        .unwrap();
        assert_eq!(
            r.isolation.time_offsets.to_proc_text(),
            "monotonic -86401 750000000\nboottime 5 0\n"
        );
        assert!(resolve(&["--init"], false).unwrap_err().contains("(-p)"));
        assert!(resolve(&["-p", "--init"], false).unwrap().init);
        assert!(resolve(&["--setgroups", "deny"], false).is_err());
    }

    #[test]
    fn newest_flags_by_probe() {
        for opt in ["--autoreap", "--pidfd-autokill", "--empty-mount-ns"] {
            let e = resolve(&[opt], false).unwrap_err();
            assert!(
                e.ends_with("is not supported by this kernel (needs 7.1)"),
                "{e}"
            );
            assert!(e.starts_with(opt), "{e}");
        }
        let r = resolve(&["--pidfd-autokill"], true).unwrap();
        assert!(r
            .flags
            .contains(CloneFlags::AUTOREAP | CloneFlags::PIDFD_AUTOKILL));
        assert_eq!(r.exit_signal, Some(0));
        let r = resolve(&["--no-new-privs"], false).unwrap();
        assert!(r.isolation.no_new_privs);
        assert!(
            r.notes[0].contains("prctl(PR_SET_NO_NEW_PRIVS)"),
            "{:?}",
            r.notes
        );
        assert!(r.notes[0].contains("needs 7.1"));
        let r = resolve(&["--no-new-privs"], true).unwrap();
        assert_eq!(r.notes, ["no_new_privs: CLONE_NNP"]);
    }
}
