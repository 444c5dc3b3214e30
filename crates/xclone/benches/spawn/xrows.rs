//! The xclone rows: everything the suite measures of xclone itself, in one place, so that the
//! rest of the suite (yardsticks, statistics, report) does not depend on xclone's API.
//!
//! Each function gives the contenders it can build, or the reason it cannot (a piece of
//! xclone that is not there yet); the report shows such a reason in place of the row.

use crate::stats::Contender;
use crate::throughput::MakeOp;
use std::path::Path;
use xclone::{CloneFlags, Command};

pub const SPAWN: &str = "xclone::Command";
/// The O(1) hook: `pre_exec_shared_memory` (the `CLONE_VM` spawn).
pub const SPAWN_PRE_EXEC: &str = "xclone::Command + pre_exec_shared_memory";
/// The std-contract hook: `pre_exec` (a fork-like child, as std's), shown beside std's.
pub const SPAWN_PRE_EXEC_STD: &str = "xclone::Command + pre_exec (std contract)";
pub const SPAWN_WAIT: &str = "xclone::Command spawn()+wait()";
pub const SPAWN_HANDSHAKE: &str = "xclone: user ns + root map (handshake)";
pub const SPAWN_SANDBOX: &str = "xclone: sandbox (full mount plan, handshake)";

/// Rows that cannot be measured (yet), and why.
#[derive(Clone, Debug)]
pub struct Missing {
    pub labels: Vec<String>,
    pub why: String,
}

impl Missing {
    /// One (label, reason) row per row that could not be measured.
    pub fn rows(self) -> impl Iterator<Item = (String, String)> {
        let why = self.why;
        self.labels.into_iter().map(move |l| (l, why.clone()))
    }
}

pub const CG_INTO: &str = "xclone: into_cgroup";
pub const CG_HOOK: &str = "xclone: pre_exec_shared_memory writes cgroup.procs";
pub const SET_TID: &str = "xclone: set_tid";
pub const TIME: &str = "xclone: time namespace";
pub const TIME_OFFSETS: &str = "xclone: time namespace + offsets";
pub const PROBE_CACHED: &str = "Features::probe() (cached)";
pub const PROBE_UNCACHED: &str = "Features::probe_uncached()";
pub const VALIDATE: &str = "validate(): container set + pidfd";
pub const VALIDATE_CURRENT: &str = "validate_current(): container set + pidfd";

/// The label of xclone's row for one namespace set.
pub fn ns_label(set: &str) -> String {
    format!("xclone: {set}")
}

/// Runs the command and demands exit status 0.
fn status(c: &mut Command) -> Result<(), String> {
    let st = c.status().map_err(|e| format!("xclone spawn: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("child ended with {st}"))
    }
}

/// A row that builds a fresh command per operation (as a program spawning a child would)
/// and lets `setup` configure it.
fn row(
    label: impl Into<String>,
    path: &Path,
    mut setup: impl FnMut(&mut Command) -> Result<(), String> + 'static,
) -> Contender<'static> {
    let path = path.to_path_buf();
    Contender::new(label, move || {
        let mut c = Command::new(&path);
        setup(&mut c)?;
        status(&mut c)
    })
}

/// `xclone::Command::new(path).status()` (the run-to-end spawn), `spawn()` + `wait()` (the
/// vfork spawn with a pidfd), the same with an empty `pre_exec_shared_memory` hook and with
/// an empty `pre_exec` hook (std's contract: a fork-like child), and — as root, where
/// creating a user namespace is certain — the handshake spawn (user namespace with root
/// mapped, the parent writing the maps while the child waits).
pub fn spawn(path: &Path) -> Result<Vec<Contender<'static>>, Missing> {
    let mut rows = vec![
        row(SPAWN, path, |_| Ok(())),
        {
            let path = path.to_path_buf();
            Contender::new(SPAWN_WAIT, move || {
                let st = Command::new(&path)
                    .spawn()
                    .and_then(|mut c| c.wait())
                    .map_err(|e| format!("xclone spawn: {e}"))?;
                if st.success() {
                    Ok(())
                } else {
                    Err(format!("child ended with {st}"))
                }
            })
        },
        row(SPAWN_PRE_EXEC, path, |c| {
            // SAFETY: the hook does nothing: no allocation, no lock, no panic.
            unsafe {
                c.pre_exec_shared_memory(|| Ok(()));
            }
            Ok(())
        }),
        row(SPAWN_PRE_EXEC_STD, path, |c| {
            // SAFETY: the hook does nothing, which is async-signal-safe.
            unsafe {
                c.pre_exec(|| Ok(()));
            }
            Ok(())
        }),
    ];
    if rustix::process::geteuid().is_root() {
        let (uid, gid) = (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        );
        rows.push(row(SPAWN_HANDSHAKE, path, move |c| {
            c.add_flags(CloneFlags::NEWUSER)
                .id_maps(xclone::isolate::IdMaps::root(uid, gid));
            Ok(())
        }));
        let sandbox = sandbox(path);
        rows.push(row(SPAWN_SANDBOX, path, move |c| {
            // The namespaces the mount plan needs (a new proc needs its own pid namespace);
            // not the network one, whose teardown would swamp what is measured here.
            c.add_flags(CloneFlags::NEWUSER | CloneFlags::NEWNS | CloneFlags::NEWPID)
                .id_maps(xclone::isolate::IdMaps::root(uid, gid))
                .sandbox(sandbox.clone());
            Ok(())
        }));
    }
    Ok(rows)
}

/// The sandbox as a library value: /usr read-only with the merged-/usr links, proc,
/// a minimal /dev, a tmpfs on /tmp, and the target program bound where it lies.
pub fn sandbox(target: &Path) -> xclone::isolate::sandbox::Sandbox {
    use xclone::isolate::sandbox::{BindKind, Filesystem, FsOp};
    let ro = BindKind {
        read_only: true,
        ..Default::default()
    };
    let bind = |p: &Path| FsOp::Bind {
        src: p.into(),
        dest: p.into(),
        kind: ro,
    };
    let link = |t: &str, d: &str| FsOp::Symlink {
        target: t.into(),
        dest: d.into(),
    };
    let mut sandbox = xclone::isolate::sandbox::Sandbox::default();
    sandbox.filesystem = Some(Filesystem {
        base: None,
        ops: vec![
            bind(Path::new("/usr")),
            link("usr/lib", "/lib"),
            link("usr/lib64", "/lib64"),
            link("usr/bin", "/bin"),
            FsOp::Proc {
                dest: "/proc".into(),
            },
            FsOp::Dev {
                dest: "/dev".into(),
            },
            FsOp::Tmpfs {
                dest: "/tmp".into(),
                perms: None,
                size: None,
            },
            bind(target),
        ],
    });
    sandbox
}

/// The throughput operation: one status() spawn.
pub fn throughput_op(path: &Path) -> Result<Box<MakeOp<'static>>, Missing> {
    let path = path.to_path_buf();
    Ok(Box::new(move || {
        let p = path.clone();
        Box::new(move || status(&mut Command::new(&p)))
    }))
}

/// One row per (label, clone flags): xclone spawning with those namespace flags.
pub fn namespaces(path: &Path, sets: &[(String, u64)]) -> Result<Vec<Contender<'static>>, Missing> {
    Ok(sets
        .iter()
        .map(|(name, bits)| {
            let flags = CloneFlags::from_bits_retain(*bits);
            row(ns_label(name), path, move |c| {
                c.add_flags(flags);
                Ok(())
            })
        })
        .collect())
}

/// Plain spawn, `into_cgroup(dir)`, and a `pre_exec_shared_memory` hook that writes "0" to
/// `cgroup.procs`.
pub fn cgroup<'a>(
    path: &Path,
    cg: &'a crate::cgroup::TestCgroup,
) -> Result<Vec<Contender<'a>>, Missing> {
    let dir = cg.fd.try_clone().map_err(|e| Missing {
        labels: vec![CG_INTO.into()],
        why: format!("dup of the cgroup fd: {e}"),
    })?;
    let procs = std::sync::Arc::new(cg.procs.clone());
    Ok(vec![
        row(SPAWN, path, |_| Ok(())),
        // Each command owns its descriptor, so every operation pays one dup, as a caller
        // building a command per spawn would.
        row(CG_INTO, path, move |c| {
            let fd = dir.try_clone().map_err(|e| format!("dup: {e}"))?;
            c.into_cgroup(fd);
            Ok(())
        }),
        row(CG_HOOK, path, move |c| {
            let procs = procs.clone();
            // SAFETY: the hook makes raw system calls (rustix's linux_raw backend: no libc,
            // no errno) on a path prepared before the spawn; it allocates nothing.
            unsafe {
                c.pre_exec_shared_memory(move || {
                    let fd = rustix::fs::open(
                        procs.as_c_str(),
                        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                        rustix::fs::Mode::empty(),
                    )?;
                    rustix::io::write(&fd, b"0")?;
                    Ok(())
                });
            }
            Ok(())
        }),
    ])
}

/// `set_tid(pid)` and a new time namespace with and without offsets.
pub fn set_tid_and_time(path: &Path, pid: i32) -> Result<Vec<Contender<'static>>, Missing> {
    let newtime = CloneFlags::NEWTIME;
    Ok(vec![
        row(SET_TID, path, move |c| {
            c.set_tid(&[pid]);
            Ok(())
        }),
        row(TIME, path, move |c| {
            c.add_flags(newtime);
            Ok(())
        }),
        // A CLONE_VM child is not yet in its new time namespace, which stays unfrozen until
        // exec: the child can set the offsets itself (clone3.md §7.4).
        row(TIME_OFFSETS, path, move |c| {
            c.add_flags(newtime);
            // SAFETY: raw system calls on static data; nothing allocated, no panic.
            unsafe {
                c.pre_exec_shared_memory(|| {
                    let fd = rustix::fs::open(
                        c"/proc/self/timens_offsets",
                        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                        rustix::fs::Mode::empty(),
                    )?;
                    rustix::io::write(&fd, b"monotonic 86400 0\nboottime 86400 0\n")?;
                    Ok(())
                });
            }
            Ok(())
        }),
    ])
}

/// `Features::probe()` (cached: an atomic load after the first call); each operation runs
/// `batch` calls.
pub fn probe(batch: usize) -> Result<Vec<Contender<'static>>, Missing> {
    Ok(vec![Contender::new(PROBE_CACHED, move || {
        for _ in 0..batch {
            std::hint::black_box(xclone::probe::Features::probe());
        }
        Ok(())
    })])
}

/// `Features::probe_uncached()`: the whole probe, one call per operation.
pub fn probe_uncached() -> Result<Vec<Contender<'static>>, Missing> {
    Ok(vec![Contender::new(PROBE_UNCACHED, || {
        std::hint::black_box(xclone::probe::Features::probe_uncached());
        Ok(())
    })])
}

/// The typical request the validation rows judge: the container set with a pidfd.
fn container_request() -> xclone::CloneArgs<'static> {
    xclone::CloneArgs::new()
        .flags(CloneFlags::from_bits_retain(
            crate::isolation::CONTAINER_SET,
        ))
        .pidfd(true)
}

/// Validation of a typical request (container set + pidfd) against the probed features and
/// a caller read once; each operation runs `batch` calls.
pub fn validate(batch: usize) -> Result<Vec<Contender<'static>>, Missing> {
    let caller = xclone::caller::Caller::current().map_err(|e| Missing {
        labels: vec![VALIDATE.into()],
        why: format!("reading the caller: {e}"),
    })?;
    let features = xclone::probe::Features::probe();
    let args = container_request();
    Ok(vec![Contender::new(VALIDATE, move || {
        for _ in 0..batch {
            std::hint::black_box(xclone::validate::validate(&args, features, &caller));
        }
        Ok(())
    })])
}

/// `validate_current`: the same request, reading the caller from /proc each time.
pub fn validate_current() -> Result<Vec<Contender<'static>>, Missing> {
    let args = container_request();
    Ok(vec![Contender::new(VALIDATE_CURRENT, move || {
        xclone::validate::validate_current(&args)
            .map(|v| {
                std::hint::black_box(v);
            })
            .map_err(|e| e.to_string())
    })])
}
