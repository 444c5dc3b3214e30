//! Resource limits of the sandboxed program (`--rlimit NAME=SOFT:HARD`), with util-linux
//! `prlimit`'s names and value syntax. The child sets them with `prlimit64(0, …)` before it
//! drops capabilities (raising a hard limit needs `CAP_SYS_RESOURCE`).

use std::fmt;
use std::str::FromStr;

/// prlimit(1)'s names and the `RLIMIT_*` numbers (x86_64, the generic numbering).
pub const RLIMIT_NAMES: [(&str, u32); 16] = [
    ("CPU", 0),
    ("FSIZE", 1),
    ("DATA", 2),
    ("STACK", 3),
    ("CORE", 4),
    ("RSS", 5),
    ("NPROC", 6),
    ("NOFILE", 7),
    ("MEMLOCK", 8),
    ("AS", 9),
    ("LOCKS", 10),
    ("SIGPENDING", 11),
    ("MSGQUEUE", 12),
    ("NICE", 13),
    ("RTPRIO", 14),
    ("RTTIME", 15),
];

/// `RLIM_INFINITY`.
pub const INFINITY: u64 = u64::MAX;

/// One limit to set. `None` for a side keeps the caller's current value (prlimit's
/// `SOFT:` and `:HARD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// The resource (`RLIMIT_NOFILE` = 7, ..., getrlimit(2)).
    pub resource: u32,
    /// The soft limit, the one the kernel enforces (`u64::MAX`: `RLIM_INFINITY`).
    pub soft: Option<u64>,
    /// The ceiling of the soft limit; only a privileged process may raise it.
    pub hard: Option<u64>,
}

fn value(s: &str, whole: &str) -> Result<Option<u64>, String> {
    match s {
        "" => Ok(None),
        "unlimited" | "infinity" => Ok(Some(INFINITY)),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| format!("{whole:?}: {n:?} is not a number, 'unlimited' or 'infinity'")),
    }
}

impl FromStr for Rlimit {
    type Err = String;
    /// `NAME=LIMIT` (both), `NAME=SOFT:HARD`, `NAME=SOFT:`, `NAME=:HARD`; the name in any
    /// case, with or without `RLIMIT_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, v) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} is not NAME=SOFT:HARD"))?;
        let up = name.trim().to_ascii_uppercase();
        let bare = up.strip_prefix("RLIMIT_").unwrap_or(&up);
        let resource = RLIMIT_NAMES
            .iter()
            .find(|(n, _)| *n == bare)
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                format!(
                    "{name:?} is not a resource ({})",
                    RLIMIT_NAMES.map(|(n, _)| n).join(" ")
                )
            })?;
        let (soft, hard) = match v.split_once(':') {
            Some((a, b)) => (value(a, s)?, value(b, s)?),
            None => {
                let x = value(v, s)?;
                (x, x)
            }
        };
        if soft.is_none() && hard.is_none() {
            return Err(format!("{s:?}: no limit given"));
        }
        if let (Some(a), Some(b)) = (soft, hard) {
            if a > b {
                return Err(format!("{s:?}: the soft limit is above the hard one"));
            }
        }
        Ok(Rlimit {
            resource,
            soft,
            hard,
        })
    }
}

impl Rlimit {
    /// The resource's name as prlimit(1) spells it (`NOFILE`, `NPROC`, ...).
    pub fn name(&self) -> &'static str {
        RLIMIT_NAMES
            .iter()
            .find(|(_, r)| *r == self.resource)
            .map_or("?", |(n, _)| n)
    }

    /// Both values, the missing side taken from the caller's current limit.
    pub(crate) fn resolve(&self) -> Result<(u64, u64), String> {
        let current = || -> Result<(u64, u64), String> {
            let mut old = [0u64; 2];
            crate::sys::sandbox::get_rlimit(self.resource, &mut old)
                .map_err(|e| format!("prlimit {}: {}", self.name(), crate::Errno(e)))?;
            Ok((old[0], old[1]))
        };
        match (self.soft, self.hard) {
            (Some(s), Some(h)) => Ok((s, h)),
            (Some(s), None) => Ok((s, current()?.1)),
            (None, Some(h)) => Ok((current()?.0.min(h), h)),
            (None, None) => current(),
        }
    }
}

impl fmt::Display for Rlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |x: Option<u64>| match x {
            None => String::new(),
            Some(INFINITY) => "unlimited".into(),
            Some(n) => n.to_string(),
        };
        write!(f, "{}={}:{}", self.name(), v(self.soft), v(self.hard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prlimit_syntax() {
        let r: Rlimit = "nofile=100:200".parse().unwrap();
        assert_eq!((r.resource, r.soft, r.hard), (7, Some(100), Some(200)));
        let r: Rlimit = "RLIMIT_CORE=unlimited".parse().unwrap();
        assert_eq!((r.soft, r.hard), (Some(INFINITY), Some(INFINITY)));
        let r: Rlimit = "STACK=:8388608".parse().unwrap();
        assert_eq!((r.soft, r.hard), (None, Some(8388608)));
        assert!("NOPE=1".parse::<Rlimit>().is_err());
        assert!("NOFILE=2:1".parse::<Rlimit>().is_err());
        assert!("NOFILE=:".parse::<Rlimit>().is_err());
        assert_eq!(r.to_string(), "STACK=:8388608");
        let (s, h) = "NOFILE=10:".parse::<Rlimit>().unwrap().resolve().unwrap();
        assert_eq!(s, 10);
        assert!(h >= 10);
    }
}
