//! `xclone explain --unshare FLAGS` and `xclone explain --setns TARGET [FLAGS]`: would
//! unshare(2) or setns(2) succeed for this caller (or a described one), and if not, why and
//! how to fix it? Makes no call and changes nothing.

use crate::cmd::explain::{human_for, ExplainArgs, REFUSED};
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};
use xclone::caller::Sharing;
use xclone::setns::Target;
use xclone::validate::{self, Verdict};
use xclone::{caller::Caller, probe::Features, CloneFlags};

/// Parses a flag list for unshare or setns: `CLONE_*` names (with or without the prefix),
/// numbers, and the namespace names of `/proc/PID/ns` (`mnt`, `net`, `user`, …), separated by
/// `|` or `,`; `0` or an empty string for none.
pub fn parse_ns_flags(s: &str) -> Result<CloneFlags, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(CloneFlags::empty());
    }
    let mut flags = CloneFlags::empty();
    for part in s.split(['|', ',']).map(str::trim) {
        flags |= match part {
            "mnt" => CloneFlags::NEWNS,
            "uts" => CloneFlags::NEWUTS,
            "ipc" => CloneFlags::NEWIPC,
            "net" => CloneFlags::NEWNET,
            "pid" => CloneFlags::NEWPID,
            "user" => CloneFlags::NEWUSER,
            "cgroup" => CloneFlags::NEWCGROUP,
            "time" => CloneFlags::NEWTIME,
            other => CloneFlags::parse(other)?,
        };
    }
    Ok(flags)
}

/// The descriptor a setns target names: a path is opened (a namespace file, or anything the
/// kernel would then refuse), `pid:N` or a bare number becomes a pidfd of process N.
fn open_target(spec: &str) -> Result<OwnedFd, String> {
    let pid = spec
        .strip_prefix("pid:")
        .or_else(|| spec.bytes().all(|b| b.is_ascii_digit()).then_some(spec));
    match pid {
        Some(p) => {
            let n: i32 = p.parse().map_err(|_| format!("bad PID {p:?}"))?;
            let pid = rustix::process::Pid::from_raw(n).ok_or_else(|| format!("bad PID {n}"))?;
            rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
                .map_err(|e| format!("pidfd_open({n}): {}", xclone::Errno::from(e).message()))
        }
        None => std::fs::File::open(spec)
            .map(OwnedFd::from)
            .map_err(|e| format!("cannot open {spec}: {e}")),
    }
}

/// The caller the request is judged for: the calling thread, or as `--threads` and
/// `--as-user` describe it.
fn described_caller(args: &ExplainArgs) -> Result<Caller, String> {
    let mut c =
        Caller::current().map_err(|e| format!("cannot read the caller's state from /proc: {e}"))?;
    if let Some(n) = args.threads {
        if n == 0 {
            return Err("--threads needs at least 1".into());
        }
        c.sharing = Sharing::threads(n);
    }
    if let Some(uid) = args.as_user {
        c.uid = uid;
        c.euid = uid;
        c.cap_effective = if uid == 0 {
            Caller::root().cap_effective
        } else {
            0
        };
    }
    Ok(c)
}

pub fn run(args: &ExplainArgs) -> i32 {
    let caller = match described_caller(args) {
        Ok(c) => c,
        Err(e) => return crate::exit::fail(format!("explain: {e}")),
    };
    let features = match args.kernel {
        Some(v) => Features::as_of(v),
        // Judging a setns needs one probe more (a helper process): only then.
        None if args.unshare.is_some() => validate::current_features(),
        None => xclone::setns::current_features(),
    };
    let mut notes = Vec::new();
    let (call, flags, target, verdict) = if let Some(spec) = &args.unshare {
        let flags = match parse_ns_flags(spec) {
            Ok(f) => f,
            Err(e) => return crate::exit::fail(format!("explain: --unshare: {e}")),
        };
        let v = xclone::unshare::validate(flags.bits(), &features, &caller);
        ("unshare", flags, None, v)
    } else {
        let spec = args.setns.as_deref().unwrap_or_default();
        let flags = match parse_ns_flags(spec.get(1).map_or("", String::as_str)) {
            Ok(f) => f,
            Err(e) => return crate::exit::fail(format!("explain: --setns: {e}")),
        };
        let opened = spec.first().map(|t| open_target(t));
        let target = match &opened {
            Some(Ok(fd)) => Target::inspect(fd.as_raw_fd(), caller.euid),
            Some(Err(why)) => {
                notes.push(format!(
                    "{why}; explained as a descriptor that is not open, which is what the kernel would get"
                ));
                Target::NotOpen { fd: -1 }
            }
            None => return crate::exit::fail("explain: --setns needs a TARGET"),
        };
        let v = xclone::setns::validate(&target, flags.bits(), &features, &caller);
        ("setns", flags, Some(target), v)
    };
    let text = if args.json {
        json(
            call,
            flags,
            target.as_ref(),
            &verdict,
            &features,
            &caller,
            &notes,
        )
    } else {
        let mut text = human_for(call, &verdict, &features, &notes);
        if verdict.is_ok() {
            text.push_str(&scope(call, flags, target.as_ref(), &caller));
        }
        text
    };
    crate::out::print_status(&text, if verdict.is_ok() { 0 } else { REFUSED })
}

/// For an accepted request: what it would change, and for whom.
fn scope(call: &str, flags: CloneFlags, target: Option<&Target>, c: &Caller) -> String {
    let mut out = String::new();
    let mut flags = flags;
    if let Some(Target::Namespace { ns, .. }) = target {
        flags = ns.kind.flag();
    }
    let children = if call == "unshare" {
        flags & (CloneFlags::NEWPID | CloneFlags::NEWTIME)
    } else {
        flags & CloneFlags::NEWPID
    };
    if !children.is_empty() {
        let _ = writeln!(
            out,
            "note: {} moves only the children created afterwards; the caller stays",
            children.to_names_string()
        );
    }
    let others = c.sharing.thread_count.saturating_sub(1);
    if others > 0 && !(flags - children).is_empty() {
        let _ = writeln!(
            out,
            "note: only the calling thread would change; the process's {others} other thread{} keep their namespaces",
            if others == 1 { "" } else { "s" }
        );
    }
    out
}

fn json(
    call: &str,
    flags: CloneFlags,
    target: Option<&Target>,
    v: &Verdict,
    f: &Features,
    c: &Caller,
    notes: &[String],
) -> String {
    let all_notes: Vec<&String> = notes.iter().chain(&v.notes).collect();
    let obj = serde_json::json!({
        "ok": v.is_ok(),
        "errno": v.errno().map(|e| e.name()),
        "call": call,
        "kernel": f.kernel_release,
        "request": {
            "flags": flags.names(),
            "flags_hex": format!("{:#x}", flags.bits()),
            "target": target,
        },
        "caller": {
            "pid": c.pid,
            "uid": c.uid,
            "euid": c.euid,
            "cap_effective": format!("{:#x}", c.cap_effective),
            "in_initial_user_ns": c.in_initial_user_ns,
            "chrooted": c.chrooted,
            "sharing": c.sharing,
        },
        "problems": v.problems,
        "notes": all_notes,
    });
    serde_json::to_string_pretty(&obj).expect("JSON of plain data") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_lists() {
        assert_eq!(
            parse_ns_flags("net,user"),
            Ok(CloneFlags::NEWNET | CloneFlags::NEWUSER)
        );
        assert_eq!(
            parse_ns_flags("CLONE_NEWNS|mnt|0x20000"),
            Ok(CloneFlags::NEWNS)
        );
        assert_eq!(parse_ns_flags(""), Ok(CloneFlags::empty()));
        assert!(parse_ns_flags("bogus").is_err());
    }
}
