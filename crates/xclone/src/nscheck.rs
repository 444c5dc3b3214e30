//! What the unshare(2) and setns(2) validators share: a violated row of
//! [`crate::rules::ns::NS_RULES`] with the values for its templates, turned into the same
//! [`Problem`]s and [`Verdict`]s the clone3 validator gives, and the explanation of an errno a
//! real call returned.

use crate::errno::Errno;
use crate::rules::ns::{Call, NsRule, NsRuleId, NS_RULES};
use crate::rules::{fill, Area};
use crate::validate::{strip_placeholders, Problem, Verdict};

/// A rule of [`NS_RULES`] found violated.
pub(crate) type Finding = crate::validate::Finding<NsRuleId>;

pub(crate) fn finding(rule: NsRuleId) -> Finding {
    Finding::new(rule)
}

fn problem(f: &Finding) -> Problem {
    let r = NsRule::get(f.rule);
    Problem {
        rule: r.name,
        errno: f.errno.unwrap_or(r.errno),
        cause: fill(r.cause, &f.vars),
        flags: f.flags.unwrap_or(r.flags),
        fields: vec![match r.call {
            Call::Unshare => "flags",
            Call::Setns => "fd",
        }],
        since: r.since,
        until: r.until,
        fix: fill(r.fix, &f.vars),
        function: fill_function(r.function, &f.vars),
        area: match r.call {
            Call::Unshare => Area::Unshare,
            Call::Setns => Area::Setns,
        },
    }
}

/// The function name of a per-type rule (`{kind}ns_install`) for the type at hand; the names
/// are the kernel's, so they are a fixed set.
fn fill_function(template: &'static str, vars: &[(&'static str, String)]) -> &'static str {
    if !template.contains("{kind}") {
        return template;
    }
    match vars
        .iter()
        .find(|(k, _)| *k == "kind")
        .map(|(_, v)| v.as_str())
    {
        Some("uts") => "utsns_install",
        Some("ipc") => "ipcns_install",
        Some("pid") => "pidns_install",
        Some("cgroup") => "cgroupns_install",
        Some("net") => "netns_install",
        Some("time") => "timens_install",
        _ => template,
    }
}

/// The verdict for `found`, in the kernel's order.
pub(crate) fn verdict(mut found: Vec<Finding>, notes: Vec<String>) -> Verdict {
    found.sort_by_key(|x| (NsRule::get(x.rule).order, x.sub, NsRule::index(x.rule)));
    Verdict {
        problems: found.iter().map(problem).collect(),
        notes,
        size: 0,
    }
}

/// The explanation for `errno` from a real call of `call`: the validator's problem with that
/// errno if it predicted one, else the first rule of that call that yields it and that the
/// validator cannot predict (marked as likely).
pub(crate) fn explain(call: Call, verdict: &Verdict, errno: Errno) -> Option<Problem> {
    if let Some(p) = verdict.problems.iter().find(|p| p.errno == errno) {
        return Some(p.clone());
    }
    let r = NS_RULES
        .iter()
        .filter(|r| r.call == call && r.errno == errno)
        .find(|r| !r.predicted)
        .or_else(|| NS_RULES.iter().find(|r| r.call == call && r.errno == errno))?;
    let mut p = problem(&finding(r.id));
    p.cause = format!("likely: {}", strip_placeholders(&p.cause));
    p.fix = strip_placeholders(&p.fix);
    Some(p)
}

/// "1 other thread" / "3 other threads".
pub(crate) fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
