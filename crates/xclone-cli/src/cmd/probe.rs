//! `xclone probe`: what this kernel and these privileges offer, found without creating
//! anything. The table and the `--json` object print the same [`xclone::probe::Report`];
//! the JSON keys are documented there and in `docs/probe-json.md`.

use std::fmt::Write as _;
use xclone::probe::Features;
use xclone::probe::Report;

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// Print one JSON object with stable keys (see docs/probe-json.md) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ProbeArgs) -> i32 {
    let report = Features::probe().report();
    let out = if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => s + "\n",
            Err(e) => return crate::exit::fail(format!("probe: cannot encode JSON: {e}")),
        }
    } else {
        table(&report)
    };
    crate::out::print_status(&out, 0)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The human form: features with yes/no and why, the environment, then the flag bits.
fn table(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Kernel: Linux {}", r.kernel_release);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<32} {:<16} {:<6} why",
        "feature", "available", "since"
    );
    for l in &r.features {
        let state = match (&l.errno, l.state) {
            (Some(e), state) => format!("{}: {state} {e}", yes_no(l.available)),
            (None, "yes" | "no") => l.state.to_string(),
            (None, state) => format!("{}: {state}", yes_no(l.available)),
        };
        let _ = writeln!(
            s,
            "{:<32} {:<16} {:<6} {}",
            l.label,
            state,
            l.since.as_deref().unwrap_or("-"),
            l.why
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "clone_args: the kernel reads up to {} bytes",
        r.clone_args_max_size
    );
    let _ = writeln!(
        s,
        "cgroup2 mount: {}",
        r.cgroup2_mount.as_deref().unwrap_or("none found")
    );
    let u = &r.user_namespaces;
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let optb = |v: Option<bool>| v.map_or("-".to_string(), |v| u8::from(v).to_string());
    let _ = writeln!(
        s,
        "limits: max_user_namespaces={} max_pid_namespaces={} unprivileged_userns_clone={} apparmor_restrict_unprivileged_userns={} pid_max={}",
        opt(u.max_user_namespaces),
        opt(u.max_pid_namespaces),
        optb(u.unprivileged_userns_clone),
        optb(u.apparmor_restrict_unprivileged_userns),
        r.pid_max.map_or("-".to_string(), |v| v.to_string()),
    );
    let _ = writeln!(s, "user address space ends at {}", r.user_space_end);
    let _ = writeln!(s);
    let c = &r.capabilities;
    let _ = writeln!(
        s,
        "capabilities of the probing thread (effective {}, permitted {}):",
        c.effective, c.permitted
    );
    for cap in &c.relevant {
        let _ = writeln!(
            s,
            "  {:<24} {:<4} {}",
            cap.name,
            yes_no(cap.effective),
            cap.needed_for
        );
    }
    let _ = writeln!(s);
    let how = match r.flag_probe {
        "probed" => "asked bit by bit",
        "release-table" => "from the release table, the kernel could not be asked",
        _ => "clone3 is unusable",
    };
    let _ = writeln!(s, "clone3 flags ({how}):");
    let _ = writeln!(
        s,
        "  {:>3}  {:<22} {:<12} {:<7} {:<7} {:<6} answer",
        "bit", "name", "value", "since", "clone3", "known"
    );
    for f in &r.flags {
        let known = if f.how == "inferred" {
            format!("{}*", yes_no(f.known))
        } else {
            yes_no(f.known).to_string()
        };
        let _ = writeln!(
            s,
            "  {:>3}  {:<22} {:<12} {:<7} {:<7} {:<6} {}",
            f.bit,
            f.name.unwrap_or("(unnamed)"),
            f.value,
            f.since.as_deref().unwrap_or("-"),
            f.clone3_since.as_deref().unwrap_or("-"),
            known,
            f.answer.as_deref().unwrap_or("-"),
        );
    }
    if r.flags.iter().any(|f| f.how == "inferred") {
        let _ = writeln!(
            s,
            "  * accepted by every clone3; the kernel could not be asked about it here"
        );
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "notes:");
        for n in &r.notes {
            let _ = writeln!(s, "  {n}");
        }
    }
    s
}
