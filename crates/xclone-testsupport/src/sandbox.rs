//! Sandbox command lines shared by the CLI's tests (and the spawn benchmark): bubblewrap's
//! options, which `xclone run` takes too.

/// A merged-/usr Debian layout: `/usr` read-only, with `/lib`, `/lib64` and `/bin` linked
/// into it (`/lib` is needed: the dynamic loader's link in /usr/lib64 points into /lib).
pub const MERGED_USR: [&str; 12] = [
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--symlink",
    "usr/bin",
    "/bin",
];

/// Whether bubblewrap (`bwrap`) can be run.
pub fn have_bwrap() -> bool {
    std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
