//! Process trees with exactly the PIDs you choose: read a running tree into a manifest
//! ([`read_tree`]), and create a tree from a manifest ([`restore`]) in which every process has
//! the given PID at every pid-namespace level (clone3's `set_tid`), its given parent, session
//! and process group, and then runs its given program.
//!
//! Nested pid namespaces are supported: a process may start one (`new_pid_ns`) and is then its
//! PID 1; its descendants have one more PID each. The format is documented in
//! `docs/restore.md` and `docs/restore-manifest.schema.json`.
//!
//! ```no_run
//! # #[cfg(feature = "serde")] {
//! use xclone::restore::{restore, Manifest};
//! // Parsing JSON needs the `serde` feature.
//! let m = Manifest::parse(r#"{"version": 1, "processes": [
//!     {"id": "init", "pids": [31000, 1], "new_pid_ns": true, "argv": ["sleep", "600"]},
//!     {"id": "worker", "parent": "init", "pids": [31001, 2], "argv": ["sleep", "600"]}
//! ]}"#).unwrap();
//! let tree = restore(&m).unwrap(); // needs CAP_SYS_ADMIN (a pid namespace) here
//! assert_eq!(tree.root_pid, 31000);
//! # }
//! ```
//!
//! Layers: the manifest ([`Manifest`], parsing with JSON paths), [`check()`] (whole-tree rules),
//! [`read_tree`] (`/proc` → manifest), [`restore()`] (the restorer), with `prepare` (checks of the
//! system, data built before the first clone) and `tree_side` (what runs in the tree).

pub(crate) mod check;
pub(crate) mod create;
pub(crate) mod manifest;
mod prepare;
pub(crate) mod reading;
mod sweep;
mod tree_side;

pub use check::{check, CheckedProcess, CheckedTree, Join, Leader, Limits, Setup};
pub use create::{restore, Restored, RootExit};
pub use manifest::{Manifest, ManifestError, ProcessSpec, MANIFEST_VERSION, MAX_MANIFEST_BYTES};
pub use reading::{read_tree, ReadOptions, ReadTree};

use crate::errno::Errno;
use std::fmt;

/// The step of restoring that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[repr(u32)]
#[non_exhaustive]
pub enum Step {
    /// Checking the system before creating anything.
    Precheck = 1,
    /// `clone3` of the process.
    Create = 2,
    /// The process's `setsid()`.
    Setsid = 3,
    /// The process's `setpgid(0, 0)`.
    Setpgid = 4,
    /// The parent's `setpgid(child, pgid)`.
    Join = 5,
    /// The process's `chdir()` to its working directory.
    Chdir = 6,
    /// The process's `execve()` of its program.
    Exec = 7,
    /// The process ended before its program started.
    Died = 8,
    /// A system call of the restorer itself (pipes, poll, pidfds).
    Restorer = 9,
}

impl Step {
    fn from_u32(v: u32) -> Step {
        [
            Step::Precheck,
            Step::Create,
            Step::Setsid,
            Step::Setpgid,
            Step::Join,
            Step::Chdir,
            Step::Exec,
            Step::Died,
        ]
        .into_iter()
        .find(|s| *s as u32 == v)
        .unwrap_or(Step::Restorer)
    }
}

/// A process of the manifest, as errors name it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ProcessRef {
    /// The process's `id` in the manifest.
    pub id: String,
    /// Index in `processes`.
    pub index: usize,
}

impl ProcessRef {
    fn new(m: &Manifest, index: usize) -> Self {
        ProcessRef {
            id: m.processes[index].id.clone(),
            index,
        }
    }
}

impl fmt::Display for ProcessRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {:?} ($.processes[{}])", self.id, self.index)
    }
}

/// What went wrong, where.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Failure {
    /// The process that failed; `None` for a failure of the restorer or of the system.
    pub process: Option<ProcessRef>,
    /// The pid-namespace level (0 = the restorer's) the failure concerns, when known.
    pub level: Option<usize>,
    /// What was being done.
    pub step: Step,
    /// The errno of the failed call, when a system call failed.
    pub errno: Option<Errno>,
    /// Cause and fix, in words.
    pub message: String,
}

impl Failure {
    fn general(step: Step, errno: Option<Errno>, message: String) -> Self {
        Failure {
            process: None,
            level: None,
            step,
            errno,
            message,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.process {
            write!(f, "{p}")?;
            if let Some(l) = self.level {
                write!(f, " at level {l}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a restore did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The manifest is malformed or breaks a rule; every problem is listed, with its JSON path.
    #[error("{}", manifest_summary(.0))]
    Manifest(Vec<ManifestError>),
    /// The system does not allow it (PID taken, capability missing, program missing); nothing
    /// was created.
    #[error("{0}")]
    Refused(Failure),
    /// A step failed while the tree was being created; everything created was removed.
    #[error("{0}; the partial tree was removed")]
    Failed(Failure),
}

fn manifest_summary(errs: &[ManifestError]) -> String {
    match errs {
        [] => "invalid manifest".into(),
        [one] => format!("invalid manifest: {one}"),
        many => format!(
            "invalid manifest, {} problems: {}",
            many.len(),
            many.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

impl RestoreError {
    /// The errno behind it, if one is.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            RestoreError::Manifest(_) => Some(Errno::EINVAL),
            RestoreError::Refused(f) | RestoreError::Failed(f) => f.errno,
        }
    }

    /// The failure, unless the manifest itself was refused.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            RestoreError::Manifest(_) => None,
            RestoreError::Refused(f) | RestoreError::Failed(f) => Some(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_well() {
        let f = Failure {
            process: Some(ProcessRef {
                id: "b".into(),
                index: 1,
            }),
            level: Some(0),
            step: Step::Create,
            errno: Some(Errno::EEXIST),
            message: "clone3 failed with EEXIST".into(),
        };
        assert_eq!(
            RestoreError::Failed(f).to_string(),
            "process \"b\" ($.processes[1]) at level 0: clone3 failed with EEXIST; the partial \
             tree was removed"
        );
        let e = RestoreError::Manifest(vec![
            ManifestError::at("$.processes[0].pids[0]", "bad"),
            ManifestError::at("$.x", "worse"),
        ]);
        assert_eq!(
            e.to_string(),
            "invalid manifest, 2 problems: $.processes[0].pids[0]: bad; $.x: worse"
        );
        assert_eq!(Step::from_u32(Step::Exec as u32), Step::Exec);
        assert_eq!(Step::from_u32(77), Step::Restorer);
    }
}
