//! request + caller + features → every problem the kernel would see, the first of them being
//! the one whose errno the kernel returns.
//!
//! (Skeleton: the full validator lands with the rules table.)

use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::sys::flags::CloneFlags;

/// One reason the kernel would refuse a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Stable identifier of the rule (`"thread-needs-sighand"`).
    pub rule: &'static str,
    /// What the kernel returns.
    pub errno: Errno,
    /// One line, plain words.
    pub cause: String,
    /// The flags involved (may be empty).
    #[serde(serialize_with = "ser_flags")]
    pub flags: CloneFlags,
    /// Other options involved (`"exit_signal"`, `"set_tid"`, `"cgroup"`).
    pub fields: Vec<&'static str>,
    /// The kernel release that matters for this rule, where one does.
    pub since: Option<KernelVersion>,
    /// How to fix it.
    pub fix: String,
}

fn ser_flags<S: serde::Serializer>(f: &CloneFlags, s: S) -> Result<S::Ok, S::Error> {
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
        if let Some(v) = self.since {
            write!(f, " (Linux {v})")?;
        }
        write!(f, "; fix: {}", self.fix)
    }
}
