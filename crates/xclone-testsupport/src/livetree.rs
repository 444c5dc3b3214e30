//! A live process tree in a pid namespace of its own, made by shell scripts under
//! unshare(1): what `tree`/`read_tree` read and a restore then recreates.

use crate::tempdir::TempDir;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Whether unshare(1) (util-linux) can be run; prints the reason for skipping when not.
pub fn have_unshare() -> bool {
    if Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("skipped: needs util-linux unshare to build the live tree");
        return false;
    }
    true
}

/// Writes into `dir` the FIFO `fifo` and `blocker.sh`, the final program of each process of
/// a live tree: it says "ready" on fd 3 (when that is open), closes it and waits reading the
/// FIFO. Saying ready after the last exec means a process has its final command line when
/// the test reads the tree; the blocker creates no processes, so running it again after a
/// restore changes nothing. Returns blocker.sh's path.
pub fn write_blocker(dir: &TempDir) -> PathBuf {
    dir.fifo("fifo");
    dir.file(
        "blocker.sh",
        "echo ready 2>/dev/null >&3\nexec 3>&-\nread x < \"${0%/*}/fifo\"\n",
    )
}

/// A tree started by [`start_live_tree`]: unshare(1) (our child) and the namespace's init.
pub struct LiveTree {
    /// unshare, which reaps the init once it is killed.
    pub unshare: Child,
    /// The init's PID in our namespace: the root of the tree.
    pub root: i32,
    // The read end of the "ready" pipe, open as long as the tree is in use.
    _ready: BufReader<ChildStdout>,
}

/// Starts `unshare --pid --fork` with `sh SPAWN root` as the init of a new pid namespace,
/// fd 3 of the tree a pipe to us, and returns once `processes` "ready" lines came through
/// it (see [`write_blocker`]).
pub fn start_live_tree(spawn: &Path, processes: usize) -> LiveTree {
    let mut unshare = Command::new("unshare")
        .args(["--pid", "--fork", "sh", "-c"])
        .arg(format!(
            "exec 3>&1 >/dev/null; exec sh {} root",
            spawn.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // unshare complains on stderr when its child is killed; that is the test's doing.
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = BufReader::new(unshare.stdout.take().unwrap());
    for _ in 0..processes {
        let mut line = String::new();
        ready.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
    }
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id())).unwrap();
    let root: i32 = children.trim().parse().unwrap();
    LiveTree {
        unshare,
        root,
        _ready: ready,
    }
}
