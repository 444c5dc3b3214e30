//! Mounts: a fresh proc of the new pid namespace, a new root (chroot and pivot_root), mount
//! propagation, and the host name of a new UTS namespace.

use std::path::{Path, PathBuf};
use xclone::isolate::{Propagation, RootMode};
use xclone::{CloneFlags, Command};
use xclone_testsupport::{
    assert_inner_passed, inner_done, is_inner, need_probe, need_root, run_inner, sh, stdout_of,
};

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("xclone-mounts-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn mount_proc_shows_only_the_childs_tree() {
    need_root!();
    let out = stdout_of(
        Command::new("ps")
            .args(["-e", "-o", "pid=,comm="])
            .flags(CloneFlags::NEWNS | CloneFlags::NEWPID)
            .mount_propagation(Propagation::Private)
            .mount_proc("/proc"),
    );
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["1", "ps"]);
    // The parent's /proc is untouched.
    assert!(Path::new(&format!("/proc/{}", std::process::id())).exists());
}

#[test]
fn mount_proc_needs_a_mount_namespace() {
    let e = Command::new("true")
        .flags(CloneFlags::NEWPID)
        .mount_proc("/proc")
        .spawn()
        .unwrap_err();
    assert!(e.to_string().contains("CLONE_NEWNS"), "{e}");
}

#[test]
fn hostname_in_a_new_uts_namespace() {
    need_root!();
    let before = rustix::system::uname().nodename().to_owned();
    let out = stdout_of(
        sh("hostname")
            .flags(CloneFlags::NEWUTS)
            .hostname("xclone-box"),
    );
    assert_eq!(out, "xclone-box\n");
    assert_eq!(rustix::system::uname().nodename(), before.as_c_str());
    let e = Command::new("true").hostname("x").spawn().unwrap_err();
    assert!(e.to_string().contains("CLONE_NEWUTS"), "{e}");
}

/// A directory holding only the static probe (as /probe), a marker file and /proc.
fn new_root(tag: &str, probe: &Path) -> PathBuf {
    let d = tempdir(tag);
    // A hard link: no writable descriptor of an executable in this process (ETXTBSY for
    // children forked concurrently by other tests).
    if std::fs::hard_link(probe, d.join("probe")).is_err() {
        let st = std::process::Command::new("cp")
            .arg(probe)
            .arg(d.join("probe"))
            .status()
            .unwrap();
        assert!(st.success());
    }
    std::fs::write(d.join("xclone-marker"), "").unwrap();
    std::fs::create_dir(d.join("proc")).unwrap();
    d
}

#[test]
fn chroot_root() {
    need_root!();
    let probe = need_probe!();
    let root = new_root("chroot", probe);
    let out = stdout_of(
        Command::new("/probe")
            .arg("root")
            .root(&root, RootMode::Chroot),
    );
    assert_eq!(out, "/ marker\n");
    // The working directory may be set inside the new root.
    let out = stdout_of(
        Command::new("/probe")
            .arg("root")
            .root(&root, RootMode::Chroot)
            .current_dir("/proc"),
    );
    assert_eq!(out, "/proc marker\n");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn pivot_root_with_proc_inside() {
    need_root!();
    let probe = need_probe!();
    let root = new_root("pivot", probe);
    let out = stdout_of(
        Command::new("/probe")
            .arg("root")
            .flags(CloneFlags::NEWNS)
            .mount_propagation(Propagation::Private)
            .root(&root, RootMode::PivotRoot),
    );
    assert_eq!(out, "/ marker\n");
    // With a proc mounted inside the new root (the probe reads /proc/self/cgroup there).
    let out = stdout_of(
        Command::new("/probe")
            .arg("cgroup")
            .flags(CloneFlags::NEWNS | CloneFlags::NEWPID)
            .mount_propagation(Propagation::Private)
            .root(&root, RootMode::PivotRoot)
            .mount_proc("/proc"),
    );
    assert!(out.contains("0::/"), "{out}");
    // pivot_root without a mount namespace: refused before the clone.
    let e = Command::new("/probe")
        .root(&root, RootMode::PivotRoot)
        .spawn()
        .unwrap_err();
    assert!(e.to_string().contains("CLONE_NEWNS"), "{e}");
    // A root that does not exist: the child reports the step and the path.
    let mut cmd = Command::new("/probe");
    cmd.root("/nonexistent-xclone", RootMode::Chroot);
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(xclone::Errno::ENOENT.0));
    assert_eq!(
        cmd.last_spawn_error().unwrap().to_string(),
        "chroot chdir /nonexistent-xclone: No such file or directory"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// In a mount namespace of its own whose mounts are shared, a child's new mount reaches this
/// namespace with shared or unchanged propagation, and not with private or slave.
#[test]
fn propagation_decides_whether_mounts_reach_the_parent() {
    const NAME: &str = "propagation_decides_whether_mounts_reach_the_parent";
    if is_inner(NAME) {
        use rustix::mount::{mount_change, unmount, MountPropagationFlags, UnmountFlags};
        mount_change(
            c"/",
            MountPropagationFlags::SHARED | MountPropagationFlags::REC,
        )
        .unwrap();
        for (p, reaches) in [
            (Propagation::Private, false),
            (Propagation::Slave, false),
            (Propagation::Shared, true),
            (Propagation::Unchanged, true),
        ] {
            let dir = tempdir(p.as_str());
            stdout_of(
                Command::new("mount")
                    .args(["-t", "tmpfs", "xclone-prop"])
                    .arg(&dir)
                    .flags(CloneFlags::NEWNS)
                    .mount_propagation(p),
            );
            let mounted = std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .contains(&format!(" {} ", dir.display()));
            assert_eq!(mounted, reaches, "propagation {p}");
            if mounted {
                unmount(&dir, UnmountFlags::DETACH).unwrap();
            }
            std::fs::remove_dir(&dir).unwrap();
        }
        inner_done(NAME);
        return;
    }
    need_root!();
    let out = run_inner(NAME, |c| {
        c.flags(CloneFlags::NEWNS)
            .stdout(xclone::Stdio::piped())
            .stderr(xclone::Stdio::piped());
    });
    assert_inner_passed(NAME, &out);
}
