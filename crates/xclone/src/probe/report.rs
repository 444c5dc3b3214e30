//! [`Report`]: the probe's findings as lines of "feature: yes/no, because …", the form both
//! `xclone probe` and its `--json` output print. The JSON keys are a stable interface,
//! documented in `docs/probe-json.md` and on each type here.

use super::{Availability, Features, UserNsLimits};
use crate::caller::{
    Cap, CAP_CHECKPOINT_RESTORE, CAP_SETFCAP, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN,
    CAP_SYS_PTRACE, CAP_SYS_RESOURCE, CAP_SYS_TIME,
};
use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::sys::abi::{CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};
use crate::sys::flags::{CloneFlags, FLAG_INFO};
#[cfg(feature = "serde")]
use serde::ser::SerializeMap;
#[cfg(feature = "serde")]
use serde::Serializer;

/// The value of the `format` key; raised only when a key changes meaning or disappears
/// (new keys may appear within a format).
pub const REPORT_FORMAT: u32 = 1;

/// Everything `xclone probe` shows. Serialized, it is the `--json` object:
///
/// | key | type | meaning |
/// |---|---|---|
/// | `format` | integer | [`REPORT_FORMAT`] |
/// | `kernel_release` | string | `uname -r` |
/// | `kernel_version` | string or null | `major.minor[.patch]` parsed from it |
/// | `features` | object | one [`FeatureLine`] per feature key (see [`FeatureLine`]) |
/// | `clone_args_max_size` | integer | largest `struct clone_args` the kernel reads (0: clone3 unusable) |
/// | `flag_probe` | string | how `flags[].known` was found: `probed`, `release-table` or `clone3-unusable` |
/// | `flags` | array | one [`FlagLine`] per flag bit |
/// | `capabilities` | object | [`Capabilities`] |
/// | `cgroup2_mount` | string or null | where the cgroup2 hierarchy is mounted |
/// | `user_namespaces` | object | the limits of [`UserNsLimits`], each a number/bool or null |
/// | `pid_max` | integer or null | `/proc/sys/kernel/pid_max` |
/// | `user_space_end` | string | where user address space ends (hex): on x86_64 `0x7ffffffff000` with 4-level page tables, `0xfffffffffff000` with 5-level ones; on arm64 and riscv64 a power of two (`0x10000000000000` for 52-bit arm64) |
/// | `notes` | array of strings | anything unusual about how answers were obtained |
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Report {
    /// The report format's version (the JSON contract of docs/probe-json.md).
    pub format: u32,
    /// `uname -r`.
    pub kernel_release: String,
    /// The release as `major.minor.patch`, where it parses.
    pub kernel_version: Option<String>,
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_features"))]
    /// One line per feature, in the order of the JSON object's keys.
    pub features: Vec<FeatureLine>,
    /// The largest `struct clone_args` this kernel reads.
    pub clone_args_max_size: usize,
    /// How `flags[].known` was found.
    pub flag_probe: &'static str,
    /// One line per flag bit.
    pub flags: Vec<FlagLine>,
    /// The probing thread's capabilities.
    pub capabilities: Capabilities,
    /// Where the cgroup2 hierarchy is mounted.
    pub cgroup2_mount: Option<String>,
    /// The user-namespace limits.
    pub user_namespaces: UserNsLimits,
    /// `/proc/sys/kernel/pid_max`.
    pub pid_max: Option<u32>,
    /// Where user address space ends, in hex (`0x7ffffffff000` with 4-level page tables).
    pub user_space_end: String,
    /// Anything unusual about how the answers were obtained.
    pub notes: Vec<String>,
}

/// One feature. Keys of the `features` object, in order: `clone3`, `set_tid`,
/// `into_cgroup`, `clear_sighand`, `newtime_clone3`, `clone_pidfd`, `pidfd_open`,
/// `pidfd_send_signal`, `pidfd_getfd`, `waitid_pidfd`, `setns_pidfd`, `time_namespaces`,
/// `cgroup2`, `user_namespaces`. Each value has:
///
/// | key | type | meaning |
/// |---|---|---|
/// | `label` | string | what a person calls it |
/// | `available` | bool | usable by this caller on this kernel |
/// | `state` | string | `yes`, `no`, `missing` (kernel too old), `filtered` (kernel has it, something answers for it) or `unknown` (what tells could not be read, e.g. `EMFILE`) |
/// | `errno` | string or null | the errno behind `missing`/`filtered`/`unknown` |
/// | `since` | string or null | the Linux release that added it |
/// | `why` | string | the evidence, in words |
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FeatureLine {
    #[cfg_attr(feature = "serde", serde(skip))]
    /// The key in the JSON `features` object.
    pub key: &'static str,
    /// What a person calls it.
    pub label: &'static str,
    /// Usable by this caller on this kernel.
    pub available: bool,
    /// `yes`, `no`, `missing` or `filtered`.
    pub state: &'static str,
    /// The errno behind `missing`/`filtered`.
    pub errno: Option<String>,
    /// The Linux release that added it.
    pub since: Option<String>,
    /// The evidence, in words.
    pub why: String,
}

/// One flag bit: every bit `<linux/sched.h>` names, plus any other bit the kernel accepts.
///
/// | key | type | meaning |
/// |---|---|---|
/// | `bit` | integer | 0..63 |
/// | `name` | string or null | `CLONE_…` (null for a bit without a name here) |
/// | `value` | string | `0x…` |
/// | `since` | string or null | release that added the flag |
/// | `clone3_since` | string or null | first release whose clone3 accepts it |
/// | `known` | bool | this kernel's clone3 accepts the bit |
/// | `how` | string | `probed` (the kernel's answer), `inferred` (accepted by every clone3, not askable here), `release-table`, or `clone3-unusable` |
/// | `answer` | string or null | the errno the flag probe got (EINVAL = unknown bit) |
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FlagLine {
    /// The bit number, 0..63.
    pub bit: u32,
    /// `CLONE_…`, where the bit has a name here.
    pub name: Option<&'static str>,
    /// The bit's value as `0x…`.
    pub value: String,
    /// The release that added the flag.
    pub since: Option<String>,
    /// The first release whose clone3 accepts it, where that differs.
    pub clone3_since: Option<String>,
    /// This kernel's clone3 accepts the bit.
    pub known: bool,
    /// How `known` was found.
    pub how: &'static str,
    /// The errno the flag probe got.
    pub answer: Option<String>,
}

/// The probing thread's capabilities: `effective` and `permitted` masks as `0x…` strings,
/// and `relevant`, one [`CapLine`] per capability that process creation cares about.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Capabilities {
    /// The effective set as `0x…`.
    pub effective: String,
    /// The permitted set as `0x…`.
    pub permitted: String,
    /// The capabilities process creation cares about.
    pub relevant: Vec<CapLine>,
}

/// `name` (`CAP_SYS_ADMIN`), `number`, `effective`, `permitted`, `needed_for` (words).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CapLine {
    /// `CAP_SYS_ADMIN`, …
    pub name: &'static str,
    /// The capability's number.
    pub number: Cap,
    /// In the effective set.
    pub effective: bool,
    /// In the permitted set.
    pub permitted: bool,
    /// What needs it, in words.
    pub needed_for: &'static str,
}

const RELEVANT_CAPS: &[(&str, Cap, &str)] = &[
    (
        "CAP_SYS_ADMIN",
        CAP_SYS_ADMIN,
        "new namespaces other than user ones; set_tid; CLONE_PIDFD_AUTOKILL without CLONE_NNP",
    ),
    (
        "CAP_CHECKPOINT_RESTORE",
        CAP_CHECKPOINT_RESTORE,
        "set_tid (Linux 5.9+)",
    ),
    (
        "CAP_SETUID",
        CAP_SETUID,
        "uid maps beyond the caller's own uid",
    ),
    (
        "CAP_SETGID",
        CAP_SETGID,
        "gid maps beyond the caller's own gid",
    ),
    (
        "CAP_SETFCAP",
        CAP_SETFCAP,
        "mapping uid 0 of the parent namespace (Linux 5.12+)",
    ),
    (
        "CAP_SYS_RESOURCE",
        CAP_SYS_RESOURCE,
        "creating processes beyond RLIMIT_NPROC",
    ),
    ("CAP_SYS_TIME", CAP_SYS_TIME, "time namespace offsets"),
    (
        "CAP_SYS_PTRACE",
        CAP_SYS_PTRACE,
        "pidfd_getfd and setns on other users' processes",
    ),
];

#[cfg(feature = "serde")]
fn ser_features<S: Serializer>(lines: &[FeatureLine], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(lines.len()))?;
    for l in lines {
        m.serialize_entry(l.key, l)?;
    }
    m.end()
}

fn v(major: u16, minor: u16) -> KernelVersion {
    KernelVersion::new(major, minor)
}

impl FeatureLine {
    fn new(key: &'static str, label: &'static str, since: Option<KernelVersion>) -> Self {
        FeatureLine {
            key,
            label,
            available: false,
            state: "no",
            errno: None,
            since: since.map(|v| v.to_string()),
            why: String::new(),
        }
    }

    fn yes(mut self, why: impl Into<String>) -> Self {
        self.available = true;
        self.state = "yes";
        self.why = why.into();
        self
    }

    fn no(mut self, why: impl Into<String>) -> Self {
        self.available = false;
        self.state = "no";
        self.why = why.into();
        self
    }

    /// Could not be told: reading what says it failed with `errno` (never a "no").
    fn unknown(mut self, errno: Errno, why: impl Into<String>) -> Self {
        self.available = false;
        self.state = "unknown";
        self.errno = Some(errno.name());
        self.why = why.into();
        self
    }

    fn yes_if(self, ok: bool, yes: impl Into<String>, no: impl Into<String>) -> Self {
        if ok {
            self.yes(yes)
        } else {
            self.no(no)
        }
    }

    /// A line for a system call whose availability was classified from `answer`.
    fn syscall(
        mut self,
        a: Availability,
        probe: &str,
        expected: &str,
        answer: Option<Errno>,
        f: &Features,
    ) -> Self {
        let got = answer.map_or("nothing".to_string(), |e| e.name());
        let since = self.since.clone().unwrap_or_default();
        match a {
            Availability::Yes => {
                self.yes(format!("{probe} answered {expected}, as the kernel does"))
            }
            Availability::Missing => {
                self.errno = answer.map(|e| e.name());
                self.state = "missing";
                self.why = format!(
                    "{probe} answered {got}: the call came with Linux {since}, this is {}",
                    f.kernel_release
                );
                self
            }
            Availability::Filtered(e) => {
                self.errno = Some(e.name());
                self.state = "filtered";
                self.why = format!(
                    "{probe} answered {} instead of {expected}: a seccomp filter (or an emulator) answers for it although Linux {} has it (since {since})",
                    e.name(),
                    f.kernel_version.map_or(f.kernel_release.clone(), |v| v.to_string()),
                );
                self
            }
        }
    }
}

fn clone3_unusable(f: &Features) -> String {
    match f.clone3 {
        Availability::Yes => String::new(),
        Availability::Missing => "clone3 is missing".into(),
        Availability::Filtered(e) => format!("clone3 is filtered ({})", e.name()),
    }
}

fn flag_line(f: &Features, label: &'static str, flag: CloneFlags) -> FeatureLine {
    let info = crate::sys::flags::FlagInfo::of(flag);
    let l = FeatureLine::new(flag_key(flag), label, info.map(|i| i.clone3_min()));
    if !f.clone3.usable() {
        return l.no(clone3_unusable(f));
    }
    let how = if !f.clone3_flags_probed {
        "by the release table"
    } else if f.clone3_flags_inferred.contains(flag) {
        "by rule (accepted by every clone3)"
    } else {
        "by the flag probe"
    };
    let answer = answer_of(f, flag).map_or(String::new(), |e| format!(", answer {}", e.name()));
    l.yes_if(
        f.clone3_flags.contains(flag),
        format!("clone3 accepts the bit ({how}{answer})"),
        format!("clone3 refuses the bit as unknown ({how}{answer})"),
    )
}

fn flag_key(flag: CloneFlags) -> &'static str {
    if flag == CloneFlags::CLEAR_SIGHAND {
        "clear_sighand"
    } else {
        "newtime_clone3"
    }
}

fn answer_of(f: &Features, flag: CloneFlags) -> Option<Errno> {
    let bit = flag.bits().trailing_zeros() as usize;
    f.evidence.flag_answers.get(bit).copied().flatten()
}

fn has_cap(mask: u64, cap: Cap) -> bool {
    cap < 64 && mask & (1 << cap) != 0
}

impl Features {
    /// The findings as report lines (see [`Report`] for the JSON form).
    pub fn report(&self) -> Report {
        let f = self;
        let mut features = Vec::new();

        let c3 = FeatureLine::new("clone3", "clone3(2)", Some(v(5, 3)));
        features.push(match f.clone3 {
            Availability::Yes => c3.yes(
                "answers EINVAL to an 8-byte struct and E2BIG to a 1 MiB one, as an unfiltered kernel does",
            ),
            a => c3.syscall(a, "clone3 with an 8-byte struct", "EINVAL", f.evidence.clone3_small, f),
        });

        let size_why = |need: usize| {
            if !f.clone3.usable() {
                clone3_unusable(f)
            } else {
                format!(
                    "the kernel reads a clone_args of up to {} bytes ({} needed)",
                    f.clone_args_max_size, need
                )
            }
        };
        features.push(
            FeatureLine::new("set_tid", "set_tid (choose the PID)", Some(v(5, 5))).yes_if(
                f.set_tid,
                size_why(CLONE_ARGS_SIZE_VER1),
                size_why(CLONE_ARGS_SIZE_VER1),
            ),
        );
        let cg = FeatureLine::new("into_cgroup", "CLONE_INTO_CGROUP", Some(v(5, 7)));
        features.push(if f.into_cgroup {
            cg.yes(format!(
                "{} and the flag is accepted",
                size_why(CLONE_ARGS_SIZE_VER2)
            ))
        } else if f.clone3.usable() && f.clone_args_max_size >= CLONE_ARGS_SIZE_VER2 {
            cg.no("the struct has the cgroup field but clone3 refuses the flag")
        } else {
            cg.no(size_why(CLONE_ARGS_SIZE_VER2))
        });
        features.push(flag_line(
            f,
            "CLONE_CLEAR_SIGHAND",
            CloneFlags::CLEAR_SIGHAND,
        ));
        features.push(flag_line(
            f,
            "CLONE_NEWTIME through clone3",
            CloneFlags::NEWTIME,
        ));

        let cp = FeatureLine::new("clone_pidfd", "CLONE_PIDFD through clone(2)", Some(v(5, 2)));
        features.push(match f.evidence.clone_pidfd {
            Some(e) => cp.yes_if(
                f.clone_pidfd,
                format!(
                    "clone(CLONE_PIDFD|CLONE_DETACHED) answered {} (the CLONE_PIDFD check)",
                    e.name()
                ),
                format!(
                    "clone(CLONE_PIDFD|CLONE_DETACHED) answered {}, not EINVAL",
                    e.name()
                ),
            ),
            None => cp.yes_if(
                f.clone_pidfd,
                "by release: clone3 exists, which is newer",
                "by release: kernel older than 5.2",
            ),
        });

        let e = &f.evidence;
        features.push(
            FeatureLine::new("pidfd_open", "pidfd_open(2)", Some(v(5, 3))).syscall(
                f.pidfd_open,
                "pidfd_open(INT_MAX, 0)",
                "ESRCH",
                e.pidfd_open,
                f,
            ),
        );
        features.push(
            FeatureLine::new("pidfd_send_signal", "pidfd_send_signal(2)", Some(v(5, 1))).syscall(
                f.pidfd_send_signal,
                "pidfd_send_signal(-1, 0, NULL, 0)",
                "EBADF",
                e.pidfd_send_signal,
                f,
            ),
        );
        features.push(
            FeatureLine::new("pidfd_getfd", "pidfd_getfd(2)", Some(v(5, 6))).syscall(
                f.pidfd_getfd,
                "pidfd_getfd(-1, 0, 0)",
                "EBADF",
                e.pidfd_getfd,
                f,
            ),
        );
        let got = |a: Option<Errno>| a.map_or("nothing".to_string(), |e| e.name());
        features.push(
            FeatureLine::new("waitid_pidfd", "waitid(P_PIDFD)", Some(v(5, 4))).yes_if(
                f.waitid_pidfd,
                "waitid(P_PIDFD, <closed fd>) answered EBADF: the id type is known",
                format!(
                    "waitid(P_PIDFD, <closed fd>) answered {} (EINVAL: unknown id type)",
                    got(e.waitid_pidfd)
                ),
            ),
        );
        let sp = FeatureLine::new("setns_pidfd", "setns(2) with a pidfd", Some(v(5, 8)));
        features.push(match e.setns_pidfd {
            Some(a) => sp.yes_if(
                f.setns_pidfd,
                format!("setns(<own pidfd>, CLONE_NEWUTS) without CAP_SYS_ADMIN answered {}: the pidfd was accepted", a.name()),
                format!("setns(<own pidfd>, CLONE_NEWUTS) answered {} (EINVAL: only namespace files accepted)", a.name()),
            ),
            None => sp.yes_if(
                f.setns_pidfd,
                "by release (could not be asked here)",
                "by release or because pidfd_open is unusable (could not be asked here)",
            ),
        });
        features.push(
            FeatureLine::new("time_namespaces", "time namespaces", Some(v(5, 6))).yes_if(
                f.time_namespaces,
                "/proc/self/ns/time exists",
                "/proc/self/ns/time does not exist",
            ),
        );
        let cg = FeatureLine::new("cgroup2", "cgroup2 hierarchy", None);
        features.push(
            match (&f.cgroup2_mount, e.unreadable(super::system::MOUNTINFO)) {
                (Some(m), _) => cg.yes(format!("mounted at {}", m.display())),
                (None, Some(errno)) => cg.unknown(
                    errno,
                    format!("{} could not be read: {errno}", super::system::MOUNTINFO),
                ),
                (None, None) => cg.no("no cgroup2 entry in /proc/self/mountinfo"),
            },
        );
        features.push(self.userns_line());

        let flag_probe = if !f.clone3.usable() {
            "clone3-unusable"
        } else if f.clone3_flags_probed {
            "probed"
        } else {
            "release-table"
        };
        Report {
            format: REPORT_FORMAT,
            kernel_release: f.kernel_release.clone(),
            kernel_version: f.kernel_version.map(|v| v.to_string()),
            features,
            clone_args_max_size: f.clone_args_max_size,
            flag_probe,
            flags: self.flag_lines(flag_probe),
            capabilities: Capabilities {
                effective: format!("{:#x}", f.cap_effective),
                permitted: format!("{:#x}", f.cap_permitted),
                relevant: RELEVANT_CAPS
                    .iter()
                    .map(|&(name, number, needed_for)| CapLine {
                        name,
                        number,
                        effective: has_cap(f.cap_effective, number),
                        permitted: has_cap(f.cap_permitted, number),
                        needed_for,
                    })
                    .collect(),
            },
            cgroup2_mount: f.cgroup2_mount.as_ref().map(|p| p.display().to_string()),
            user_namespaces: f.userns.clone(),
            pid_max: f.pid_max,
            user_space_end: format!("{:#x}", f.user_space_end),
            notes: f
                .evidence
                .notes
                .iter()
                .cloned()
                .chain(f.evidence.unreadable.iter().map(|u| {
                    format!(
                        "could not read {}: {}; what it tells is unknown here, not absent",
                        u.path, u.errno
                    )
                }))
                .collect(),
        }
    }

    fn userns_line(&self) -> FeatureLine {
        let l = FeatureLine::new("user_namespaces", "new user namespaces", Some(v(3, 8)));
        let u = &self.userns;
        let mut facts = Vec::new();
        if let Some(n) = u.max_user_namespaces {
            facts.push(format!("user.max_user_namespaces = {n}"));
        }
        if let Some(b) = u.unprivileged_userns_clone {
            facts.push(format!(
                "kernel.unprivileged_userns_clone = {}",
                u8::from(b)
            ));
        }
        if let Some(b) = u.apparmor_restrict_unprivileged_userns {
            facts.push(format!(
                "kernel.apparmor_restrict_unprivileged_userns = {}",
                u8::from(b)
            ));
        }
        let facts = facts.join(", ");
        if !super::system::has_namespace("user") {
            return l.no("/proc/self/ns/user does not exist");
        }
        if u.max_user_namespaces == Some(0) {
            return l.no(format!("forbidden: {facts}"));
        }
        let privileged = has_cap(self.cap_effective, CAP_SYS_ADMIN);
        let restricted = u.unprivileged_userns_clone == Some(false)
            || u.apparmor_restrict_unprivileged_userns == Some(true);
        match (privileged, restricted) {
            (true, true) => l.yes(format!(
                "with CAP_SYS_ADMIN; unprivileged callers are restricted ({facts})"
            )),
            (true, false) => l.yes(format!("also for unprivileged callers ({facts})")),
            (false, true) => l.no(format!("restricted for unprivileged callers ({facts})")),
            (false, false) => l.yes(format!("unprivileged callers allowed ({facts})")),
        }
    }

    fn flag_lines(&self, how_all: &'static str) -> Vec<FlagLine> {
        let mut named = CloneFlags::empty();
        let mut lines: Vec<FlagLine> = FLAG_INFO
            .iter()
            .map(|i| {
                named |= i.flag;
                self.flag_entry(i.bit(), Some(i), how_all)
            })
            .collect();
        // A bit the kernel accepts that no header here names (a flag newer than this crate).
        let extra = self.clone3_flags.difference(named);
        for bit in 0..64 {
            if extra.bits() & (1 << bit) != 0 {
                lines.push(self.flag_entry(bit, None, how_all));
            }
        }
        lines.sort_by_key(|l| l.bit);
        lines
    }

    fn flag_entry(
        &self,
        bit: u32,
        info: Option<&crate::sys::flags::FlagInfo>,
        how_all: &'static str,
    ) -> FlagLine {
        let flag = CloneFlags::from_bits_retain(1 << bit);
        let how = if how_all == "probed" && self.clone3_flags_inferred.contains(flag) {
            "inferred"
        } else {
            how_all
        };
        FlagLine {
            bit,
            name: info.map(|i| i.name),
            value: format!("{:#x}", flag.bits()),
            since: info.map(|i| i.since.to_string()),
            clone3_since: info.map(|i| i.clone3_min().to_string()),
            known: self.clone3_flags.contains(flag),
            how,
            answer: self.evidence.flag_answers[bit as usize].map(|e| e.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_of_a_filtered_kernel() {
        let mut f = Features::as_of(KernelVersion::new(6, 18));
        f.clone3 = Availability::Filtered(Errno::EPERM);
        f.clone3_flags = CloneFlags::empty();
        f.evidence.clone3_small = Some(Errno::EPERM);
        let r = f.report();
        let c3 = &r.features[0];
        assert_eq!(
            (c3.key, c3.state, c3.available),
            ("clone3", "filtered", false)
        );
        assert_eq!(c3.errno.as_deref(), Some("EPERM"));
        assert!(
            c3.why.contains("Linux 6.18 has it (since 5.3)"),
            "{}",
            c3.why
        );
        assert_eq!(r.flag_probe, "clone3-unusable");
        assert!(r.flags.iter().all(|l| !l.known));
        #[cfg(feature = "serde")]
        {
            let json = serde_json::to_value(&r).unwrap();
            assert_eq!(json["features"]["clone3"]["state"], "filtered");
            assert_eq!(
                json["features"]["set_tid"]["why"],
                "clone3 is filtered (EPERM)"
            );
        }
    }

    #[test]
    fn report_keys_are_complete_and_ordered() {
        let r = Features::everything().report();
        let keys: Vec<_> = r.features.iter().map(|l| l.key).collect();
        assert_eq!(
            keys,
            [
                "clone3",
                "set_tid",
                "into_cgroup",
                "clear_sighand",
                "newtime_clone3",
                "clone_pidfd",
                "pidfd_open",
                "pidfd_send_signal",
                "pidfd_getfd",
                "waitid_pidfd",
                "setns_pidfd",
                "time_namespaces",
                "cgroup2",
                "user_namespaces"
            ]
        );
        // Every named flag once, in bit order.
        assert_eq!(r.flags.len(), FLAG_INFO.len());
        assert!(r.flags.windows(2).all(|w| w[0].bit < w[1].bit));
        #[cfg(feature = "serde")]
        {
            let json = serde_json::to_string(&r).unwrap();
            assert!(json.starts_with("{\"format\":1,"));
        }
    }

    #[test]
    fn unnamed_known_bits_are_listed() {
        let mut f = Features::everything();
        f.clone3_flags |= CloneFlags::from_bits_retain(1 << 50);
        let r = f.report();
        let l = r.flags.iter().find(|l| l.bit == 50).unwrap();
        assert!(l.known && l.name.is_none());
        assert_eq!(l.value, "0x4000000000000");
    }
}
