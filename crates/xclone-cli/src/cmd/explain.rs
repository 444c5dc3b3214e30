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
use xclone::{caller::Caller, probe::Features, CloneArgs, CloneFlags, KernelVersion};

/// Exit status when the kernel would refuse the request.
pub(crate) const REFUSED: i32 = 1;

/// What `xclone explain` does, in the subcommand list and its help.
pub(crate) const ABOUT: &str =
    "Say whether the kernel would accept a clone request, and why not (creates nothing)";

#[derive(clap::Args, Debug)]
#[command(about = ABOUT, after_help = "\
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
  xclone explain --kernel 5.4 --flags CLONE_CLEAR_SIGHAND

unshare(2) and setns(2) (FLAGS: CLONE_* names or mnt,uts,ipc,net,pid,user,cgroup,time; TARGET:
a namespace file such as /proc/PID/ns/net, or pid:PID for a pidfd):
  xclone explain --unshare user,net
  xclone explain --unshare CLONE_NEWUSER --threads 4
      EINVAL: all threads of a process must share one user namespace
  xclone explain --setns /proc/1/ns/mnt --as-user 1000
  xclone explain --setns pid:1234 user,net,mnt --json")]
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
    /// Explain unshare(2) with these flags instead of a clone3 request.
    #[arg(long, value_name = "FLAGS", conflicts_with = "setns")]
    pub unshare: Option<String>,
    /// Explain setns(2) on TARGET (a namespace file, or pid:PID for a pidfd) with FLAGS
    /// (default 0: the namespace file's own type).
    #[arg(long, num_args = 1..=2, value_names = ["TARGET", "FLAGS"])]
    pub setns: Option<Vec<String>>,
    /// With --unshare/--setns: judge for a caller whose process has N threads (made with
    /// pthreads, which share CLONE_FS) instead of the current one.
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// With --unshare/--setns: judge for a caller running as this uid (no capabilities unless
    /// 0) instead of the current one. The setns target is still opened and inspected by you.
    #[arg(long, value_name = "UID")]
    pub as_user: Option<u32>,
}

pub fn run(args: ExplainArgs) -> i32 {
    if args.unshare.is_some() || args.setns.is_some() {
        return crate::cmd::explain_ns::run(&args);
    }
    if args.threads.is_some() || args.as_user.is_some() {
        return crate::exit::fail(
            "explain: --threads and --as-user describe the caller of --unshare or --setns",
        );
    }
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
    // The default `run` uses too.
    let exit_signal = opts.exit_signal_for(flags);
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
    human_for("clone3", v, f, notes)
}

/// [`human`] for a verdict on `call` (`clone3`, `unshare`, `setns`).
pub(crate) fn human_for(call: &str, v: &Verdict, f: &Features, notes: &[String]) -> String {
    let mut out = String::new();
    let kernel = if f.kernel_release.is_empty() {
        String::new()
    } else {
        format!(", Linux {}", f.kernel_release)
    };
    if v.is_ok() && call == "clone3" {
        let _ = writeln!(
            out,
            "ok: the kernel would accept this request (clone3, {}-byte clone_args{kernel})",
            v.size
        );
    } else if v.is_ok() {
        println!("ok: the kernel would accept this request ({call}{kernel})");
    } else {
        let first = &v.problems[0];
        let more = match v.problems.len() {
            1 => String::new(),
            n => format!(" (first of {n} problems, in the order the kernel checks)"),
        };
        let _ = writeln!(
            out,
            "refused: {call} would fail with {} ({}){more}{kernel}",
            first.errno.name(),
            first.errno.message()
        );
        for (i, p) in v.problems.iter().enumerate() {
            let _ = writeln!(out);
            let mark = if i == 0 {
                format!("   <- {call} returns this")
            } else {
                String::new()
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
