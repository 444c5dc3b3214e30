//! A throw-away cgroup2 directory for the placement rows, found through /proc/self/mountinfo
//! and removed when the bench is done with it.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The mount point of the cgroup2 hierarchy whose root is mounted (root field `/`).
pub fn cgroup2_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        let mut f = left.split_whitespace();
        let root = f.nth(3)?;
        let point = f.next()?;
        (fstype == "cgroup2" && root == "/").then(|| PathBuf::from(unescape(point)))
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).ok();
            if let Some(v) = oct.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct TestCgroup {
    pub dir: PathBuf,
    pub fd: OwnedFd,
    /// `<dir>/cgroup.procs`, ready for a child that must not allocate.
    pub procs: CString,
}

impl TestCgroup {
    pub fn create() -> Result<TestCgroup, String> {
        Self::create_named("xclone-bench")
    }

    /// `<cgroup2 mount>/<prefix>-<our PID>`.
    pub fn create_named(prefix: &str) -> Result<TestCgroup, String> {
        let mnt = cgroup2_mount().ok_or("no cgroup2 hierarchy in /proc/self/mountinfo")?;
        let dir = mnt.join(format!("{prefix}-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let fd = std::fs::File::open(&dir)
            .map_err(|e| format!("open {}: {e}", dir.display()))?
            .into();
        let procs = CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(|e| e.to_string())?;
        Ok(TestCgroup { dir, fd, procs })
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Every child has been reaped by now, so the cgroup is empty.
        if let Err(e) = std::fs::remove_dir(&self.dir) {
            eprintln!("warning: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// A `sleep` moved into a cgroup so that the cgroup is never empty: its css_set (the kernel's
/// record of a task's cgroups on every hierarchy) then stays alive between spawns into it.
/// Killed and reaped on drop, which must come before the cgroup's.
pub struct Keeper(std::process::Child);

impl Keeper {
    pub fn start(cg: &TestCgroup) -> Result<Keeper, String> {
        let child = std::process::Command::new("sleep")
            .arg("100000")
            .stdin(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("sleep: {e}"))?;
        let mut k = Keeper(child);
        std::fs::write(cg.dir.join("cgroup.procs"), k.0.id().to_string())
            .map_err(|e| format!("moving the keeper into {}: {e}", cg.dir.display()))
            .inspect_err(|_| k.stop())?;
        Ok(k)
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.stop();
    }
}
