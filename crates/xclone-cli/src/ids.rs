//! User and group ids as util-linux takes them: a number or a name (`/etc/passwd`,
//! `/etc/group`), and the subordinate id ranges of `/etc/subuid` and `/etc/subgid` for
//! `--map-auto` and `--map-subids`.

use std::path::Path;

/// A uid: a number, else a user name from `/etc/passwd`.
pub fn parse_uid(s: &str) -> Result<u32, String> {
    parse_id(s, Path::new("/etc/passwd"), "user")
}

/// A gid: a number, else a group name from `/etc/group`.
pub fn parse_gid(s: &str) -> Result<u32, String> {
    parse_id(s, Path::new("/etc/group"), "group")
}

fn parse_id(s: &str, db: &Path, what: &str) -> Result<u32, String> {
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    let text = std::fs::read_to_string(db).map_err(|e| {
        format!(
            "{s:?} is not a number, and {} cannot be read: {e}",
            db.display()
        )
    })?;
    id_by_name(&text, s).ok_or_else(|| format!("no {what} named {s:?} in {}", db.display()))
}

/// The id (third field) of `name` in a passwd/group text.
fn id_by_name(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

/// The name of `id` in a passwd/group text.
fn name_by_id(text: &str, id: u32) -> Option<String> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(id)).then(|| f[0].to_string())
    })
}

/// The first subordinate range (`START`, `COUNT`) of the user `uid` in `/etc/subuid`
/// (`subgid = false`) or `/etc/subgid`: lines `NAME_OR_UID:START:COUNT`. Both files are
/// keyed by the *user* (name from `/etc/passwd`, or uid), as newuidmap(1), newgidmap(1) and
/// unshare read them — `/etc/subgid` too lists the gids a user may map.
pub fn first_subid_range(uid: u32, subgid: bool) -> Result<(u32, u32), String> {
    let file = if subgid { "/etc/subgid" } else { "/etc/subuid" };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{file}: {e} (it lists the subordinate ranges)"))?;
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|t| name_by_id(&t, uid));
    let who = match &name {
        Some(n) => format!("user {n} (uid {uid})"),
        None => format!("uid {uid}"),
    };
    first_range(&text, uid, name.as_deref()).ok_or_else(|| {
        format!(
            "{file} has no range for {who}: --map-auto, --map-subids and the auto/subids \
             maps need a line NAME:START:COUNT there ({man})",
            man = if subgid { "subgid(5)" } else { "subuid(5)" }
        )
    })
}

fn first_range(text: &str, id: u32, name: Option<&str>) -> Option<(u32, u32)> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split(':').collect();
        if f.len() != 3 || (Some(f[0]) != name && f[0].parse() != Ok(id)) {
            return None;
        }
        Some((f[1].parse().ok()?, f[2].parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
        assert_eq!(id_by_name(passwd, "nobody"), Some(65534));
        assert_eq!(id_by_name(passwd, "nob"), None);
        assert_eq!(name_by_id(passwd, 0).as_deref(), Some("root"));
        assert_eq!(parse_uid("42"), Ok(42));
        assert_eq!(parse_uid("root"), Ok(0));
        assert!(parse_uid("xclone-no-such-user").is_err());
    }

    #[test]
    fn subid_ranges() {
        let t = "alice:100000:65536\n1000:300000:10\nbob:200000:5\nalice:900000:1\n";
        assert_eq!(first_range(t, 1, Some("alice")), Some((100000, 65536)));
        assert_eq!(first_range(t, 1000, Some("carol")), Some((300000, 10)));
        assert_eq!(first_range(t, 7, Some("dave")), None);
    }
}
