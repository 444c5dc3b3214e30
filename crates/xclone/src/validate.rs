//! Request + caller + kernel features → every problem the kernel would see, in the kernel's
//! order, the first of them being the one whose errno `clone3(2)` returns.
//!
//! The checks themselves are the rows of [`crate::rules::RULES`]; this module evaluates them
//! against a request. [`validate`] takes a typed [`CloneArgs`]; [`validate_raw`] takes anything
//! the raw `struct clone_args` and the `size` argument can carry (what `xclone explain`
//! judges). [`explain_errno`] picks the explanation for an errno a real call returned.
//!
//! ```
//! use xclone::caller::Caller;
//! use xclone::probe::Features;
//! use xclone::{validate, CloneArgs, CloneFlags, KernelVersion};
//! let args = CloneArgs::new().flags(CloneFlags::THREAD).exit_signal(0);
//! let v = validate::validate(&args, &Features::as_of(KernelVersion::new(6, 18)), &Caller::root());
//! assert_eq!(v.errno(), Some(xclone::Errno::EINVAL));
//! assert_eq!(v.problems[0].rule, "thread-needs-sighand");
//! ```

pub(crate) mod cgroup;

use crate::args::CloneArgs;
use crate::caller::{Caller, NewPidNsBlock, NsOwner, CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::probe::{Availability, Features};
use crate::rules::{fill, Area, Rule, RuleId};
use crate::sys::abi::{
    clone_args, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2, MAX_PID_NS_LEVEL,
};
use crate::sys::flags::{CloneFlags, CSIGNAL};
pub use cgroup::{cgroup2_mount_of, common_ancestor, CgroupFacts, Target, THREADED_CONTROLLERS};

/// One reason the kernel would refuse a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Problem {
    /// Stable identifier of the rule (`"thread-needs-sighand"`), see [`crate::rules`].
    pub rule: &'static str,
    /// What the kernel returns.
    pub errno: Errno,
    /// One line, plain words.
    pub cause: String,
    /// The flags involved (may be empty).
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_flags"))]
    pub flags: CloneFlags,
    /// Other options involved (`"exit_signal"`, `"set_tid"`, `"cgroup"`).
    pub fields: Vec<&'static str>,
    /// The kernel release that matters for this rule, where one does: the release that added
    /// the check or feature.
    pub since: Option<KernelVersion>,
    /// The release that dropped the check, for rules of older kernels.
    pub until: Option<KernelVersion>,
    /// How to fix it.
    pub fix: String,
    /// The kernel function that makes the check.
    pub function: &'static str,
    /// Which part of the request it concerns.
    pub area: Area,
}

#[cfg(feature = "serde")]
pub(crate) fn ser_flags<S: serde::Serializer>(f: &CloneFlags, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let names = f.names();
    let mut seq = s.serialize_seq(Some(names.len()))?;
    for n in names {
        seq.serialize_element(&n)?;
    }
    seq.end()
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.errno.name(), self.cause)?;
        if let Some(v) = self.until {
            write!(f, " (before Linux {v})")?;
        } else if let Some(v) = self.since {
            write!(f, " (Linux {v})")?;
        }
        write!(f, "; fix: {}", self.fix)
    }
}

/// The validator's answer: every problem in kernel order (the first is what the kernel
/// returns), and notes about what could not be determined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Verdict {
    /// Every problem, in the kernel's order of checking: the first is the errno the kernel gives.
    pub problems: Vec<Problem>,
    /// Checks the validator could not decide (the kernel will); not problems.
    pub notes: Vec<String>,
    /// The `size` argument the request is judged with.
    pub size: usize,
}

impl Verdict {
    /// Whether the kernel would accept the request.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The errno the kernel would return, if any.
    pub fn errno(&self) -> Option<Errno> {
        self.problems.first().map(|p| p.errno)
    }

    /// The problem the kernel reports.
    pub fn first(&self) -> Option<&Problem> {
        self.problems.first()
    }

    /// `Err(Error::Refused)` unless the kernel would accept the request.
    pub fn into_result(self) -> crate::Result<()> {
        if self.is_ok() {
            Ok(())
        } else {
            Err(crate::Error::Refused {
                problems: self.problems,
            })
        }
    }
}

/// A request as `clone3(2)` receives it: the struct, the size argument, and what its pointers
/// lead to (the validator never dereferences a pointer itself).
#[derive(Clone, Debug)]
pub struct RawRequest<'a> {
    /// The struct as the kernel would copy it in.
    pub args: clone_args,
    /// The `size` argument.
    pub size: usize,
    /// Whether bytes past the 88 of `struct clone_args` (up to `size`) are non-zero.
    pub tail_nonzero: bool,
    /// The `set_tid_size` PIDs `args.set_tid` points at, or `None` when the memory is not
    /// readable.
    pub set_tid: Option<&'a [i32]>,
    /// Whether `args.pidfd` points at writable memory for an int.
    pub pidfd_writable: bool,
    /// The state of the cgroup behind `args.cgroup` (read by [`RawRequest::new`] for
    /// `CLONE_INTO_CGROUP`; `None` when not inspected).
    pub cgroup: Option<CgroupFacts>,
}

impl<'a> RawRequest<'a> {
    /// A raw request whose pointers are as described: `set_tid` holds what `args.set_tid`
    /// points at (`None` = unreadable), `args.pidfd` counts as writable when non-zero. The
    /// cgroup descriptor number in `args.cgroup` is inspected in the calling process.
    pub fn new(args: clone_args, size: usize, set_tid: Option<&'a [i32]>, caller: &Caller) -> Self {
        let cgroup = (args.flags & CloneFlags::INTO_CGROUP.bits() != 0
            && args.cgroup <= i32::MAX as u64)
            .then(|| CgroupFacts::inspect(args.cgroup, caller));
        RawRequest {
            args,
            size,
            tail_nonzero: false,
            set_tid,
            pidfd_writable: args.pidfd != 0,
            cgroup,
        }
    }
}

/// Judges a typed request, encoded the way the library sends it (smallest struct size, a
/// pidfd slot of its own).
pub fn validate(args: &CloneArgs, features: &Features, caller: &Caller) -> Verdict {
    let mut slot = -1;
    let enc = args.encode(Some(&mut slot));
    let req = RawRequest::new(enc.raw, enc.size, Some(args.get_set_tid()), caller);
    validate_raw(&req, features, caller)
}

/// Judges a request against this kernel and this caller.
pub fn validate_current(args: &CloneArgs) -> crate::Result<Verdict> {
    let caller = Caller::current()?;
    Ok(validate(args, &current_features(), &caller))
}

/// What this kernel offers, for validating against it: the cached probe
/// ([`Features::probe`]). Judging `setns(2)` needs one answer more, which costs a helper
/// process: [`crate::setns::current_features`].
pub fn current_features() -> Features {
    Features::probe().clone()
}

/// The explanation for `errno` returned by a real call with this request: the validator's
/// problem with that errno if it predicted one, otherwise the rule the errno most likely comes
/// from (its cause marked as likely). `None` when no rule of clone3 yields that errno.
pub fn explain_errno(
    args: &CloneArgs,
    features: &Features,
    caller: &Caller,
    errno: Errno,
) -> Option<Problem> {
    let mut slot = -1;
    let enc = args.encode(Some(&mut slot));
    let req = RawRequest::new(enc.raw, enc.size, Some(args.get_set_tid()), caller);
    explain_raw_errno(&req, features, caller, errno)
}

/// The library's error for a `clone3` of `args` that failed with `errno`: the errno and, where
/// the validator can tell (judging against this kernel and the calling thread), why the kernel
/// refused and how to fix it.
pub fn clone3_error(args: &CloneArgs, errno: Errno) -> crate::Error {
    let explanation = Caller::current()
        .ok()
        .and_then(|c| explain_errno(args, &current_features(), &c, errno))
        .map(Box::new);
    crate::Error::Os {
        op: "clone3".into(),
        errno,
        explanation,
    }
}

/// [`explain_errno`] for a raw request.
pub fn explain_raw_errno(
    req: &RawRequest,
    features: &Features,
    caller: &Caller,
    errno: Errno,
) -> Option<Problem> {
    let verdict = validate_raw(req, features, caller);
    if let Some(p) = verdict.problems.iter().find(|p| p.errno == errno) {
        return Some(p.clone());
    }
    if let Availability::Filtered(e) = features.clone3 {
        if e == errno {
            return Some(problem(
                &finding(RuleId::Clone3Filtered)
                    .errno(e)
                    .var("errno", e.name()),
            ));
        }
    }
    let flags = CloneFlags::from_bits_retain(req.args.flags);
    // A rule the validator could not predict, or one whose flags the request uses, in kernel
    // order, preferring rules about the request's own flags.
    let candidates = crate::rules::RULES
        .iter()
        .filter(|r| r.errno == errno && r.applies_on(features.kernel_version))
        .filter(|r| r.id != RuleId::Clone3Filtered);
    let best = candidates
        .clone()
        .find(|r| !r.flags.is_empty() && flags.contains(r.flags))
        .or_else(|| candidates.clone().find(|r| !r.predicted))
        .or_else(|| candidates.clone().find(|r| r.flags.intersects(flags)))?;
    let mut p = problem(&finding(best.id));
    p.cause = format!("likely: {}", strip_placeholders(&p.cause));
    p.fix = strip_placeholders(&p.fix);
    Some(p)
}

/// Removes `{placeholders}` a generic explanation cannot fill.
pub(crate) fn strip_placeholders(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for ch in s.chars() {
        match ch {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out.replace("  ", " ")
}

/// A rule found violated, with the values for its templates: a row of [`RULES`](crate::rules::RULES)
/// here, of [`NS_RULES`](crate::rules::ns::NS_RULES) for the unshare and setns validators
/// (`nscheck`).
#[derive(Clone, Debug)]
pub(crate) struct Finding<Id = RuleId> {
    pub(crate) rule: Id,
    /// Position inside a kernel loop (set_tid level, namespace type).
    pub(crate) sub: u32,
    /// The errno, when not the rule's.
    pub(crate) errno: Option<Errno>,
    pub(crate) flags: Option<CloneFlags>,
    pub(crate) vars: Vec<(&'static str, String)>,
}

fn finding(rule: RuleId) -> Finding {
    Finding::new(rule)
}

impl<Id> Finding<Id> {
    pub(crate) fn new(rule: Id) -> Self {
        Finding {
            rule,
            sub: 0,
            errno: None,
            flags: None,
            vars: Vec::new(),
        }
    }
    pub(crate) fn var(mut self, k: &'static str, v: impl ToString) -> Self {
        self.vars.retain(|(key, _)| *key != k);
        self.vars.push((k, v.to_string()));
        self
    }
    pub(crate) fn sub(mut self, sub: u32) -> Self {
        self.sub = sub;
        self
    }
    pub(crate) fn errno(mut self, e: Errno) -> Self {
        self.errno = Some(e);
        self
    }
    pub(crate) fn flags(mut self, f: CloneFlags) -> Self {
        self.flags = Some(f);
        self
    }
}

fn problem(f: &Finding) -> Problem {
    let r = Rule::get(f.rule);
    Problem {
        rule: r.name,
        errno: f.errno.unwrap_or(r.errno),
        cause: fill(r.cause, &f.vars),
        flags: f.flags.unwrap_or(r.flags),
        fields: r.fields.to_vec(),
        since: r.since,
        until: r.until,
        fix: fill(r.fix, &f.vars),
        function: r.function,
        area: r.area,
    }
}

/// The PIDs of `set_tid` are judged against the `pid_max` of the caller's namespace.
fn pid_max(c: &Caller, f: &Features) -> u32 {
    c.pid_max.or(f.pid_max).unwrap_or(4_194_304)
}

/// The namespace flags `copy_namespaces()` (clone3) and `unshare_nsproxy_namespaces()`
/// (unshare) create, in `create_new_namespaces()` order, with the name of their
/// `max_*_namespaces` limit.
pub(crate) const NAMESPACE_ORDER: [(CloneFlags, &str); 7] = [
    (CloneFlags::NEWNS, "mnt"),
    (CloneFlags::NEWUTS, "uts"),
    (CloneFlags::NEWIPC, "ipc"),
    (CloneFlags::NEWPID, "pid"),
    (CloneFlags::NEWCGROUP, "cgroup"),
    (CloneFlags::NEWNET, "net"),
    (CloneFlags::NEWTIME, "time"),
];

/// Judges anything the raw struct and size argument can carry.
pub fn validate_raw(req: &RawRequest, features: &Features, caller: &Caller) -> Verdict {
    let mut ctx = Ctx {
        req,
        f: features,
        c: caller,
        ver: features.kernel_version,
        found: Vec::new(),
        notes: Vec::new(),
    };
    ctx.run();
    let mut found = ctx.found;
    found.sort_by_key(|x| (Rule::get(x.rule).order, x.sub, Rule::index(x.rule)));
    Verdict {
        problems: found.iter().map(problem).collect(),
        notes: ctx.notes,
        size: req.size,
    }
}

struct Ctx<'r, 'a> {
    req: &'r RawRequest<'a>,
    f: &'r Features,
    c: &'r Caller,
    ver: Option<KernelVersion>,
    found: Vec<Finding>,
    notes: Vec<String>,
}

impl Ctx<'_, '_> {
    fn push(&mut self, f: Finding) {
        self.found.push(f);
    }

    fn applies(&self, id: RuleId) -> bool {
        Rule::get(id).applies_on(self.ver)
    }

    /// The kernel release is at least `major.minor` (unknown: assume so).
    fn at_least(&self, major: u16, minor: u16) -> bool {
        self.ver
            .is_none_or(|x| x >= KernelVersion::new(major, minor))
    }

    fn run(&mut self) {
        self.syscall();
        if !self.copy() {
            return;
        }
        let a = self.effective_args();
        let flags = CloneFlags::from_bits_retain(a.flags);
        self.args_valid(&a, flags);
        // kernel_clone(): CLONE_EMPTY_MNTNS asks for a new mount namespace.
        let mut flags = flags;
        if flags.contains(CloneFlags::EMPTY_MNTNS) && self.knows(CloneFlags::EMPTY_MNTNS) {
            flags |= CloneFlags::NEWNS;
        }
        if flags.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID) && a.pidfd == a.parent_tid
        {
            self.push(finding(RuleId::PidfdIsParentTid));
        }
        self.process_flags(&a, flags);
        self.credentials(flags);
        self.limits();
        self.namespaces(flags);
        // Only x86_64 checks the value: its copy_thread() sets the FS base through
        // do_arch_prctl_64(ARCH_SET_FS), which refuses addresses from TASK_SIZE_MAX on;
        // arm64 and riscv copy_thread() store any value in the thread-pointer register.
        if cfg!(target_arch = "x86_64")
            && flags.contains(CloneFlags::SETTLS)
            && a.tls >= self.f.user_space_end
        {
            self.push(finding(RuleId::SettlsOutOfRange).var("tls", format!("{:#x}", a.tls)));
        }
        self.set_tid(&a, flags);
        if flags.contains(CloneFlags::VM) && a.stack == 0 {
            self.notes.push(
                "CLONE_VM without a stack: the kernel accepts it, but the child then runs on the caller's stack, which is only sound in the vfork() pattern".into(),
            );
        }
        if flags.contains(CloneFlags::PIDFD) {
            if !self.c.fd_available {
                let lim = self
                    .c
                    .rlimit_nofile
                    .map_or("unlimited".to_string(), |l| l.to_string());
                self.push(finding(RuleId::PidfdNoFd).var("limit", lim));
            }
            if !self.req.pidfd_writable {
                self.push(finding(RuleId::PidfdFault).var("ptr", format!("{:#x}", a.pidfd)));
            }
        }
        self.cgroup(&a, flags);
    }

    /// Whether this kernel's clone3 knows `flag`.
    fn knows(&self, flag: CloneFlags) -> bool {
        self.f.clone3_flags.contains(flag)
    }

    fn syscall(&mut self) {
        match self.f.clone3 {
            Availability::Yes => {}
            Availability::Missing => self.push(finding(RuleId::Clone3Missing)),
            Availability::Filtered(e) => self.push(
                finding(RuleId::Clone3Filtered)
                    .errno(e)
                    .var("errno", e.name()),
            ),
        }
    }

    /// The size this kernel's `struct clone_args` has.
    fn known_size(&self) -> usize {
        match self.f.clone_args_max_size {
            0 => CLONE_ARGS_SIZE_VER2,
            n => n,
        }
    }

    /// `copy_clone_args_from_user()`. Returns false when the kernel would not even read the
    /// struct (size errors), so that nothing else applies.
    fn copy(&mut self) -> bool {
        let r = self.req;
        let page = rustix::param::page_size();
        if r.size > page {
            self.push(
                finding(RuleId::SizeTooBig)
                    .var("size", r.size)
                    .var("page", page),
            );
            return false;
        }
        if r.size < CLONE_ARGS_SIZE_VER0 {
            self.push(finding(RuleId::SizeTooSmall).var("size", r.size));
            return false;
        }
        // copy_struct_from_user(): bytes past the kernel's own struct must be zero.
        let known = self.known_size();
        if r.size > known {
            let fields = r.args.fields();
            let mut nonzero: Vec<&str> = fields
                .iter()
                .enumerate()
                .filter(|(i, (_, v))| i * 8 >= known && i * 8 < r.size && *v != 0)
                .map(|(_, (name, _))| *name)
                .collect();
            if r.tail_nonzero && r.size > CLONE_ARGS_SIZE_VER2 {
                nonzero.push("bytes past the 88 of struct clone_args");
            }
            if !nonzero.is_empty() {
                let upgrade = if nonzero.iter().any(|n| n.starts_with("set_tid"))
                    && known < CLONE_ARGS_SIZE_VER1
                {
                    ", or run Linux 5.5+ (set_tid)"
                } else if nonzero.contains(&"cgroup") && known < CLONE_ARGS_SIZE_VER2 {
                    ", or run Linux 5.7+ (cgroup)"
                } else {
                    ""
                };
                self.push(
                    finding(RuleId::UnknownStructTail)
                        .var("what", nonzero.join(", "))
                        .var("known", known)
                        .var("upgrade", upgrade),
                );
            }
        }
        let a = self.effective_args();
        if known >= CLONE_ARGS_SIZE_VER1 {
            if a.set_tid_size > MAX_PID_NS_LEVEL as u64 {
                self.push(finding(RuleId::SetTidSizeOverMax).var("count", a.set_tid_size));
            }
            if a.set_tid == 0 && a.set_tid_size > 0 {
                self.push(finding(RuleId::SetTidSizeWithoutArray).var("count", a.set_tid_size));
            }
            if a.set_tid != 0 && a.set_tid_size == 0 {
                self.push(finding(RuleId::SetTidArrayWithoutSize));
            }
        }
        if a.exit_signal & !CSIGNAL != 0 || a.exit_signal > 64 {
            self.push(finding(RuleId::ExitSignalInvalid).var("signal", show_signal(a.exit_signal)));
        }
        if known >= CLONE_ARGS_SIZE_VER2 && a.flags & CloneFlags::INTO_CGROUP.bits() != 0 {
            if a.cgroup > i32::MAX as u64 {
                self.push(finding(RuleId::CgroupFdOutOfRange).var("fd", a.cgroup));
            }
            if r.size < CLONE_ARGS_SIZE_VER2 {
                self.push(finding(RuleId::CgroupNeedsVer2Size).var("size", r.size));
            }
        }
        if known >= CLONE_ARGS_SIZE_VER1
            && a.set_tid != 0
            && a.set_tid_size > 0
            && a.set_tid_size <= MAX_PID_NS_LEVEL as u64
            && self.set_tid_array().is_none()
        {
            self.push(
                finding(RuleId::SetTidUnreadable)
                    .var("ptr", format!("{:#x}", a.set_tid))
                    .var("count", a.set_tid_size),
            );
        }
        true
    }

    /// The struct as the kernel holds it after the copy: fields past `size` (or past what this
    /// kernel knows) read as zero.
    fn effective_args(&self) -> clone_args {
        let limit = self.req.size.min(self.known_size());
        // Byte-exact: a size that ends inside a field copies the field's first bytes
        // (little-endian: its low bytes).
        let keep = |offset: usize, v: u64| -> u64 {
            match limit.saturating_sub(offset) {
                0 => 0,
                n if n >= 8 => v,
                n => v & ((1u64 << (8 * n)) - 1),
            }
        };
        let a = self.req.args;
        clone_args {
            flags: keep(0, a.flags),
            pidfd: keep(8, a.pidfd),
            child_tid: keep(16, a.child_tid),
            parent_tid: keep(24, a.parent_tid),
            exit_signal: keep(32, a.exit_signal),
            stack: keep(40, a.stack),
            stack_size: keep(48, a.stack_size),
            tls: keep(56, a.tls),
            set_tid: keep(64, a.set_tid),
            set_tid_size: keep(72, a.set_tid_size),
            cgroup: keep(80, a.cgroup),
        }
    }

    /// The set_tid entries the kernel reads.
    fn set_tid_array(&self) -> Option<&[i32]> {
        let a = self.effective_args();
        let n = a.set_tid_size as usize;
        let arr = self.req.set_tid?;
        arr.get(..n)
    }

    fn args_valid(&mut self, a: &clone_args, flags: CloneFlags) {
        let unknown = a.flags & !(CloneFlags::LEGACY.bits() | self.f.clone3_flags.bits());
        if unknown != 0 {
            let unknown = CloneFlags::from_bits_retain(unknown);
            let mut details = Vec::new();
            for info in crate::sys::flags::FLAG_INFO {
                if unknown.contains(info.flag) {
                    details.push(format!(
                        "{} came with Linux {}",
                        info.name,
                        info.clone3_min()
                    ));
                }
            }
            let nameless = unknown.bits() & !CloneFlags::all().bits();
            if nameless != 0 {
                details.push(format!("{nameless:#x} is no flag at all"));
            }
            let n = unknown.bits().count_ones();
            self.push(
                finding(RuleId::UnknownFlags)
                    .flags(unknown)
                    .var("flags", unknown.to_names_string())
                    .var("detail", format!(" ({})", details.join("; ")))
                    .var("them", if n == 1 { "it" } else { "them" }),
            );
        }
        let low = a.flags & (CSIGNAL & !CloneFlags::NEWTIME.bits());
        if low != 0 {
            self.push(
                finding(RuleId::ExitSignalInFlags)
                    .flags(CloneFlags::from_bits_retain(low))
                    .var("bits", format!("{low:#x}"))
                    .var("bits_dec", low),
            );
        }
        if flags.contains(CloneFlags::DETACHED) {
            self.push(finding(RuleId::Detached).sub(1));
        }
        if flags.contains(CloneFlags::NEWTIME) && !self.knows(CloneFlags::NEWTIME) {
            self.push(finding(RuleId::NewtimeBefore63).sub(2));
        }
        if flags.contains(CloneFlags::SIGHAND | CloneFlags::CLEAR_SIGHAND)
            && self.knows(CloneFlags::CLEAR_SIGHAND)
        {
            self.push(finding(RuleId::SighandWithClearSighand));
        }
        if flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) && a.exit_signal != 0 {
            let which = flags & (CloneFlags::THREAD | CloneFlags::PARENT);
            self.push(
                finding(RuleId::ExitSignalWithThreadOrParent)
                    .flags(which)
                    .var("flag", which.to_names_string())
                    .var("signal", show_signal(a.exit_signal)),
            );
        }
        if (a.stack == 0) != (a.stack_size == 0) {
            self.push(
                finding(RuleId::StackIncomplete)
                    .var("stack", format!("{:#x}", a.stack))
                    .var("stack_size", a.stack_size),
            );
        } else if a.stack != 0 {
            match a.stack.checked_add(a.stack_size) {
                Some(end) if end <= self.f.user_space_end => {}
                end => self.push(
                    finding(RuleId::StackOutOfRange)
                        .var("stack", format!("{:#x}", a.stack))
                        .var(
                            "end",
                            end.map_or("beyond 2^64".to_string(), |e| format!("{e:#x}")),
                        ),
                ),
            }
        }
    }

    fn process_flags(&mut self, a: &clone_args, flags: CloneFlags) {
        let c = self.c;
        if flags.contains(CloneFlags::NEWNS | CloneFlags::FS) {
            let newns =
                if flags.contains(CloneFlags::EMPTY_MNTNS) && self.knows(CloneFlags::EMPTY_MNTNS) {
                    "CLONE_EMPTY_MNTNS (which implies CLONE_NEWNS)"
                } else {
                    "CLONE_NEWNS"
                };
            self.push(finding(RuleId::NewnsWithFs).var("newns", newns));
        }
        if flags.contains(CloneFlags::NEWUSER | CloneFlags::FS) {
            self.push(finding(RuleId::NewuserWithFs));
        }
        if flags.contains(CloneFlags::NEWUSER)
            && self.f.userns.unprivileged_userns_clone == Some(false)
            && !c.has_global_cap(CAP_SYS_ADMIN)
        {
            self.push(finding(RuleId::UsernsCloneDisabled));
        }
        if flags.contains(CloneFlags::THREAD) && !flags.contains(CloneFlags::SIGHAND) {
            self.push(finding(RuleId::ThreadNeedsSighand));
        }
        // A thread needs SIGHAND, and SIGHAND needs VM: name the missing VM as well, since
        // adding only SIGHAND would fail on it next.
        if flags.intersects(CloneFlags::SIGHAND | CloneFlags::THREAD)
            && !flags.contains(CloneFlags::VM)
        {
            let what = if flags.contains(CloneFlags::SIGHAND) {
                "CLONE_SIGHAND"
            } else {
                "CLONE_THREAD (which needs CLONE_SIGHAND)"
            };
            self.push(finding(RuleId::SighandNeedsVm).var("what", what));
        }
        if flags.contains(CloneFlags::PARENT) && c.is_pid_ns_init {
            self.push(finding(RuleId::ParentFromInit));
        }
        if flags.contains(CloneFlags::THREAD) {
            let ns = flags & (CloneFlags::NEWUSER | CloneFlags::NEWPID);
            if !ns.is_empty() {
                self.push(
                    finding(RuleId::ThreadIntoOtherPidns)
                        .flags(CloneFlags::THREAD | ns)
                        .var(
                            "why",
                            format!(
                                "with {}: a thread cannot live in another namespace than its process",
                                ns.to_names_string()
                            ),
                        )
                        .var(
                            "fix",
                            format!("drop CLONE_THREAD (create a process) or drop {}", ns.to_names_string()),
                        ),
                );
            } else if c.pid_ns_for_children_differs {
                self.push(
                    finding(RuleId::ThreadIntoOtherPidns)
                        .var(
                            "why",
                            "after the caller changed its pid namespace for children (unshare or setns): a new thread would belong to another pid namespace than its process",
                        )
                        .var(
                            "fix",
                            "create threads before unshare(CLONE_NEWPID)/setns, or create a process",
                        ),
                );
            }
        }
        if self.applies(RuleId::VmAcrossTimeNs)
            && flags.intersects(CloneFlags::VM | CloneFlags::THREAD)
            && c.time_ns_for_children_differs
        {
            self.push(finding(RuleId::VmAcrossTimeNs));
        }
        if self.applies(RuleId::PidfdWithThread)
            && flags.contains(CloneFlags::PIDFD | CloneFlags::THREAD)
        {
            self.push(finding(RuleId::PidfdWithThread));
        }
        if flags.contains(CloneFlags::AUTOREAP) && self.knows(CloneFlags::AUTOREAP) {
            let conflicts = [
                (
                    flags.contains(CloneFlags::THREAD),
                    CloneFlags::THREAD,
                    "with CLONE_THREAD: a thread is reaped with its process",
                    "drop CLONE_THREAD",
                ),
                (
                    flags.contains(CloneFlags::PARENT),
                    CloneFlags::PARENT,
                    "with CLONE_PARENT: the child would be reaped for another parent",
                    "drop CLONE_PARENT",
                ),
                (
                    a.exit_signal != 0,
                    CloneFlags::empty(),
                    "with a non-zero exit_signal: an auto-reaped child signals nobody",
                    "set exit_signal to 0",
                ),
            ];
            for (i, (hit, flag, why, fix)) in conflicts.into_iter().enumerate() {
                if hit {
                    self.push(
                        finding(RuleId::AutoreapConflict)
                            .sub(i as u32)
                            .flags(CloneFlags::AUTOREAP | flag)
                            .var("why", why)
                            .var("fix", fix),
                    );
                }
            }
        }
        if flags.contains(CloneFlags::PARENT)
            && self.knows(CloneFlags::AUTOREAP)
            && c.is_autoreap == Some(true)
        {
            self.push(finding(RuleId::ParentFromAutoreap));
        }
        if flags.contains(CloneFlags::NNP | CloneFlags::THREAD) && self.knows(CloneFlags::NNP) {
            self.push(finding(RuleId::NnpWithThread));
        }
        if flags.contains(CloneFlags::PIDFD_AUTOKILL) && self.knows(CloneFlags::PIDFD_AUTOKILL) {
            let conflicts = [
                (
                    !flags.contains(CloneFlags::PIDFD),
                    "needs CLONE_PIDFD: the child dies when its pidfd is closed",
                ),
                (
                    !flags.contains(CloneFlags::AUTOREAP),
                    "needs CLONE_AUTOREAP",
                ),
                (
                    flags.contains(CloneFlags::THREAD),
                    "cannot be used with CLONE_THREAD",
                ),
            ];
            for (i, (hit, why)) in conflicts.into_iter().enumerate() {
                if hit {
                    self.push(
                        finding(RuleId::AutokillConflict)
                            .sub(i as u32)
                            .var("why", why),
                    );
                }
            }
            if !flags.contains(CloneFlags::NNP) && !c.has_cap(CAP_SYS_ADMIN) {
                self.push(finding(RuleId::AutokillNeedsNnpOrAdmin));
            }
        }
    }

    /// `copy_creds()` → `create_user_ns()` with `CLONE_NEWUSER`.
    fn credentials(&mut self, flags: CloneFlags) {
        if !flags.contains(CloneFlags::NEWUSER) {
            return;
        }
        let c = self.c;
        match c.user_ns_level {
            Some(l) if l > 32 => self.push(finding(RuleId::UsernsTooDeep).var("level", l)),
            Some(_) => {}
            None => self.notes.push(
                "cannot tell how deep the caller's user namespace is nested (at most 33 levels are possible)".into(),
            ),
        }
        if c.ns_limits.user == Some(0) || self.f.userns.max_user_namespaces == Some(0) {
            self.push(finding(RuleId::UsernsLimit));
        }
        if c.chrooted == Some(true) {
            self.push(finding(RuleId::UsernsChrooted));
        }
        if !c.ids_mapped {
            self.push(
                finding(RuleId::UsernsUnmappedIds)
                    .var("euid", c.euid)
                    .var("egid", c.egid),
            );
        }
    }

    fn limits(&mut self) {
        let c = self.c;
        if let (Some(limit), Some(count)) = (c.rlimit_nproc, c.nproc_count) {
            let exempt = (c.in_initial_user_ns && c.uid == 0)
                || c.has_global_cap(CAP_SYS_RESOURCE)
                || c.has_global_cap(CAP_SYS_ADMIN);
            if count >= limit && !exempt {
                self.push(
                    finding(RuleId::NprocLimit)
                        .var("limit", limit)
                        .var("uid", c.uid)
                        .var("count", count),
                );
            }
        }
        if let (Some(t), Some(max)) = (c.threads, c.threads_max) {
            if t >= max {
                self.push(
                    finding(RuleId::ThreadsMax)
                        .var("threads", t)
                        .var("max", max),
                );
            }
        }
    }

    /// `copy_namespaces()` and `create_new_namespaces()`.
    fn namespaces(&mut self, flags: CloneFlags) {
        let c = self.c;
        let ns_flags = flags
            & (CloneFlags::NEWNS
                | CloneFlags::NEWUTS
                | CloneFlags::NEWIPC
                | CloneFlags::NEWPID
                | CloneFlags::NEWNET
                | CloneFlags::NEWCGROUP
                | CloneFlags::NEWTIME);
        if ns_flags.is_empty() {
            return;
        }
        // With CLONE_NEWUSER the namespaces belong to the new user namespace, which its
        // creator holds every capability in.
        if !flags.contains(CloneFlags::NEWUSER) && !c.has_cap(CAP_SYS_ADMIN) {
            self.push(
                finding(RuleId::NamespacesNeedCap)
                    .flags(ns_flags)
                    .var("flags", ns_flags.to_names_string()),
            );
        }
        if flags.contains(CloneFlags::NEWIPC | CloneFlags::SYSVSEM) {
            self.push(finding(RuleId::NewipcWithSysvsem));
        }
        for (i, (flag, kind)) in NAMESPACE_ORDER.iter().enumerate() {
            if !flags.contains(*flag) {
                continue;
            }
            let sub = i as u32 * 10;
            if *flag == CloneFlags::NEWPID {
                for (j, block) in c.new_pid_ns_blocks().into_iter().enumerate() {
                    let sub = sub + j as u32;
                    self.push(match block {
                        NewPidNsBlock::ForChildrenDiffers => {
                            finding(RuleId::NewpidAfterUnshare).sub(sub)
                        }
                        NewPidNsBlock::OwnerBelow => {
                            finding(RuleId::PidnsOwnerNotAncestor).sub(sub)
                        }
                        NewPidNsBlock::TooDeep(level) => {
                            finding(RuleId::PidnsTooDeep).sub(sub).var("level", level)
                        }
                    });
                }
            }
            let limit = match *kind {
                "mnt" => c.ns_limits.mnt,
                "uts" => c.ns_limits.uts,
                "ipc" => c.ns_limits.ipc,
                "pid" => c.ns_limits.pid.or(self.f.userns.max_pid_namespaces),
                "cgroup" => c.ns_limits.cgroup,
                "net" => c.ns_limits.net,
                _ => c.ns_limits.time,
            };
            if limit == Some(0) {
                self.push(
                    finding(RuleId::NamespaceLimit)
                        .sub(sub + 3)
                        .flags(*flag)
                        .var("kind", kind),
                );
            }
        }
    }

    /// `alloc_pid()` with the `set_tid` array: levels innermost first.
    fn set_tid(&mut self, a: &clone_args, flags: CloneFlags) {
        if a.set_tid_size == 0 || a.set_tid_size > MAX_PID_NS_LEVEL as u64 {
            return;
        }
        let Some(tids) = self.set_tid_array().map(<[i32]>::to_vec) else {
            return;
        };
        let c = self.c;
        let newpid = flags.contains(CloneFlags::NEWPID);
        let child_level = c.children_pid_ns_level + u32::from(newpid);
        let levels = child_level as usize + 1;
        if tids.len() > levels && !c.pid_ns_level_exact {
            self.notes.push(format!(
                "cannot tell how deep the caller's pid namespace is (level {} or deeper), so whether {} set_tid entries fit is for the kernel to say",
                c.pid_ns_level,
                tids.len()
            ));
        } else if tids.len() > levels {
            let (hint, fixhint) = if !newpid && tids.len() == levels + 1 {
                (
                    " (without CLONE_NEWPID the child gets no level of its own)",
                    ", or add CLONE_NEWPID to create one more level",
                )
            } else {
                ("", "")
            };
            self.push(
                finding(RuleId::SetTidTooLong)
                    .var("count", tids.len())
                    .var("level", child_level)
                    .var("max", levels)
                    .var("s", if levels == 1 { "" } else { "s" })
                    .var("hint", hint)
                    .var("fixhint", fixhint),
            );
        }
        let pid_max = pid_max(c, self.f);
        let cr_counts = self.at_least(5, 9);
        for (i, &tid) in tids.iter().enumerate().take(levels) {
            let level = child_level - i as u32;
            let new_ns = newpid && i == 0;
            let place = if new_ns {
                "in the new pid namespace".to_string()
            } else if level == c.pid_ns_level {
                format!("in the caller's pid namespace (level {level})")
            } else if level > c.pid_ns_level {
                format!("in the caller's pid namespace for children (level {level})")
            } else {
                format!("in the ancestor pid namespace at level {level}")
            };
            let sub = i as u32;
            let base = |id| {
                finding(id)
                    .sub(sub)
                    .var("index", i)
                    .var("tid", tid)
                    .var("where", place.clone())
            };
            if tid < 1 || tid as i64 >= pid_max as i64 {
                self.push(
                    base(RuleId::SetTidOutOfRange)
                        .var("pid_max", pid_max)
                        .var("pid_max_1", pid_max.saturating_sub(1)),
                );
                continue;
            }
            let has_init = if new_ns {
                false
            } else if i == 0 && !newpid {
                c.children_pid_ns_has_init
            } else {
                true
            };
            if tid != 1 && !has_init {
                let whose = if new_ns {
                    "the new pid namespace".to_string()
                } else {
                    format!("the caller's pid namespace for children (level {level})")
                };
                self.push(
                    base(RuleId::SetTidNeedsInit)
                        .var("where", whose)
                        .flags(if new_ns {
                            CloneFlags::NEWPID
                        } else {
                            CloneFlags::empty()
                        }),
                );
                continue;
            }
            let owner = if new_ns {
                if flags.contains(CloneFlags::NEWUSER) {
                    NsOwner::Below { owned_by_me: true }
                } else {
                    NsOwner::Mine
                }
            } else {
                c.pid_ns_owners
                    .get(level as usize)
                    .copied()
                    .unwrap_or(NsOwner::Unknown)
            };
            let admin = c.has_cap_over(owner, CAP_SYS_ADMIN);
            let cr = c.has_cap_over(owner, crate::caller::CAP_CHECKPOINT_RESTORE);
            let allowed = match (admin, cr) {
                (Some(true), _) => Some(true),
                (_, Some(true)) if cr_counts => Some(true),
                (Some(false), Some(_)) => Some(false),
                _ => None,
            };
            match allowed {
                Some(true) => {}
                Some(false) => {
                    let (caps, lacks) = if cr_counts {
                        ("CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE", "neither")
                    } else {
                        ("CAP_SYS_ADMIN", "no CAP_SYS_ADMIN")
                    };
                    let fix = if i == 0 && !newpid {
                        "run with CAP_CHECKPOINT_RESTORE (Linux 5.9+) or CAP_SYS_ADMIN, or add CLONE_NEWUSER|CLONE_NEWPID and set only set_tid[0] = 1"
                    } else {
                        "give PIDs only for levels owned by user namespaces where you hold CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (with CLONE_NEWUSER|CLONE_NEWPID: only set_tid[0] = 1), or leave the outer levels to the kernel"
                    };
                    self.push(
                        base(RuleId::SetTidNeedsCap)
                            .var("caps", caps)
                            .var("lacks", lacks)
                            .var("fix", fix),
                    );
                    continue;
                }
                None => self.notes.push(format!(
                    "cannot tell whether the caller holds CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over the user namespace owning the pid namespace at level {level} (set_tid[{i}] = {tid}); the kernel decides"
                )),
            }
            let in_use = if new_ns {
                Some(false)
            } else if level == c.pid_ns_level && !(i == 0 && c.pid_ns_for_children_differs) {
                c.pids_in_use.in_use(tid)
            } else {
                None
            };
            match in_use {
                Some(true) => self.push(base(RuleId::SetTidInUse)),
                Some(false) => {}
                None => self.notes.push(format!(
                    "cannot tell whether PID {tid} (set_tid[{i}]) is free {place}; the kernel decides"
                )),
            }
        }
    }

    /// `cgroup_css_set_fork()` for `CLONE_INTO_CGROUP`, then the pids controller.
    fn cgroup(&mut self, a: &clone_args, flags: CloneFlags) {
        if !flags.contains(CloneFlags::INTO_CGROUP)
            || !self.knows(CloneFlags::INTO_CGROUP)
            || self.req.size < CLONE_ARGS_SIZE_VER2
            || a.cgroup > i32::MAX as u64
        {
            return;
        }
        let Some(cg) = &self.req.cgroup else {
            self.notes.push(format!(
                "the cgroup behind descriptor {} was not inspected",
                a.cgroup
            ));
            return;
        };
        let path = cg.path.clone().unwrap_or_else(|| "?".into());
        let shown = cg.cgroup_path.clone().unwrap_or_else(|| path.clone());
        match &cg.target {
            Target::NotOpen => {
                let meant = cg
                    .path
                    .as_ref()
                    .map(|p| format!(" (standing for {p})"))
                    .unwrap_or_default();
                self.push(
                    finding(RuleId::CgroupFdNotOpen)
                        .var("fd", cg.fd)
                        .var("meant", meant),
                );
                return;
            }
            Target::Cgroup2Dir => {}
            Target::Unknown(why) => {
                self.notes.push(format!(
                    "the cgroup behind descriptor {} could not be inspected ({why}); its rules \
                     were not checked",
                    cg.fd
                ));
                return;
            }
            other => {
                let what = match other {
                    Target::Cgroup2File => "a file of the cgroup2 hierarchy".to_string(),
                    Target::Cgroup1 => "a cgroup v1 directory".to_string(),
                    Target::Other(s) => s.clone(),
                    _ => unreachable!(),
                };
                let mount = self
                    .f
                    .cgroup2_mount
                    .as_ref()
                    .map(|m| format!("; here it is {}", m.display()))
                    .unwrap_or_default();
                self.push(
                    finding(RuleId::CgroupNotCgroup2Dir)
                        .var("fd", cg.fd)
                        .var("path", &path)
                        .var("what", what)
                        .var("mount", mount),
                );
                return;
            }
        }
        if cg.removed {
            self.push(
                finding(RuleId::CgroupRemoved)
                    .var("path", &path)
                    .var("fd", cg.fd),
            );
            return;
        }
        let euid = self.c.euid;
        match cg.writable {
            Some(false) => self.push(
                finding(RuleId::CgroupNotWritable)
                    .var("euid", euid)
                    .var("path", &path),
            ),
            Some(true) => {}
            None => self.notes.push(format!(
                "cannot tell whether the caller may write {path}/cgroup.procs"
            )),
        }
        if let Some(anc) = &cg.ancestor {
            match cg.ancestor_writable {
                Some(false) => {
                    let target_parent = cg
                        .cgroup_path
                        .as_deref()
                        .and_then(|p| p.rsplit_once('/').map(|(a, _)| if a.is_empty() { "/" } else { a }))
                        .unwrap_or("the target")
                        .to_string();
                    self.push(
                        finding(RuleId::CgroupAncestorNotWritable)
                            .var("own", self.c.cgroup2_path.clone().unwrap_or_default())
                            .var("target", &shown)
                            .var("ancestor", anc)
                            .var("euid", euid)
                            .var("target_parent", target_parent),
                    )
                }
                Some(true) => {}
                None => self.notes.push(format!(
                    "cannot tell whether the caller may write cgroup.procs of {anc}, the common ancestor of its cgroup and the target"
                )),
            }
        }
        if cg.cgroup_type.as_deref() == Some("domain invalid") {
            self.push(finding(RuleId::CgroupDomainInvalid).var("path", &shown));
        } else if let Some(why) = cg.internal_process_conflict() {
            self.push(
                finding(RuleId::CgroupInternalProcess)
                    .var("path", &shown)
                    .var("why", why),
            );
        }
        if flags.contains(CloneFlags::THREAD) {
            match (&cg.domain, &cg.caller_domain) {
                (Some(d), Some(s)) if d != s => self.push(
                    finding(RuleId::CgroupThreadOtherDomain)
                        .var("path", &shown)
                        .var("dst_dom", d)
                        .var("src_dom", s),
                ),
                (Some(_), Some(_)) => {}
                _ => self.notes.push(
                    "cannot tell whether the target belongs to the caller's threaded domain".into(),
                ),
            }
        }
        if let Some((p, max, cur)) = &cg.pids {
            if cur >= max {
                self.push(
                    finding(RuleId::CgroupPidsMax)
                        .var("path", p)
                        .var("max", max)
                        .var("current", cur),
                );
            }
        }
    }
}

/// An exit signal for messages: decimal, with hex for large values.
fn show_signal(s: u64) -> String {
    if s > 0xffff {
        format!("{s:#x}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests;
