//! The xclone rows: everything the suite measures of xclone itself, in one place, so that the
//! rest of the suite (yardsticks, statistics, report) does not depend on xclone's API.
//!
//! Each function gives the contenders it can build, or the reason it cannot (a piece of
//! xclone that is not there yet); the report shows such a reason in place of the row.

use crate::stats::Contender;
use crate::throughput::MakeOp;
use std::path::Path;

pub const SPAWN: &str = "xclone::Command";
pub const SPAWN_PRE_EXEC: &str = "xclone::Command + pre_exec";

/// Rows that cannot be measured (yet), and why.
#[derive(Clone, Debug)]
pub struct Missing {
    pub labels: Vec<String>,
    pub why: String,
}

impl Missing {
    fn new(labels: &[&str], why: &str) -> Missing {
        Missing {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            why: why.into(),
        }
    }
}

const NO_COMMAND: &str = "xclone::Command is not on main yet";
const NO_VALIDATE: &str = "xclone::validate::validate is not on main yet";

pub const CG_INTO: &str = "xclone: into_cgroup";
pub const CG_HOOK: &str = "xclone: pre_exec writes cgroup.procs";
pub const SET_TID: &str = "xclone: set_tid";
pub const TIME: &str = "xclone: time namespace";
pub const TIME_OFFSETS: &str = "xclone: time namespace + offsets";
pub const PROBE_CACHED: &str = "Features::probe() (cached)";
pub const PROBE_UNCACHED: &str = "Features::probe_uncached()";
pub const VALIDATE: &str = "validate: container set + pidfd";

/// The label of xclone's row for one namespace set.
pub fn ns_label(set: &str) -> String {
    format!("xclone: {set}")
}

/// `xclone::Command::new(path).status()` and the same with an empty pre_exec hook.
pub fn spawn(_path: &Path) -> Result<Vec<Contender<'static>>, Missing> {
    Err(Missing::new(&[SPAWN, SPAWN_PRE_EXEC], NO_COMMAND))
}

/// The throughput operation: one status() spawn.
pub fn throughput_op(_path: &Path) -> Result<Box<MakeOp<'static>>, Missing> {
    Err(Missing::new(&[SPAWN], NO_COMMAND))
}

/// One row per (label, clone flags): xclone spawning with those namespace flags.
pub fn namespaces(
    _path: &Path,
    sets: &[(String, u64)],
) -> Result<Vec<Contender<'static>>, Missing> {
    Err(Missing {
        labels: sets.iter().map(|(n, _)| ns_label(n)).collect(),
        why: NO_COMMAND.into(),
    })
}

/// Plain spawn, `into_cgroup(dir)`, and a pre_exec hook that writes "0" to `cgroup.procs`.
pub fn cgroup<'a>(
    _path: &Path,
    _cg: &'a crate::cgroup::TestCgroup,
) -> Result<Vec<Contender<'a>>, Missing> {
    Err(Missing::new(&[SPAWN, CG_INTO, CG_HOOK], NO_COMMAND))
}

/// `set_tid(pid)` and a new time namespace with and without offsets.
pub fn set_tid_and_time(_path: &Path, _pid: i32) -> Result<Vec<Contender<'static>>, Missing> {
    Err(Missing::new(&[SET_TID, TIME, TIME_OFFSETS], NO_COMMAND))
}

/// `Features::probe()` (cached: an atomic load after the first call); each operation runs
/// `batch` calls.
pub fn probe(batch: usize) -> Result<Vec<Contender<'static>>, Missing> {
    Ok(vec![Contender::new(PROBE_CACHED, move || {
        for _ in 0..batch {
            std::hint::black_box(xclone::Features::probe());
        }
        Ok(())
    })])
}

/// `Features::probe_uncached()`: the whole probe, one call per operation.
pub fn probe_uncached() -> Result<Vec<Contender<'static>>, Missing> {
    Ok(vec![Contender::new(PROBE_UNCACHED, || {
        std::hint::black_box(xclone::Features::probe_uncached());
        Ok(())
    })])
}

/// Validation of a typical request (container set + pidfd) against the probed features.
pub fn validate(_batch: usize) -> Result<Vec<Contender<'static>>, Missing> {
    Err(Missing::new(&[VALIDATE], NO_VALIDATE))
}
