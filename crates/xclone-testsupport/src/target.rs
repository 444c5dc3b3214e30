//! Targets for the `enter` tests: a process in namespaces of its own and a cgroup made for
//! the test, the way nsenter(1) users meet them.

use crate::privilege::is_root;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::path::PathBuf;
use xclone::{probe::Features, CloneFlags, Command, Stdio};

/// A cgroup2 directory for one test (`PREFIX-PID-NAME` at the root of the cgroup2 mount the
/// library finds), removed on drop (once empty).
pub struct TestCgroup(PathBuf);

impl TestCgroup {
    /// `None` without a cgroup2 mount or when the directory cannot be created.
    pub fn new(prefix: &str, name: &str) -> Option<Self> {
        let mount = Features::probe().cgroup2_mount.clone()?;
        let dir = mount.join(format!("{prefix}-{}-{name}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(TestCgroup(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// An open descriptor of the directory, as CLONE_INTO_CGROUP takes it (clone3(2)).
    pub fn fd(&self) -> OwnedFd {
        std::fs::File::open(&self.0).unwrap().into()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A target: `cat` in new user, pid, mount, uts, ipc and net namespaces, in `cg`, with
/// hostname "target" and uid/gid 0 of its user namespace mapped to 100000, blocked reading a
/// pipe whose write end the returned `Child` holds.
pub fn start_target(cg: &TestCgroup) -> xclone::Child {
    let mut cmd = Command::new("cat");
    cmd.add_flags(
        CloneFlags::NEWUSER
            | CloneFlags::NEWPID
            | CloneFlags::NEWNS
            | CloneFlags::NEWUTS
            | CloneFlags::NEWIPC
            | CloneFlags::NEWNET,
    )
    .into_cgroup(cg.fd())
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .kill_on_drop(true);
    // SAFETY: one raw system call on static data, no allocation, no panic: fit for the
    // shared-memory hook (into_cgroup needs the clone3 spawn).
    unsafe {
        cmd.pre_exec_shared_memory(|| {
            rustix::system::sethostname(b"target")?;
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawning the target");
    let pid = child.id();
    std::fs::write(format!("/proc/{pid}/uid_map"), "0 100000 65536\n").unwrap();
    std::fs::write(format!("/proc/{pid}/gid_map"), "0 100000 65536\n").unwrap();
    child
}

/// The test's cgroup ([`TestCgroup::new`]) when running as root with a writable cgroup2
/// hierarchy; otherwise `None`, the reason for skipping printed.
pub fn root_and_cgroup(prefix: &str, name: &str) -> Option<TestCgroup> {
    if !is_root() {
        eprintln!("skipped: entering namespaces needs root");
        return None;
    }
    let Some(cg) = TestCgroup::new(prefix, name) else {
        eprintln!("skipped: no writable cgroup2 hierarchy");
        return None;
    };
    Some(cg)
}

/// [`root_and_cgroup`] and a target started in it ([`start_target`]).
pub fn cgroup_and_target(prefix: &str, name: &str) -> Option<(TestCgroup, xclone::Child)> {
    let cg = root_and_cgroup(prefix, name)?;
    let t = start_target(&cg);
    Some((cg, t))
}

/// Spawns `cmd` with PID `pid` (set_tid, clone3(2)), for tests where a new process takes
/// the PID of one that exited. `None` when another process took the PID first (EEXIST),
/// the reason for skipping printed; panics on any other failure.
pub fn spawn_at_pid(cmd: &mut Command, pid: u32) -> Option<xclone::Child> {
    match cmd.set_tid(&[pid as i32]).spawn() {
        Ok(c) => Some(c),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error()) => {
            eprintln!("skipped: PID {pid} was taken by another process first");
            None
        }
        Err(e) => panic!("set_tid: {e}"),
    }
}
