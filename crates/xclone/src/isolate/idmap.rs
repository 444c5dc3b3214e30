//! User and group id maps of a new user namespace (documented in the `isolate` layer).

use std::fmt;
use std::str::FromStr;

/// One line of a map: `count` ids starting at `inside` in the new namespace are `outside`
/// in the parent namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    /// The first id inside the namespace.
    pub inside: u32,
    /// The first id outside (in the parent's user namespace) it stands for.
    pub outside: u32,
    /// How many consecutive ids.
    pub count: u32,
}

impl IdRange {
    /// One id: `inside` is `outside`.
    pub const fn single(inside: u32, outside: u32) -> Self {
        Self {
            inside,
            outside,
            count: 1,
        }
    }

    fn end(v: u32, count: u32) -> u64 {
        v as u64 + count as u64
    }

    fn overlaps(a: u32, b: u32, count_a: u32, count_b: u32) -> bool {
        (a as u64) < Self::end(b, count_b) && (b as u64) < Self::end(a, count_a)
    }
}

impl FromStr for IdRange {
    type Err = String;

    /// `INNER:OUTER:COUNT` (the order of `--map-users`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || format!("{s:?} is not INNER:OUTER:COUNT (three unsigned numbers)");
        if parts.len() != 3 {
            return Err(bad());
        }
        let n = |p: &str| p.trim().parse::<u32>().map_err(|_| bad());
        let r = IdRange {
            inside: n(parts[0])?,
            outside: n(parts[1])?,
            count: n(parts[2])?,
        };
        if r.count == 0 {
            return Err(format!("{s:?}: the count must be at least 1"));
        }
        if IdRange::end(r.inside, r.count) > u32::MAX as u64 + 1
            || IdRange::end(r.outside, r.count) > u32::MAX as u64 + 1
        {
            return Err(format!("{s:?}: the range runs past the largest id"));
        }
        Ok(r)
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.inside, self.outside, self.count)
    }
}

/// A whole uid or gid map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdMap(pub Vec<IdRange>);

/// The kernel's limit on lines in one map (since Linux 4.15).
pub const MAX_MAP_LINES: usize = 340;

impl IdMap {
    /// No ranges.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a range (the kernel allows 340 per map since 4.15, 5 before).
    pub fn push(&mut self, r: IdRange) {
        self.0.push(r);
    }

    /// The text for the `*_map` file, one line per range.
    pub fn to_proc_text(&self) -> String {
        self.0.iter().map(|r| format!("{r}\n")).collect()
    }

    /// Checks what the kernel checks: at most 340 lines, no overlapping ranges inside or
    /// outside, the text under one page.
    pub fn check(&self, what: &str) -> Result<(), String> {
        if self.0.len() > MAX_MAP_LINES {
            return Err(format!(
                "{what}: {} ranges, the kernel takes at most {MAX_MAP_LINES}",
                self.0.len()
            ));
        }
        for (i, a) in self.0.iter().enumerate() {
            for b in &self.0[i + 1..] {
                if IdRange::overlaps(a.inside, b.inside, a.count, b.count) {
                    return Err(format!("{what}: inside ranges of '{a}' and '{b}' overlap"));
                }
                if IdRange::overlaps(a.outside, b.outside, a.count, b.count) {
                    return Err(format!("{what}: outside ranges of '{a}' and '{b}' overlap"));
                }
            }
        }
        if self.to_proc_text().len() >= 4096 {
            return Err(format!(
                "{what}: the map text must be shorter than one page (4096 bytes)"
            ));
        }
        Ok(())
    }

    /// Whether this map is the one line an unprivileged writer may write: its own id, once.
    pub fn is_self_only(&self, own_outside_id: u32) -> bool {
        matches!(self.0.as_slice(), [r] if r.count == 1 && r.outside == own_outside_id)
    }

    /// Arguments for `newuidmap PID ...` / `newgidmap PID ...`: the triples in order.
    pub fn helper_args(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|r| {
                [
                    r.inside.to_string(),
                    r.outside.to_string(),
                    r.count.to_string(),
                ]
            })
            .collect()
    }
}

/// `/proc/PID/setgroups`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetGroups {
    /// `allow`: the namespace may call setgroups(2).
    Allow,
    /// `deny`: it may not (required for an unprivileged gid map).
    Deny,
}

impl SetGroups {
    /// The word `/proc/PID/setgroups` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            SetGroups::Allow => "allow",
            SetGroups::Deny => "deny",
        }
    }
}

impl FromStr for SetGroups {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(SetGroups::Allow),
            "deny" => Ok(SetGroups::Deny),
            _ => Err(format!("{s:?}: expected allow or deny")),
        }
    }
}

/// Everything written for a new user namespace.
///
/// ```
/// use xclone::isolate::{IdMaps, IdRange};
/// // Root inside is uid/gid 1000 outside (`unshare -r` run by uid 1000).
/// let maps = IdMaps::root(1000, 1000);
/// assert_eq!(maps.uid.to_proc_text(), "0 1000 1\n");
/// // 65536 subordinate ids from /etc/subuid, written through newuidmap.
/// let mut wide = IdMaps::default();
/// wide.uid.push("0:100000:65536".parse::<IdRange>().unwrap());
/// assert!(!wide.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdMaps {
    /// The uid map.
    pub uid: IdMap,
    /// The gid map.
    pub gid: IdMap,
    /// What to write to `/proc/PID/setgroups` before the gid map.
    pub setgroups: Option<SetGroups>,
}

impl IdMaps {
    /// Neither map has a range.
    pub fn is_empty(&self) -> bool {
        self.uid.is_empty() && self.gid.is_empty() && self.setgroups.is_none()
    }

    /// `-r/--map-root-user`: root inside is the caller's effective uid and gid outside.
    pub fn root(euid: u32, egid: u32) -> Self {
        Self::user(0, 0, euid, egid)
    }

    /// `--map-current-user`: the same ids inside as outside.
    pub fn current(euid: u32, egid: u32) -> Self {
        Self::user(euid, egid, euid, egid)
    }

    /// `--map-user UID` / `--map-group GID`: the given ids inside are the caller's outside.
    pub fn user(inside_uid: u32, inside_gid: u32, euid: u32, egid: u32) -> Self {
        IdMaps {
            uid: IdMap(vec![IdRange::single(inside_uid, euid)]),
            gid: IdMap(vec![IdRange::single(inside_gid, egid)]),
            setgroups: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ranges() {
        assert_eq!(
            "0:100000:65536".parse::<IdRange>(),
            Ok(IdRange {
                inside: 0,
                outside: 100000,
                count: 65536
            })
        );
        for bad in [
            "0:1",
            "a:b:c",
            "0:1:0",
            "1:2:3:4",
            "4294967295:0:2",
            "-1:0:1",
        ] {
            assert!(bad.parse::<IdRange>().is_err(), "{bad}");
        }
        assert!("4294967295:0:1".parse::<IdRange>().is_ok());
    }

    #[test]
    fn checks_like_the_kernel() {
        let ok = IdMap(vec![
            IdRange {
                inside: 0,
                outside: 1000,
                count: 1,
            },
            IdRange {
                inside: 1,
                outside: 100000,
                count: 65536,
            },
        ]);
        assert!(ok.check("uid map").is_ok());
        assert_eq!(ok.to_proc_text(), "0 1000 1\n1 100000 65536\n");
        assert_eq!(ok.helper_args(), ["0", "1000", "1", "1", "100000", "65536"]);
        let inside = IdMap(vec![
            IdRange {
                inside: 0,
                outside: 1,
                count: 10,
            },
            IdRange {
                inside: 5,
                outside: 100,
                count: 1,
            },
        ]);
        assert!(inside.check("m").unwrap_err().contains("inside ranges"));
        let outside = IdMap(vec![
            IdRange {
                inside: 0,
                outside: 1,
                count: 10,
            },
            IdRange {
                inside: 50,
                outside: 9,
                count: 1,
            },
        ]);
        assert!(outside.check("m").unwrap_err().contains("outside ranges"));
        let many = IdMap((0..341).map(|i| IdRange::single(i, i)).collect());
        assert!(many.check("m").unwrap_err().contains("340"));
    }

    #[test]
    fn presets() {
        let m = IdMaps::root(1000, 1001);
        assert_eq!(m.uid.to_proc_text(), "0 1000 1\n");
        assert_eq!(m.gid.to_proc_text(), "0 1001 1\n");
        assert!(m.uid.is_self_only(1000));
        assert!(!m.uid.is_self_only(0));
        assert_eq!(IdMaps::current(5, 6).uid.0[0], IdRange::single(5, 5));
        assert_eq!("deny".parse::<SetGroups>(), Ok(SetGroups::Deny));
    }
}
