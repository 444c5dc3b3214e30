//! `xclone explain`: would the kernel accept this clone request, for this caller, and if not,
//! why and how to fix it? Creates nothing.
//!
//! It takes any value the raw `clone_args` can carry (any exit-signal number, any set_tid
//! entries and count) and lets the validator judge it; `xclone run` refuses the same requests
//! with exit 125 and the same explanation.

use crate::options::{signal_name, CloneOpts};
use std::fmt::Write as _;
use std::os::fd::{AsFd, OwnedFd};
use xclone::validate::{self, CgroupFacts, RawRequest, Verdict};
use xclone::{Caller, CloneArgs, CloneFlags, Features, KernelVersion};

/// Exit status when the kernel would refuse the request.
const REFUSED: i32 = 1;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
The exit signal defaults to SIGCHLD, or to 0 with CLONE_THREAD or CLONE_PARENT (clone3 demands
0 there). Exit status: 0 when the kernel would accept the request, 1 when it would refuse it (one
block per problem, the first being the errno clone3 returns), 125 when the options are unusable.

Examples:
  xclone explain -p --set-tid 5
      EINVAL: the first PID in a new pid namespace must be 1
  xclone explain --flags CLONE_THREAD
      EINVAL: a thread needs CLONE_SIGHAND, which needs CLONE_VM
  xclone explain -U -p --set-tid 1,4242
      as an unprivileged user: EPERM for the outer level
  xclone explain --into-cgroup /sys/fs/cgroup/mygroup
      is that cgroup writable for you, and can it hold processes?
  xclone explain --flags 'CLONE_VM|CLONE_VFORK' --exit-signal 0 --json
  xclone explain --kernel 5.4 --flags CLONE_CLEAR_SIGHAND")]
pub struct ExplainArgs {
    #[command(flatten)]
    pub clone: CloneOpts,
    /// Judge against the documented behaviour of this kernel release (e.g. 5.4) instead of the
    /// running kernel; the caller is still you.
    #[arg(long, value_name = "X.Y")]
    pub kernel: Option<KernelVersion>,
    /// Print the verdict as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ExplainArgs) -> i32 {
    let caller = match Caller::current() {
        Ok(c) => c,
        Err(e) => {
            return crate::exit::fail(format!(
                "explain: cannot read the caller's state from /proc: {e}"
            ))
        }
    };
    let features = match args.kernel {
        Some(v) => Features::as_of(v),
        None => validate::current_features(),
    };
    let opts = &args.clone;
    let mut flags = opts.clone_flags();
    if opts.into_cgroup.is_some() {
        flags |= CloneFlags::INTO_CGROUP;
    }
    // Unless told otherwise: SIGCHLD like fork(), but 0 where clone3 demands it (threads and
    // CLONE_PARENT children signal nobody of their own).
    let default_signal = if flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let exit_signal = opts.exit_signal.unwrap_or(default_signal);
    let set_tid = opts.set_tid.clone().map(|s| s.0).unwrap_or_default();

    // The cgroup directory is opened as the kernel needs it; if it cannot be, the request is
    // still explained, as the kernel would see it: a descriptor that is not open.
    let mut notes = Vec::new();
    let cgroup_dir: Option<Result<OwnedFd, String>> = opts.into_cgroup.as_ref().map(|dir| {
        rustix::fs::open(
            dir,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| {
            format!(
                "cannot open {} ({}); explained as an unopened descriptor, which is what the kernel would get",
                dir.display(),
                xclone::Errno::from(e).message()
            )
        })
    });
    let mut cargs = CloneArgs::new()
        .flags(flags)
        .exit_signal(exit_signal)
        .set_tid(set_tid.clone());
    if let Some(Ok(fd)) = &cgroup_dir {
        cargs = cargs.cgroup(fd.as_fd());
    }
    let verdict = match &cgroup_dir {
        Some(Err(why)) => {
            notes.push(why.clone());
            let mut slot = -1;
            let enc = cargs.encode(Some(&mut slot));
            let mut raw = enc.raw;
            // A number no descriptor can have (above any RLIMIT_NOFILE Linux allows), below
            // INT_MAX so that the kernel's range check passes.
            raw.cgroup = i32::MAX as u64;
            let mut req = RawRequest::new(raw, enc.size, Some(cargs.get_set_tid()), &caller);
            req.cgroup = Some(CgroupFacts::not_open(
                raw.cgroup,
                opts.into_cgroup.as_ref().map(|p| p.display().to_string()),
            ));
            validate::validate_raw(&req, &features, &caller)
        }
        _ => validate::validate(&cargs, &features, &caller),
    };

    let text = if args.json {
        json(&cargs, &verdict, &features, &caller, &notes)
    } else {
        human(&verdict, &features, &notes)
    };
    crate::out::print_status(&text, if verdict.is_ok() { 0 } else { REFUSED })
}

/// The verdict for people: the errno clone3 returns, then one block per problem.
pub(crate) fn human(v: &Verdict, f: &Features, notes: &[String]) -> String {
    let mut out = String::new();
    let kernel = if f.kernel_release.is_empty() {
        String::new()
    } else {
        format!(", Linux {}", f.kernel_release)
    };
    if v.is_ok() {
        let _ = writeln!(
            out,
            "ok: the kernel would accept this request (clone3, {}-byte clone_args{kernel})",
            v.size
        );
    } else {
        let first = &v.problems[0];
        let more = match v.problems.len() {
            1 => String::new(),
            n => format!(" (first of {n} problems, in the order the kernel checks)"),
        };
        let _ = writeln!(
            out,
            "refused: clone3 would fail with {} ({}){more}{kernel}",
            first.errno.name(),
            first.errno.message()
        );
        for (i, p) in v.problems.iter().enumerate() {
            let _ = writeln!(out);
            let mark = if i == 0 {
                "   <- clone3 returns this"
            } else {
                ""
            };
            let _ = writeln!(out, "{:<8}{}{mark}", p.errno.name(), p.cause);
            let mut facts = vec![format!("rule: {} ({})", p.rule, p.function)];
            if !p.flags.is_empty() {
                facts.push(format!("flags: {}", p.flags.to_names_string()));
            }
            let fields: Vec<&str> = p.fields.iter().copied().filter(|f| *f != "flags").collect();
            if !fields.is_empty() {
                let s = if fields.len() == 1 { "" } else { "s" };
                facts.push(format!("field{s}: {}", fields.join(", ")));
            }
            if let Some(u) = p.until {
                facts.push(format!("kernels before Linux {u}"));
            } else if let Some(s) = p.since {
                if s >= KernelVersion::new(4, 0) {
                    facts.push(format!("since Linux {s}"));
                }
            }
            let _ = writeln!(out, "        {}", facts.join("   "));
            let _ = writeln!(out, "        fix: {}", p.fix);
        }
    }
    for n in notes.iter().chain(&v.notes) {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

fn json(a: &CloneArgs, v: &Verdict, f: &Features, c: &Caller, notes: &[String]) -> String {
    let sig = a.get_exit_signal();
    let all_notes: Vec<&String> = notes.iter().chain(&v.notes).collect();
    let obj = serde_json::json!({
        "ok": v.is_ok(),
        "errno": v.errno().map(|e| e.name()),
        "size": v.size,
        "kernel": f.kernel_release,
        "request": {
            "flags": a.get_flags().names(),
            "flags_hex": format!("{:#x}", a.get_flags().bits()),
            "exit_signal": sig,
            "exit_signal_name": (1..=64).contains(&sig).then(|| signal_name(sig as i32)),
            "set_tid": a.get_set_tid(),
        },
        "caller": {
            "pid": c.pid,
            "uid": c.uid,
            "euid": c.euid,
            "cap_effective": format!("{:#x}", c.cap_effective),
            "pid_ns_level": c.pid_ns_level,
            "in_initial_user_ns": c.in_initial_user_ns,
        },
        "problems": v.problems,
        "notes": all_notes,
    });
    serde_json::to_string_pretty(&obj).expect("JSON of plain data") + "\n"
}
