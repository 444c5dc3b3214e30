//! `run`'s sandbox options, named and ordered as bubblewrap's: file-tree operations
//! (`--bind`, `--tmpfs`, `--dev`, …) apply in the order given, as do environment changes and
//! capability changes; `--perms` and `--size` modify the next operation.
//!
//! Clap's derive keeps each option's values apart, losing the order between different
//! options, so this `Args` is written by hand: [`SandboxArgs::from_arg_matches`] sorts the
//! occurrences by their positions on the command line (`ArgMatches::indices_of`).

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};
use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use xclone::isolate::sandbox::{
    BindKind, Cap, CapChange, CapSet, Filesystem, FsOp, Rlimit, Sandbox, SeccompProgram,
};
use xclone::isolate::{IdMaps, SetGroups};
use xclone::raw::fdnum::{dup_number, set_cloexec_number};
use xclone::{CloneFlags, Command};

const HEADING: &str = "Sandbox (bubblewrap's options)";

/// An ordered option: its id (= long name), how many values, their names, its help.
const ORDERED: &[(&str, usize, &[&str], &str)] = &[
    (
        "bind",
        2,
        &["SRC", "DEST"],
        "Bind-mount SRC (recursively, nosuid, nodev) on DEST",
    ),
    (
        "bind-try",
        2,
        &["SRC", "DEST"],
        "As --bind; a missing SRC is skipped",
    ),
    (
        "dev-bind",
        2,
        &["SRC", "DEST"],
        "As --bind, devices allowed",
    ),
    (
        "dev-bind-try",
        2,
        &["SRC", "DEST"],
        "As --dev-bind; a missing SRC is skipped",
    ),
    (
        "ro-bind",
        2,
        &["SRC", "DEST"],
        "As --bind, every mount below read-only",
    ),
    (
        "ro-bind-try",
        2,
        &["SRC", "DEST"],
        "As --ro-bind; a missing SRC is skipped",
    ),
    (
        "remount-ro",
        1,
        &["DEST"],
        "Make the mount at DEST read-only",
    ),
    (
        "tmpfs",
        1,
        &["DEST"],
        "Mount a tmpfs on DEST (--perms, --size)",
    ),
    ("dev", 1, &["DEST"], "Mount a minimal /dev on DEST"),
    ("proc", 1, &["DEST"], "Mount a new proc on DEST"),
    ("mqueue", 1, &["DEST"], "Mount a new mqueue on DEST"),
    ("dir", 1, &["DEST"], "Create directory DEST (--perms)"),
    (
        "symlink",
        2,
        &["SRC", "DEST"],
        "Create symlink DEST pointing at SRC",
    ),
    (
        "file",
        2,
        &["FD", "DEST"],
        "Copy what descriptor FD yields into file DEST (--perms)",
    ),
    (
        "bind-data",
        2,
        &["FD", "DEST"],
        "Copy FD's data into a file bound on DEST (--perms)",
    ),
    (
        "ro-bind-data",
        2,
        &["FD", "DEST"],
        "As --bind-data, read-only",
    ),
    (
        "chmod",
        2,
        &["OCTAL", "PATH"],
        "Change the permissions of PATH",
    ),
    (
        "perms",
        1,
        &["OCTAL"],
        "Permissions of the next --dir, --tmpfs, --file or --bind-data",
    ),
    ("size", 1, &["BYTES"], "Size of the next --tmpfs"),
    (
        "setenv",
        2,
        &["VAR", "VALUE"],
        "Set an environment variable",
    ),
    ("unsetenv", 1, &["VAR"], "Unset an environment variable"),
    (
        "clearenv",
        0,
        &[],
        "Unset every environment variable (except PWD)",
    ),
    ("cap-add", 1, &["CAP"], "Keep capability CAP (or ALL)"),
    ("cap-drop", 1, &["CAP"], "Drop capability CAP (or ALL)"),
];

/// Flags that take no value, with their help.
const SWITCHES: &[(&str, &str)] = &[
    (
        "unshare-all",
        "Unshare every namespace (user, ipc, pid, net with lo up, uts, cgroup)",
    ),
    (
        "share-net",
        "With --unshare-all: keep the network namespace",
    ),
    (
        "unshare-user",
        "New user namespace (own ids mapped as bubblewrap does)",
    ),
    ("unshare-ipc", "New IPC namespace"),
    (
        "unshare-pid",
        "New pid namespace: the program runs as PID 2 under an init of xclone's (PID 1)",
    ),
    (
        "as-pid-1",
        "With --unshare-pid: no init, the program itself is PID 1",
    ),
    (
        "unshare-net",
        "New network namespace, its loopback interface up (127.0.0.1, ::1)",
    ),
    ("unshare-uts", "New UTS namespace"),
    ("unshare-cgroup", "New cgroup namespace"),
    (
        "new-session",
        "Start a new session (setsid): the terminal cannot be fed input (TIOCSTI)",
    ),
    (
        "die-with-parent",
        "Kill the program (SIGKILL) when xclone dies",
    ),
];

/// One environment change, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvOp {
    Set(OsString, OsString),
    Unset(OsString),
    Clear,
}

/// The sandbox options as given.
#[derive(Clone, Debug, Default)]
pub struct SandboxArgs {
    pub ops: Vec<FsOp>,
    pub env: Vec<EnvOp>,
    pub caps: Vec<CapChange>,
    pub flags: CloneFlags,
    /// `--unshare-all` / `--unshare-user` were given (xclone maps the ids).
    pub user_ns: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub chdir: Option<PathBuf>,
    pub new_session: bool,
    pub die_with_parent: bool,
    /// `--as-pid-1`: the program is PID 1 of the new pid namespace (no init of xclone's).
    pub as_pid_1: bool,
    pub argv0: Option<OsString>,
    pub rlimits: Vec<Rlimit>,
    pub seccomp: Option<RawFd>,
    pub add_seccomp: Vec<RawFd>,
    pub userns: Option<RawFd>,
    pub userns2: Option<RawFd>,
    pub pidns: Option<RawFd>,
    pub info_fd: Option<RawFd>,
    pub block_fd: Option<RawFd>,
    pub userns_block_fd: Option<RawFd>,
    pub sync_fd: Option<RawFd>,
}

fn octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("{s:?} is not an octal mode"))
}

fn fd_number(s: &str) -> Result<RawFd, String> {
    s.parse::<RawFd>()
        .ok()
        .filter(|f| *f >= 0)
        .ok_or_else(|| format!("{s:?} is not a descriptor number"))
}

fn text(v: &OsString) -> Result<&str, String> {
    v.to_str().ok_or_else(|| format!("{v:?} is not UTF-8"))
}

impl Args for SandboxArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for &(id, n, names, help) in ORDERED {
            let mut a = Arg::new(id)
                .long(id)
                .help(help)
                .help_heading(HEADING)
                .action(if n == 0 {
                    ArgAction::Count
                } else {
                    ArgAction::Append
                });
            if n > 0 {
                a = a
                    .num_args(n)
                    .value_names(names.iter().copied())
                    .allow_hyphen_values(true)
                    .value_parser(clap::value_parser!(OsString));
            }
            cmd = cmd.arg(a);
        }
        for &(id, help) in SWITCHES {
            cmd = cmd.arg(
                Arg::new(id)
                    .long(id)
                    .help(help)
                    .help_heading(HEADING)
                    .action(ArgAction::SetTrue),
            );
        }
        let one = |id: &'static str, name: &'static str, help: &'static str| {
            Arg::new(id)
                .long(id)
                .value_name(name)
                .help(help)
                .help_heading(HEADING)
        };
        cmd.arg(one(
            "uid",
            "UID",
            "The program's uid in the new user namespace",
        ))
        .arg(one(
            "gid",
            "GID",
            "The program's gid in the new user namespace",
        ))
        .arg(one("chdir", "DIR", "Working directory in the sandbox"))
        .arg(
            one("argv0", "VALUE", "The program's argv[0]")
                .value_parser(clap::value_parser!(OsString)),
        )
        .arg(
            one(
                "rlimit",
                "NAME=SOFT:HARD",
                "Set a resource limit (prlimit's names; repeatable)",
            )
            .action(ArgAction::Append),
        )
        .arg(one(
            "seccomp",
            "FD",
            "Install the compiled BPF program read from FD before exec",
        ))
        .arg(
            one(
                "add-seccomp-fd",
                "FD",
                "Add a compiled BPF program read from FD (repeatable)",
            )
            .action(ArgAction::Append),
        )
        .arg(one(
            "userns",
            "FD",
            "Create the sandbox inside this existing user namespace",
        ))
        .arg(one(
            "userns2",
            "FD",
            "Switch to this user namespace after the setup",
        ))
        .arg(one(
            "pidns",
            "FD",
            "Create the sandbox inside this existing pid namespace",
        ))
        .arg(one(
            "info-fd",
            "FD",
            "Write the program's pid and namespaces as JSON to FD",
        ))
        .arg(one(
            "block-fd",
            "FD",
            "Block the program before exec until FD yields a byte or EOF",
        ))
        .arg(one(
            "userns-block-fd",
            "FD",
            "Block the child before its setup until FD yields a byte or EOF",
        ))
        .arg(one(
            "sync-fd",
            "FD",
            "Keep FD open (in xclone, not the program) while the sandbox runs",
        ))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for SandboxArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Self::parse(m)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, e + "\n"))
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl SandboxArgs {
    fn parse(m: &ArgMatches) -> Result<Self, String> {
        // Every occurrence of an ordered option, with its position on the command line.
        let mut occ: Vec<(usize, &str, Vec<OsString>)> = Vec::new();
        for &(id, n, _, _) in ORDERED {
            if n == 0 {
                // A count's default (0) has an index too: only occurrences on the line count.
                if m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
                    continue;
                }
                if let Some(ix) = m.indices_of(id) {
                    occ.extend(ix.map(|i| (i, id, Vec::new())));
                }
                continue;
            }
            let (Some(vals), Some(ix)) = (m.get_occurrences::<OsString>(id), m.indices_of(id))
            else {
                continue;
            };
            let ix: Vec<usize> = ix.collect();
            for (k, vals) in vals.enumerate() {
                let at = ix.get(k * n).copied().unwrap_or(usize::MAX);
                occ.push((at, id, vals.cloned().collect()));
            }
        }
        occ.sort_by_key(|o| o.0);

        let mut s = SandboxArgs::default();
        let mut perms: Option<u32> = None;
        let mut size: Option<u64> = None;
        for (_, id, v) in occ {
            let p = |i: usize| PathBuf::from(v.get(i).cloned().unwrap_or_default());
            let bind = |read_only, devices, try_| FsOp::Bind {
                src: p(0),
                dest: p(1),
                kind: BindKind {
                    read_only,
                    devices,
                    try_,
                },
            };
            let op = match id {
                "bind" => Some(bind(false, false, false)),
                "bind-try" => Some(bind(false, false, true)),
                "dev-bind" => Some(bind(false, true, false)),
                "dev-bind-try" => Some(bind(false, true, true)),
                "ro-bind" => Some(bind(true, false, false)),
                "ro-bind-try" => Some(bind(true, false, true)),
                "remount-ro" => Some(FsOp::RemountRo { dest: p(0) }),
                "tmpfs" => Some(FsOp::Tmpfs {
                    dest: p(0),
                    perms: perms.take(),
                    size: size.take(),
                }),
                "dev" => Some(FsOp::Dev { dest: p(0) }),
                "proc" => Some(FsOp::Proc { dest: p(0) }),
                "mqueue" => Some(FsOp::Mqueue { dest: p(0) }),
                "dir" => Some(FsOp::Dir {
                    dest: p(0),
                    perms: perms.take(),
                }),
                "symlink" => Some(FsOp::Symlink {
                    target: v[0].clone(),
                    dest: p(1),
                }),
                "file" => Some(FsOp::File {
                    fd: fd_number(text(&v[0])?)?,
                    dest: p(1),
                    perms: perms.take(),
                }),
                "bind-data" | "ro-bind-data" => Some(FsOp::BindData {
                    fd: fd_number(text(&v[0])?)?,
                    dest: p(1),
                    read_only: id == "ro-bind-data",
                    perms: perms.take(),
                }),
                "chmod" => Some(FsOp::Chmod {
                    perms: octal(text(&v[0])?).map_err(|e| format!("--chmod: {e}"))?,
                    path: p(1),
                }),
                "perms" => {
                    perms = Some(octal(text(&v[0])?).map_err(|e| format!("--perms: {e}"))?);
                    None
                }
                "size" => {
                    let t = text(&v[0])?;
                    size = Some(
                        t.parse()
                            .map_err(|_| format!("--size: {t:?} is not a number of bytes"))?,
                    );
                    None
                }
                "setenv" => {
                    s.env.push(EnvOp::Set(v[0].clone(), v[1].clone()));
                    None
                }
                "unsetenv" => {
                    s.env.push(EnvOp::Unset(v[0].clone()));
                    None
                }
                "clearenv" => {
                    s.env.push(EnvOp::Clear);
                    None
                }
                "cap-add" | "cap-drop" => {
                    let c: Cap = text(&v[0])?.parse().map_err(|e| format!("--{id}: {e}"))?;
                    s.caps.push(if id == "cap-add" {
                        CapChange::Add(c)
                    } else {
                        CapChange::Drop(c)
                    });
                    None
                }
                _ => None,
            };
            if let Some(op) = op {
                s.ops.push(op);
            }
        }
        if perms.is_some() {
            return Err("--perms must come before the operation it modifies".into());
        }
        if size.is_some() {
            return Err("--size must come before the --tmpfs it modifies".into());
        }

        let on = |id: &str| m.get_flag(id);
        let mut f = CloneFlags::empty();
        if on("unshare-all") {
            f |= CloneFlags::NEWUSER
                | CloneFlags::NEWIPC
                | CloneFlags::NEWPID
                | CloneFlags::NEWNET
                | CloneFlags::NEWUTS
                | CloneFlags::NEWCGROUP;
            s.user_ns = true;
        }
        for (id, flag) in [
            ("unshare-user", CloneFlags::NEWUSER),
            ("unshare-ipc", CloneFlags::NEWIPC),
            ("unshare-pid", CloneFlags::NEWPID),
            ("unshare-net", CloneFlags::NEWNET),
            ("unshare-uts", CloneFlags::NEWUTS),
            ("unshare-cgroup", CloneFlags::NEWCGROUP),
        ] {
            if on(id) {
                f |= flag;
            }
        }
        s.user_ns |= on("unshare-user");
        if on("share-net") {
            f.remove(CloneFlags::NEWNET);
        }
        s.flags = f;
        s.new_session = on("new-session");
        s.die_with_parent = on("die-with-parent");
        s.as_pid_1 = on("as-pid-1");
        if s.as_pid_1 && !s.flags.contains(CloneFlags::NEWPID) {
            return Err("--as-pid-1 needs --unshare-pid (or --unshare-all), as in bwrap".into());
        }
        let num = |id: &str| -> Result<Option<u32>, String> {
            m.get_one::<String>(id)
                .map(|v| {
                    v.parse()
                        .map_err(|_| format!("--{id}: {v:?} is not a number"))
                })
                .transpose()
        };
        s.uid = num("uid")?;
        s.gid = num("gid")?;
        s.chdir = m.get_one::<String>("chdir").map(PathBuf::from);
        s.argv0 = m.get_one::<OsString>("argv0").cloned();
        if let Some(r) = m.get_many::<String>("rlimit") {
            for v in r {
                s.rlimits
                    .push(v.parse().map_err(|e| format!("--rlimit: {e}"))?);
            }
        }
        s.seccomp = m
            .get_one::<String>("seccomp")
            .map(|v| fd_number(v))
            .transpose()?;
        if let Some(r) = m.get_many::<String>("add-seccomp-fd") {
            for v in r {
                s.add_seccomp.push(fd_number(v)?);
            }
        }
        let fd_of = |id: &str| {
            m.get_one::<String>(id)
                .map(|v| fd_number(v).map_err(|e| format!("--{id}: {e}")))
                .transpose()
        };
        s.userns = fd_of("userns")?;
        s.userns2 = fd_of("userns2")?;
        s.pidns = fd_of("pidns")?;
        s.info_fd = fd_of("info-fd")?;
        s.block_fd = fd_of("block-fd")?;
        s.userns_block_fd = fd_of("userns-block-fd")?;
        s.sync_fd = fd_of("sync-fd")?;
        if s.userns.is_some() {
            // The existing user namespace replaces a new one.
            s.flags.remove(CloneFlags::NEWUSER);
            s.user_ns = false;
        }
        if s.seccomp.is_some() && !s.add_seccomp.is_empty() {
            return Err("--seccomp and --add-seccomp-fd exclude each other (as in bwrap)".into());
        }
        Ok(s)
    }

    /// The clone flags these options add (a file tree needs a mount namespace).
    pub fn clone_flags(&self) -> CloneFlags {
        let mut f = self.flags;
        if !self.ops.is_empty() {
            f |= CloneFlags::NEWNS;
        }
        f
    }

    /// bubblewrap's rule when it is not setuid and its real uid is not 0: it always works in
    /// a user namespace of its own (`--unshare-user` implied), unless `--userns` joins one.
    /// xclone follows it for the namespaces asked with bwrap's spellings (`--unshare-*`, a
    /// file tree, `--uid`/`--gid`) when the other options (`flags`: unshare's `-U`, ...)
    /// ask no user namespace. `uid`: our real uid, as bwrap checks it.
    pub fn implicit_user_ns(&self, flags: CloneFlags, uid: u32) -> bool {
        let asks = !self.flags.is_empty()
            || !self.ops.is_empty()
            || self.uid.is_some()
            || self.gid.is_some();
        uid != 0
            && asks
            && self.userns.is_none()
            && !(flags | self.flags).contains(CloneFlags::NEWUSER)
    }

    /// Records the options on `cmd` (built from the other options; `euid`/`egid`: ours;
    /// `implicit_user_ns`: the new user namespace is bwrap's implied one, see
    /// [`SandboxArgs::implicit_user_ns`]).
    pub fn apply(
        &self,
        cmd: &mut Command,
        euid: u32,
        egid: u32,
        implicit_user_ns: bool,
    ) -> Result<(), String> {
        let flags = cmd.get_requested_flags();
        let mut iso = cmd.get_isolation().clone();
        let in_userns = flags.contains(CloneFlags::NEWUSER);
        if self.userns.is_some() && in_userns {
            return Err(
                "--userns joins an existing user namespace: it excludes a new one (-U)".into(),
            );
        }
        // bwrap takes --uid/--gid naming our own ids without a user namespace (root's).
        let other_ids = self.uid.is_some_and(|u| u != euid) || self.gid.is_some_and(|g| g != egid);
        if other_ids && !in_userns {
            return Err("--uid and --gid need a new user namespace (-U or --unshare-user)".into());
        }
        // bubblewrap's mapping: the sandbox's ids (default: ours) map to ours.
        let mapped = iso.id_maps.as_ref().is_some_and(|m| !m.is_empty());
        let own_ids = self.uid.is_some() || self.gid.is_some();
        if mapped && own_ids {
            return Err(
                "--uid/--gid choose the ids of a user namespace xclone maps itself; with -r \
                 or --map-* use -S/-G to change ids inside"
                    .into(),
            );
        }
        let mut nested_user_ns = None;
        if !mapped && in_userns && (self.user_ns || implicit_user_ns || own_ids) {
            let (u, g) = (self.uid.unwrap_or(euid), self.gid.unwrap_or(egid));
            // bubblewrap mounts a --dev's devpts as uid 0: its namespace then maps root, and
            // a second one nested in it after the file tree gives the program its ids
            // (unless --userns-block-fd lets the caller write the maps).
            let nest = (u, g) != (0, 0)
                && self.userns_block_fd.is_none()
                && self.ops.iter().any(|op| matches!(op, FsOp::Dev { .. }));
            let (first_u, first_g) = if nest { (0, 0) } else { (u, g) };
            let mut maps = IdMaps::user(first_u, first_g, euid, egid);
            // bubblewrap (not setuid) denies setgroups(2) in the user namespace it makes,
            // for root too (a nested namespace inherits that).
            maps.setgroups = Some(SetGroups::Deny);
            iso.id_maps = Some(maps);
            if nest {
                nested_user_ns = Some(IdMaps::user(u, g, 0, 0));
            }
        }

        let mut sandbox = Sandbox::default();
        if !self.ops.is_empty() {
            if iso.mounts.proc_dir.is_some() {
                return Err("--mount-proc with a sandbox's file tree: use --proc DEST".into());
            }
            // The tree's first step makes every mount a slave (as bwrap): a second recursive
            // pass over the copied mounts for -m's default propagation would only cost.
            iso.mounts.propagation = None;
            // --root DIR (chroot or pivot_root alike): the new root is built on DIR.
            let base = iso.mounts.root.take().map(|(dir, _)| dir);
            sandbox.filesystem = Some(Filesystem {
                base,
                ops: self.ops.clone(),
            });
        }
        if !self.caps.is_empty() {
            // bubblewrap: a real root starts from the capabilities it holds, anyone else
            // from none.
            let start = if euid == 0 {
                CapSet(own_caps().permitted.bits())
            } else {
                CapSet::EMPTY
            };
            sandbox.capabilities = Some(self.caps.iter().fold(start, |s, c| s.apply(*c)));
        } else if euid == 0 && in_userns && !mapped && self.user_ns {
            // bubblewrap run by a real root keeps the capabilities root holds (its effective
            // set) in the user namespace it makes, which hands out a full bounding set:
            // bwrap shrinks the bounding set back and leaves the rest to execve.
            sandbox.bounding_set = Some(CapSet(own_caps().effective.bits()));
        } else if euid != 0 && in_userns && !mapped && (self.user_ns || implicit_user_ns) {
            // bubblewrap in the user namespace it makes for anyone but root keeps only the
            // capabilities asked (none): the bounding set is emptied too, not just the sets
            // execve clears for a uid other than 0. With -r/--map-* the maps are unshare's,
            // and so are the capabilities: what the kernel gives.
            sandbox.capabilities = Some(CapSet::EMPTY);
        }
        sandbox.nested_user_ns = nested_user_ns;
        sandbox.rlimits = self.rlimits.clone();
        for fd in self.seccomp.iter().chain(&self.add_seccomp) {
            let own = dup_number(*fd).map_err(|e| format!("--seccomp {fd}: {e}"))?;
            // The program should not inherit it.
            let _ = set_cloexec_number(*fd);
            sandbox
                .seccomp
                .push(SeccompProgram::from_fd(own).map_err(|e| format!("--seccomp {fd}: {e}"))?);
        }
        // bubblewrap brings lo up in the network namespace its --unshare-net/--unshare-all
        // creates; unshare's -n/--net leaves it down (util-linux does nothing to it), so only
        // bwrap's spellings ask for it.
        sandbox.loopback_up = self.flags.contains(CloneFlags::NEWNET);
        // bubblewrap's layout for its spellings of a new pid namespace: an init at PID 1,
        // the program as PID 2 (unless --as-pid-1); util-linux's -p/--pid keep the program
        // as PID 1.
        sandbox.init = self.flags.contains(CloneFlags::NEWPID) && !self.as_pid_1;
        sandbox.userns2 = self.userns2;
        sandbox.block_fd = self.block_fd;
        sandbox.userns_block_fd = self.userns_block_fd;
        let numbered = [
            self.block_fd,
            self.userns_block_fd,
            self.userns2,
            self.info_fd,
            self.sync_fd,
        ];
        for fd in numbered.into_iter().flatten() {
            if !xclone::raw::fdnum::is_open_number(fd) {
                return Err(format!("descriptor {fd} is not open"));
            }
            // Used by xclone or the child's setup; the program does not inherit them
            // (standard streams excepted).
            if fd > 2 {
                let _ = set_cloexec_number(fd);
            }
        }
        cmd.isolation(iso);
        cmd.sandbox(sandbox);

        for e in &self.env {
            match e {
                EnvOp::Set(k, v) => {
                    cmd.env(k, v);
                }
                EnvOp::Unset(k) => {
                    cmd.env_remove(k);
                }
                EnvOp::Clear => {
                    // As bubblewrap: PWD survives --clearenv.
                    cmd.env_clear();
                    if let Some(pwd) = std::env::var_os("PWD") {
                        cmd.env("PWD", pwd);
                    }
                }
            }
        }
        if let Some(d) = &self.chdir {
            cmd.current_dir(d);
        }
        if self.new_session {
            cmd.setsid(true);
        }
        if self.die_with_parent {
            cmd.die_with_parent(Some(libc::SIGKILL));
        }
        if let Some(a) = &self.argv0 {
            cmd.arg0(a);
        }
        Ok(())
    }
}

impl SandboxArgs {
    /// `--userns`, `--pidns`: join them in this process, right before the spawn.
    pub fn join_namespaces(&self) -> Result<(), String> {
        let own = |fd: Option<RawFd>, opt: &str| {
            fd.map(|n| dup_number(n).map_err(|e| format!("--{opt} {n}: {e}")))
                .transpose()
        };
        let userns = own(self.userns, "userns")?;
        let pidns = own(self.pidns, "pidns")?;
        xclone::isolate::sandbox::join_before_spawn(
            userns.as_ref().map(|f| f.as_fd()),
            pidns.as_ref().map(|f| f.as_fd()),
        )
    }

    /// `--info-fd`: the program's pid and the inode of each namespace it does not share
    /// with xclone, as bubblewrap writes them; the descriptor is closed afterwards.
    pub fn started(&self, child: &xclone::Child) {
        let Some(fd) = self.info_fd else { return };
        let pid = child.id();
        let ino = |p: String| std::fs::metadata(p).ok().map(|m| m.ino());
        let mut text = format!("{{\n    \"child-pid\": {pid}");
        for ns in ["cgroup", "ipc", "mnt", "net", "pid", "uts"] {
            let theirs = ino(format!("/proc/{pid}/ns/{ns}"));
            if let Some(i) = theirs.filter(|t| Some(*t) != ino(format!("/proc/self/ns/{ns}"))) {
                text.push_str(&format!(",\n    \"{ns}-namespace\": {i}"));
            }
        }
        text.push_str("\n}\n");
        if let Ok(f) = dup_number(fd) {
            let _ = std::fs::File::from(f).write_all(text.as_bytes());
            // Readers wait for end of file: close the number too.
            let _ = xclone::raw::fdnum::close_number(fd);
        }
    }
}

/// This process's capability sets (capget(2)); empty ones where it fails.
fn own_caps() -> rustix::thread::CapabilitySets {
    rustix::thread::capabilities(None).unwrap_or(rustix::thread::CapabilitySets {
        effective: rustix::thread::CapabilitySet::empty(),
        permitted: rustix::thread::CapabilitySet::empty(),
        inheritable: rustix::thread::CapabilitySet::empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        s: SandboxArgs,
    }

    fn parse(args: &[&str]) -> Result<SandboxArgs, String> {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .map(|t| t.s)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn operations_keep_their_order() {
        let s = parse(&[
            "--tmpfs",
            "/a",
            "--ro-bind",
            "/usr",
            "/usr",
            "--perms",
            "0700",
            "--dir",
            "/d",
            "--symlink",
            "usr/bin",
            "/bin",
            "--bind",
            "/x",
            "/y",
            "--size",
            "100",
            "--tmpfs",
            "/t",
        ])
        .unwrap();
        let names: Vec<String> = s.ops.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            names,
            [
                "--tmpfs /a",
                "--ro-bind /usr /usr",
                "--dir /d",
                "--symlink usr/bin /bin",
                "--bind /x /y",
                "--tmpfs /t"
            ]
        );
        assert_eq!(
            s.ops[2],
            FsOp::Dir {
                dest: "/d".into(),
                perms: Some(0o700)
            }
        );
        assert!(matches!(
            s.ops[5],
            FsOp::Tmpfs {
                size: Some(100),
                perms: None,
                ..
            }
        ));
        assert!(s.clone_flags().contains(CloneFlags::NEWNS));
    }

    #[test]
    fn env_and_caps_in_order() {
        let s = parse(&[
            "--setenv",
            "A",
            "1",
            "--clearenv",
            "--setenv",
            "B",
            "2",
            "--unsetenv",
            "B",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "cap_net_raw",
        ])
        .unwrap();
        assert_eq!(
            s.env,
            [
                EnvOp::Set("A".into(), "1".into()),
                EnvOp::Clear,
                EnvOp::Set("B".into(), "2".into()),
                EnvOp::Unset("B".into())
            ]
        );
        assert_eq!(
            s.caps,
            [CapChange::Drop(Cap::All), CapChange::Add(Cap::One(13))]
        );
    }

    #[test]
    fn no_clearenv_unless_given() {
        assert!(parse(&[]).unwrap().env.is_empty());
        assert_eq!(parse(&["--clearenv"]).unwrap().env, [EnvOp::Clear]);
    }

    #[test]
    fn unshare_all_and_refusals() {
        let s = parse(&["--unshare-all", "--share-net"]).unwrap();
        assert!(s.flags.contains(CloneFlags::NEWUSER | CloneFlags::NEWPID));
        assert!(!s.flags.contains(CloneFlags::NEWNET));
        assert!(parse(&["--perms", "0700"]).unwrap_err().contains("before"));
        assert!(parse(&["--chmod", "9", "/x"])
            .unwrap_err()
            .contains("octal"));
        assert!(parse(&["--rlimit", "NOPE=1"]).is_err());
        assert!(parse(&["--seccomp", "3", "--add-seccomp-fd", "4"]).is_err());
        let r = parse(&["--rlimit", "NOFILE=10:20"]).unwrap();
        assert_eq!(r.rlimits[0].to_string(), "NOFILE=10:20");
    }

    #[test]
    fn implicit_user_namespace_as_bwrap() {
        let none = CloneFlags::empty();
        // Anyone but root: bwrap's namespaces, file tree or ids bring a user namespace.
        for args in [
            &["--unshare-net"][..],
            &["--unshare-ipc"],
            &["--unshare-pid", "--proc", "/proc"],
            &["--tmpfs", "/tmp"],
            &["--uid", "5"],
        ] {
            let s = parse(args).unwrap();
            assert!(s.implicit_user_ns(none, 65534), "{args:?}");
            // Root: as bwrap, no user namespace is added.
            assert!(!s.implicit_user_ns(none, 0), "{args:?}");
            // Unshare's -U (or -r) already asks one: its own rules apply.
            assert!(!s.implicit_user_ns(CloneFlags::NEWUSER, 65534), "{args:?}");
        }
        // Nothing asked of the sandbox (unshare's -n alone): nothing added.
        let s = parse(&[]).unwrap();
        assert!(!s.implicit_user_ns(CloneFlags::NEWNET, 65534));
        // An explicit one, or --userns joining one: not implied.
        assert!(!parse(&["--unshare-user", "--unshare-net"])
            .unwrap()
            .implicit_user_ns(none, 65534));
        assert!(!parse(&["--userns", "0", "--unshare-net"])
            .unwrap()
            .implicit_user_ns(none, 65534));
    }
}
