//! Whole-tree rules of a manifest, checked before anything is created (see [`check`]).

use super::manifest::{Manifest, ManifestError};
use crate::sys::abi::MAX_PID_NS_LEVEL;
use std::collections::HashMap;

/// The facts of the running system the rules depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `/proc/sys/kernel/pid_max`: PIDs must be below it (the kernel's range check). Nested
    /// namespaces start with at least their parent's value.
    pub pid_max: i32,
    /// Depth of the restorer's pid namespace (0 = the initial one), from `NSpid:`.
    pub restorer_level: usize,
}

impl Limits {
    /// Reads `/proc/sys/kernel/pid_max` and the caller's `NSpid:` line.
    pub fn current() -> std::io::Result<Limits> {
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")?
            .trim()
            .parse::<i32>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let status = std::fs::read_to_string("/proc/self/status")?;
        let nspid = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "/proc/self/status has no NSpid: line (Linux 4.1 or later needed)",
                )
            })?;
        Ok(Limits {
            pid_max,
            restorer_level: nspid.split_whitespace().count().saturating_sub(1),
        })
    }
}

/// Whose session or process group a process ends up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leader {
    /// The restorer's (the root inherits it, and so may its descendants).
    Restorer,
    /// Led by the process with this index in `Manifest::processes`.
    Process(usize),
}

/// What a process does to itself right after it was created, before it creates children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setup {
    /// Keeps the session and group it inherits at fork.
    Inherit,
    /// `setsid()`: leads a new session and a new process group.
    SessionLeader,
    /// `setpgid(0, 0)`: leads a new process group in its session.
    GroupLeader,
}

/// A `setpgid(child, pgid)` that the parent (the restorer, for the root) performs once every
/// process exists, moving a child into a group led by another process of the tree. Both numbers
/// are as seen in the parent's pid namespace, where `setpgid` interprets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Join {
    /// The process moved, by its PID in the parent's pid namespace.
    pub child_pid: i32,
    /// The group it joins: its leader's PID in the parent's pid namespace.
    pub pgid: i32,
    /// Index of the group leader.
    pub leader: usize,
}

/// A checked process: indices refer to `Manifest::processes`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedProcess {
    /// Index of the parent; `None` for the root.
    pub parent: Option<usize>,
    /// In manifest order, which is the order of creation.
    pub children: Vec<usize>,
    /// Number of pid namespaces between the restorer's and the process's own.
    pub depth: usize,
    /// Who leads the process's session.
    pub session: Leader,
    /// Who leads the process's group.
    pub group: Leader,
    /// What the process does to itself once created (`setsid`, `setpgid`).
    pub setup: Setup,
    /// The `setpgid` its parent performs on it once every process exists, if any.
    pub join: Option<Join>,
}

/// A manifest that passed every rule, with what the restorer has to do for each process.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedTree {
    /// Index of the root (the one process without a parent).
    pub root: usize,
    /// One entry per process of the manifest, in manifest order.
    pub processes: Vec<CheckedProcess>,
    /// Parents before children (depth-first, children in manifest order): creation order.
    pub order: Vec<usize>,
}

fn at(i: usize) -> String {
    format!("$.processes[{i}]")
}

/// Checks every whole-tree rule; returns all problems found, each with its JSON path.
///
/// The rules: one tree (unique ids, known parents, one root, no cycles), PIDs that the
/// kernel's `set_tid` can give (one per pid-namespace level, in range, PID 1 for a
/// namespace's first process, unique per namespace, nesting within `MAX_PID_NS_LEVEL`), and
/// sessions and process groups that `setsid(2)` and `setpgid(2)` can produce.
///
/// The result, [`CheckedTree`], says for every process what the restorer has to do: its
/// namespace depth, whether it calls `setsid` or becomes a group leader, and which `setpgid`
/// its parent performs on it.
///
/// Pure: it looks only at the manifest and `limits`, so it can check a manifest for another
/// machine.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use xclone::restore::{check, Limits, Manifest};
/// let limits = Limits { pid_max: 32768, restorer_level: 0 };
/// let m = Manifest::parse(r#"{"version": 1, "processes": [
///     {"id": "a", "pids": [500], "argv": ["sleep", "60"]},
///     {"id": "b", "parent": "a", "pids": [500], "argv": ["true"]}
/// ]}"#).unwrap();
/// let errors = check(&m, &limits).unwrap_err();
/// assert_eq!(errors[0].path, "$.processes[1].pids[0]"); // the same PID twice
///
/// let m = Manifest::parse(r#"{"version": 1, "processes": [
///     {"id": "a", "pids": [500], "argv": ["sleep", "60"]},
///     {"id": "b", "parent": "a", "pids": [501], "argv": ["true"]}
/// ]}"#).unwrap();
/// let tree = check(&m, &limits).unwrap();
/// assert_eq!(tree.order, [0, 1]); // creation order: parents first
/// # }
/// ```
pub fn check(m: &Manifest, limits: &Limits) -> Result<CheckedTree, Vec<ManifestError>> {
    let mut errs = Vec::new();
    let n = m.processes.len();
    let name = |i: usize| format!("process {:?} ({})", m.processes[i].id, at(i));

    // Identity and parents.
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, p) in m.processes.iter().enumerate() {
        if let Some(&first) = by_id.get(p.id.as_str()) {
            errs.push(ManifestError::at(
                format!("{}.id", at(i)),
                format!("duplicate id {:?} (also {})", p.id, at(first)),
            ));
        } else {
            by_id.insert(&p.id, i);
        }
    }
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut roots = Vec::new();
    for (i, p) in m.processes.iter().enumerate() {
        match &p.parent {
            None => roots.push(i),
            Some(pid) if *pid == p.id => errs.push(ManifestError::at(
                format!("{}.parent", at(i)),
                "a process cannot be its own parent",
            )),
            Some(pid) => match by_id.get(pid.as_str()) {
                Some(&j) => parent[i] = Some(j),
                None => errs.push(ManifestError::at(
                    format!("{}.parent", at(i)),
                    format!("no process has id {pid:?}"),
                )),
            },
        }
    }
    match roots.as_slice() {
        [] => errs.push(ManifestError::at(
            "$.processes",
            "no root process: every process names a parent, so the parents form a cycle",
        )),
        [_] => {}
        [first, rest @ ..] => {
            for &r in rest {
                errs.push(ManifestError::at(
                    at(r),
                    format!(
                        "has no parent, but {} is already the root; a manifest describes one tree",
                        name(*first)
                    ),
                ));
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let root = roots[0];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            children[p].push(i);
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![root];
    while let Some(i) = stack.pop() {
        order.push(i);
        stack.extend(children[i].iter().rev());
    }
    if order.len() < n {
        let mut reached = vec![false; n];
        for &i in &order {
            reached[i] = true;
        }
        let mut reported = vec![false; n];
        for start in 0..n {
            if reached[start] || reported[start] {
                continue;
            }
            // Walk up until a process repeats: that is the cycle this one hangs from.
            let mut seen = Vec::new();
            let mut i = start;
            while !seen.contains(&i) {
                seen.push(i);
                i = parent[i].expect("only the root has no parent and it is reached");
            }
            let pos = seen.iter().position(|&x| x == i).unwrap();
            let cycle = &seen[pos..];
            if cycle.iter().any(|&c| reported[c]) {
                for &s in &seen {
                    reported[s] = true;
                }
                continue;
            }
            let mut ids: Vec<String> = cycle
                .iter()
                .rev()
                .map(|&c| format!("{:?}", m.processes[c].id))
                .collect();
            ids.push(ids[0].clone());
            errs.push(ManifestError::at(
                format!("{}.parent", at(cycle[0])),
                format!(
                    "parents form a cycle ({}), so these processes are not in the tree",
                    ids.join(" → ")
                ),
            ));
            for &s in &seen {
                reported[s] = true;
            }
        }
        return Err(errs);
    }

    // Namespaces: each process's chain of namespace instances, outermost first. Instance 0 is
    // the restorer's namespace; instance i+1 is the one process i starts.
    let mut chain: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pids_ok = vec![false; n];
    let mut owner_of: HashMap<(usize, i32), (usize, usize)> = HashMap::new();
    let max_depth = MAX_PID_NS_LEVEL.saturating_sub(limits.restorer_level);
    for &i in &order {
        let p = &m.processes[i];
        let mut c = match parent[i] {
            Some(q) => chain[q].clone(),
            None => vec![0],
        };
        if p.new_pid_ns {
            c.push(i + 1);
        }
        let depth = c.len() - 1;
        chain[i] = c;
        if p.new_pid_ns && depth > max_depth {
            errs.push(ManifestError::at(
                format!("{}.new_pid_ns", at(i)),
                format!(
                    "this pid namespace would be at level {} (the restorer is at level {} and \
                     this is {} below it), beyond the kernel's limit of {}",
                    limits.restorer_level + depth,
                    limits.restorer_level,
                    depth,
                    MAX_PID_NS_LEVEL
                ),
            ));
            continue;
        }
        if p.pids.len() != depth + 1 {
            errs.push(ManifestError::at(
                format!("{}.pids", at(i)),
                format!(
                    "{} PID(s) given, but the process lives {} pid namespace(s) below the \
                     restorer's, so it needs exactly {} (outermost first)",
                    p.pids.len(),
                    depth,
                    depth + 1
                ),
            ));
            continue;
        }
        if p.pids.len() > MAX_PID_NS_LEVEL {
            errs.push(ManifestError::at(
                format!("{}.pids", at(i)),
                format!(
                    "{} PIDs given, but clone3's set_tid holds at most {MAX_PID_NS_LEVEL}",
                    p.pids.len()
                ),
            ));
            continue;
        }
        let mut ok = true;
        for (k, &pid) in p.pids.iter().enumerate() {
            let path = format!("{}.pids[{k}]", at(i));
            if pid >= limits.pid_max {
                errs.push(ManifestError::at(
                    path,
                    format!(
                        "{pid} is not below pid_max ({}, /proc/sys/kernel/pid_max)",
                        limits.pid_max
                    ),
                ));
                ok = false;
                continue;
            }
            if k == 0 && depth == 0 && pid == 1 {
                errs.push(ManifestError::at(
                    path,
                    "PID 1 of the restorer's pid namespace is its init and always taken",
                ));
                ok = false;
                continue;
            }
            let ns = chain[i][k];
            match owner_of.get(&(ns, pid)) {
                Some(&(j, kj)) => {
                    errs.push(ManifestError::at(
                        path,
                        format!(
                            "PID {pid} at level {k} is also given to {} (pids[{kj}]) in the \
                             same pid namespace",
                            name(j)
                        ),
                    ));
                    ok = false;
                }
                None => {
                    owner_of.insert((ns, pid), (i, k));
                }
            }
        }
        if p.new_pid_ns && p.pids[depth] != 1 {
            errs.push(ManifestError::at(
                format!("{}.pids[{depth}]", at(i)),
                format!(
                    "a process that starts a pid namespace is its PID 1 (the kernel refuses any \
                     other PID while the namespace has no init); found {}",
                    p.pids[depth]
                ),
            ));
            ok = false;
        }
        pids_ok[i] = ok;
    }
    if !errs.is_empty() {
        return Err(errs);
    }

    // Sessions and groups, referred to by PID in the restorer's namespace.
    let by_pid0: HashMap<i32, usize> = m
        .processes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.pids[0], i))
        .collect();
    let leads_group = |j: usize| {
        let q = &m.processes[j];
        q.sid == Some(q.pids[0]) || q.pgid == Some(q.pids[0])
    };
    // A sid or pgid that names no process of the tree.
    let no_such_pid = |i: usize, field: &str, pid: i32, keeps: &str| {
        ManifestError::at(
            format!("{}.{field}", at(i)),
            format!(
                "no process of the tree has PID {pid} (in the restorer's namespace); omit \
                 {field} to keep the parent's {keeps}"
            ),
        )
    };
    let mut session = vec![Leader::Restorer; n];
    for &i in &order {
        let p = &m.processes[i];
        let inherited = parent[i].map_or(Leader::Restorer, |q| session[q]);
        session[i] = match p.sid {
            None => inherited,
            Some(s) if s == p.pids[0] => Leader::Process(i),
            Some(s) => match by_pid0.get(&s) {
                None => {
                    errs.push(no_such_pid(i, "sid", s, "session"));
                    inherited
                }
                Some(&j) if Leader::Process(j) == inherited => inherited,
                Some(&j) => {
                    errs.push(ManifestError::at(
                        format!("{}.sid", at(i)),
                        format!(
                            "session {s} (led by {}) is neither the process's own (a session \
                             leader) nor its parent's ({}); a process can only keep its \
                             parent's session or start its own",
                            name(j),
                            describe_leader(inherited, m)
                        ),
                    ));
                    inherited
                }
            },
        };
    }
    let mut group = vec![Leader::Restorer; n];
    let mut setup = vec![Setup::Inherit; n];
    for &i in &order {
        let p = &m.processes[i];
        let inherited = parent[i].map_or(Leader::Restorer, |q| group[q]);
        if session[i] == Leader::Process(i) {
            setup[i] = Setup::SessionLeader;
            group[i] = Leader::Process(i);
            if let Some(g) = p.pgid.filter(|&g| g != p.pids[0]) {
                errs.push(ManifestError::at(
                    format!("{}.pgid", at(i)),
                    format!(
                        "a session leader leads its own process group: pgid must be its own PID \
                         {} or be left out, not {g}",
                        p.pids[0]
                    ),
                ));
            }
            continue;
        }
        group[i] = match p.pgid {
            None => inherited,
            Some(g) if g == p.pids[0] => {
                setup[i] = Setup::GroupLeader;
                Leader::Process(i)
            }
            Some(g) => match by_pid0.get(&g) {
                None => {
                    errs.push(no_such_pid(i, "pgid", g, "group"));
                    inherited
                }
                Some(&j) if !leads_group(j) => {
                    errs.push(ManifestError::at(
                        format!("{}.pgid", at(i)),
                        format!(
                            "{} does not lead a process group (its pgid is not its own PID), so \
                             there is no group {g} to join",
                            name(j)
                        ),
                    ));
                    inherited
                }
                Some(&j) if session[j] != session[i] => {
                    errs.push(ManifestError::at(
                        format!("{}.pgid", at(i)),
                        format!(
                            "group {g} belongs to session {}, but this process is in session \
                             {}; setpgid(2) moves processes only within their session",
                            describe_leader(session[j], m),
                            describe_leader(session[i], m)
                        ),
                    ));
                    inherited
                }
                Some(&j) => Leader::Process(j),
            },
        };
    }
    if !errs.is_empty() {
        return Err(errs);
    }

    // A process is created in the group its parent has at that moment (the parent's own group
    // if it leads one, else whatever the parent was created in); the parent moves it later if
    // that is not its final group.
    let mut at_fork = vec![Leader::Restorer; n];
    let mut join = vec![None; n];
    for &i in &order {
        let p = &m.processes[i];
        let from_parent = parent[i].map_or(Leader::Restorer, |q| at_fork[q]);
        at_fork[i] = if setup[i] == Setup::Inherit {
            from_parent
        } else {
            Leader::Process(i)
        };
        if group[i] == at_fork[i] {
            continue;
        }
        let Leader::Process(j) = group[i] else {
            errs.push(ManifestError::at(
                format!("{}.pgid", at(i)),
                "cannot move this process back into the restorer's process group",
            ));
            continue;
        };
        // setpgid runs in the parent and reads both numbers in the parent's namespace.
        let (level, parent_ns) = match parent[i] {
            Some(q) => (chain[q].len() - 1, chain[q][chain[q].len() - 1]),
            None => (0, 0),
        };
        if chain[j].get(level) != Some(&parent_ns) {
            errs.push(ManifestError::at(
                format!("{}.pgid", at(i)),
                format!(
                    "its group leader {} has no PID in the pid namespace of the parent, which \
                     has to move this process into the group with setpgid(2)",
                    name(j)
                ),
            ));
            continue;
        }
        join[i] = Some(Join {
            child_pid: p.pids[level],
            pgid: m.processes[j].pids[level],
            leader: j,
        });
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    debug_assert!(pids_ok.iter().all(|&b| b));

    let processes = (0..n)
        .map(|i| CheckedProcess {
            parent: parent[i],
            children: children[i].clone(),
            depth: chain[i].len() - 1,
            session: session[i],
            group: group[i],
            setup: setup[i],
            join: join[i],
        })
        .collect();
    Ok(CheckedTree {
        root,
        processes,
        order,
    })
}

fn describe_leader(l: Leader, m: &Manifest) -> String {
    match l {
        Leader::Restorer => "the restorer's".to_string(),
        Leader::Process(j) => format!("{} of {:?}", m.processes[j].pids[0], m.processes[j].id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::manifest::ProcessSpec;

    const LIMITS: Limits = Limits {
        pid_max: 32768,
        restorer_level: 0,
    };

    fn proc_(id: &str, parent: Option<&str>, pids: &[i32]) -> ProcessSpec {
        ProcessSpec {
            id: id.into(),
            parent: parent.map(Into::into),
            pids: pids.to_vec(),
            new_pid_ns: false,
            sid: None,
            pgid: None,
            program: None,
            argv: vec!["true".into()],
            env: None,
            cwd: None,
        }
    }

    fn manifest(processes: Vec<ProcessSpec>) -> Manifest {
        Manifest {
            version: 1,
            processes,
        }
    }

    fn errors(m: &Manifest) -> Vec<String> {
        check(m, &LIMITS)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn a_three_level_tree() {
        let m = manifest(vec![
            proc_("a", None, &[100]),
            proc_("b", Some("a"), &[101]),
            proc_("c", Some("b"), &[102]),
            proc_("d", Some("a"), &[103]),
        ]);
        let t = check(&m, &LIMITS).unwrap();
        assert_eq!(t.root, 0);
        assert_eq!(t.order, vec![0, 1, 2, 3]);
        assert_eq!(t.processes[0].children, vec![1, 3]);
        assert_eq!(t.processes[2].parent, Some(1));
        assert!(t.processes.iter().all(|p| p.depth == 0
            && p.setup == Setup::Inherit
            && p.join.is_none()
            && p.group == Leader::Restorer));
    }

    #[test]
    fn tree_shape_errors() {
        let m = manifest(vec![
            proc_("a", None, &[100]),
            proc_("a", Some("a"), &[101]),
            proc_("c", Some("zz"), &[102]),
            proc_("d", None, &[103]),
        ]);
        let e = errors(&m);
        assert!(
            e[0].starts_with("$.processes[1].id: duplicate id \"a\""),
            "{e:?}"
        );
        assert!(e[1].starts_with("$.processes[1].parent: a process cannot be its own parent"));
        assert!(e[2].starts_with("$.processes[2].parent: no process has id \"zz\""));
        assert!(e[3].starts_with("$.processes[3]: has no parent, but process \"a\""));
    }

    #[test]
    fn cycles_are_found() {
        let m = manifest(vec![
            proc_("r", None, &[100]),
            proc_("x", Some("y"), &[101]),
            proc_("y", Some("x"), &[102]),
            proc_("z", Some("y"), &[103]),
        ]);
        let e = errors(&m);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("cycle"), "{e:?}");
        assert!(e[0].contains("\"x\"") && e[0].contains("\"y\""));
        let m = manifest(vec![
            proc_("x", Some("y"), &[1]),
            proc_("y", Some("x"), &[2]),
        ]);
        assert!(errors(&m)[0].starts_with("$.processes: no root process"));
    }

    #[test]
    fn pid_rules() {
        let mut ns = proc_("ns", Some("a"), &[101, 5]);
        ns.new_pid_ns = true;
        let m = manifest(vec![
            proc_("a", None, &[100]),
            ns,
            proc_("in", Some("ns"), &[102]),
            proc_("big", Some("a"), &[40000]),
            proc_("dup", Some("a"), &[100]),
        ]);
        let e = errors(&m);
        assert!(e
            .iter()
            .any(|s| s.starts_with("$.processes[1].pids[1]: a process that starts")));
        assert!(e
            .iter()
            .any(|s| s.starts_with("$.processes[2].pids: 1 PID(s) given")));
        assert!(e
            .iter()
            .any(|s| s.starts_with("$.processes[3].pids[0]: 40000 is not below")));
        assert!(e
            .iter()
            .any(|s| s.starts_with("$.processes[4].pids[0]: PID 100 at level 0 is also given")));
        let m = manifest(vec![proc_("one", None, &[1])]);
        assert!(errors(&m)[0].contains("always taken"));
    }

    #[test]
    fn pids_are_unique_per_namespace_not_globally() {
        // Two sibling namespaces may both have PIDs 1 and 2; one namespace may not have 2 twice.
        let mut n1 = proc_("n1", Some("r"), &[201, 1]);
        n1.new_pid_ns = true;
        let mut n2 = proc_("n2", Some("r"), &[202, 1]);
        n2.new_pid_ns = true;
        let m = manifest(vec![
            proc_("r", None, &[200]),
            n1.clone(),
            n2.clone(),
            proc_("a", Some("n1"), &[203, 2]),
            proc_("b", Some("n2"), &[204, 2]),
        ]);
        let t = check(&m, &LIMITS).unwrap();
        assert_eq!(t.processes[3].depth, 1);
        let m = manifest(vec![
            proc_("r", None, &[200]),
            n1,
            proc_("a", Some("n1"), &[203, 2]),
            proc_("b", Some("n1"), &[204, 2]),
            proc_("c", Some("n1"), &[205, 1]),
        ]);
        let e = errors(&m);
        assert!(e[0].starts_with(
            "$.processes[3].pids[1]: PID 2 at level 1 is also given to process \"a\""
        ));
        assert!(e[1].starts_with("$.processes[4].pids[1]: PID 1 at level 1"));
    }

    #[test]
    fn nesting_limit_counts_from_the_restorer() {
        let mut procs = vec![proc_("p0", None, &[100])];
        for d in 1..=3 {
            let mut p = proc_(&format!("p{d}"), Some(&format!("p{}", d - 1)), &[]);
            p.new_pid_ns = true;
            p.pids = (0..=d).map(|k| if k == d { 1 } else { 100 + d }).collect();
            procs.push(p);
        }
        let m = manifest(procs);
        assert!(check(&m, &LIMITS).is_ok());
        let deep = Limits {
            pid_max: 32768,
            restorer_level: 30,
        };
        let e = check(&m, &deep).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "$.processes[3].new_pid_ns");
        assert!(e[0].message.contains("level 33"), "{}", e[0].message);
    }

    #[test]
    fn sessions_and_groups() {
        let mut r = proc_("r", None, &[100]);
        r.sid = Some(100);
        let mut a = proc_("a", Some("r"), &[101]);
        a.pgid = Some(101);
        let mut b = proc_("b", Some("r"), &[102]);
        b.pgid = Some(101); // joins its sibling's group
        let c = proc_("c", Some("a"), &[103]); // inherits a's group
        let mut d = proc_("d", Some("a"), &[104]);
        d.pgid = Some(100); // back into the session leader's group
        let m = manifest(vec![r, a, b, c, d]);
        let t = check(&m, &LIMITS).unwrap();
        assert_eq!(t.processes[0].setup, Setup::SessionLeader);
        assert_eq!(t.processes[1].setup, Setup::GroupLeader);
        assert_eq!(t.processes[2].group, Leader::Process(1));
        assert_eq!(
            t.processes[2].join,
            Some(Join {
                child_pid: 102,
                pgid: 101,
                leader: 1
            })
        );
        assert_eq!(t.processes[3].join, None);
        assert_eq!(t.processes[3].group, Leader::Process(1));
        assert_eq!(t.processes[4].join.map(|j| j.pgid), Some(100));
        assert!(t.processes.iter().all(|p| p.session == Leader::Process(0)));
    }

    #[test]
    fn session_and_group_errors() {
        let mut r = proc_("r", None, &[100]);
        r.sid = Some(100);
        let mut a = proc_("a", Some("r"), &[101]);
        a.sid = Some(101);
        a.pgid = Some(100); // session leader in another group
        let mut b = proc_("b", Some("a"), &[102]);
        b.sid = Some(100); // not its parent's session
        let mut c = proc_("c", Some("r"), &[103]);
        c.pgid = Some(101); // group of another session
        let mut d = proc_("d", Some("r"), &[104]);
        d.pgid = Some(103); // c leads no group
        let mut e = proc_("e", Some("r"), &[105]);
        e.pgid = Some(999); // nobody
        let m = manifest(vec![r, a, b, c, d, e]);
        let errs = errors(&m);
        assert!(
            errs[0].starts_with("$.processes[2].sid: session 100"),
            "{errs:?}"
        );
        assert!(errs[1].starts_with("$.processes[1].pgid: a session leader leads its own"));
        assert!(errs[2].starts_with("$.processes[3].pgid: group 101 belongs to session"));
        assert!(errs[3].starts_with("$.processes[4].pgid: process \"c\""));
        assert!(errs[4].starts_with("$.processes[5].pgid: no process of the tree has PID 999"));
    }

    #[test]
    fn joins_need_the_leader_visible_to_the_parent() {
        // r (outer) → ns (new namespace, inherits r's session) → x wants to join the group of
        // y, a sibling of ns in the outer namespace: ns cannot name y.
        let r = proc_("r", None, &[100]);
        let mut y = proc_("y", Some("r"), &[101]);
        y.pgid = Some(101);
        let mut ns = proc_("ns", Some("r"), &[102, 1]);
        ns.new_pid_ns = true;
        let mut x = proc_("x", Some("ns"), &[103, 2]);
        x.pgid = Some(101);
        let m = manifest(vec![r, y, ns.clone(), x]);
        let e = errors(&m);
        assert!(
            e[0].starts_with("$.processes[3].pgid: its group leader process \"y\""),
            "{e:?}"
        );
        // The namespace's init itself can be moved by its parent, which sees y.
        let r = proc_("r", None, &[100]);
        let mut y = proc_("y", Some("r"), &[101]);
        y.pgid = Some(101);
        ns.pgid = Some(101);
        let t = check(&manifest(vec![r, y, ns]), &LIMITS).unwrap();
        assert_eq!(
            t.processes[2].join,
            Some(Join {
                child_pid: 102,
                pgid: 101,
                leader: 1
            })
        );
    }
}
