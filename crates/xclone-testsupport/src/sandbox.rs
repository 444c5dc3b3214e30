//! Sandbox command lines shared by the CLI's tests (and the spawn benchmark): bubblewrap's
//! options, which `xclone run` takes too.

/// The top-level links of a merged-/usr layout that may exist, each as `--symlink` takes it.
const USR_LINKS: [(&str, &str, &str); 6] = [
    ("/bin", "usr/bin", "bin"),
    ("/sbin", "usr/sbin", "sbin"),
    ("/lib", "usr/lib", "lib"),
    ("/lib32", "usr/lib32", "lib32"),
    ("/lib64", "usr/lib64", "lib64"),
    ("/libx32", "usr/libx32", "libx32"),
];

/// This machine's merged-/usr layout as sandbox options: `/usr` read-only, and each of `/bin`,
/// `/sbin`, `/lib`, `/lib32`, `/lib64`, `/libx32` that is a link into `/usr` here linked the
/// same way inside (Debian amd64 has `/lib64 -> usr/lib64`, arm64 and riscv64 have none;
/// `/lib` is needed wherever the dynamic loader's path goes through it).
pub fn merged_usr() -> Vec<&'static str> {
    let mut v = vec!["--ro-bind", "/usr", "/usr"];
    for (path, target, name) in USR_LINKS {
        let into_usr = std::fs::read_link(path).is_ok_and(|t| {
            t == std::path::Path::new(target) || t == std::path::Path::new("/usr").join(name)
        });
        if into_usr {
            v.extend(["--symlink", target, path]);
        }
    }
    v
}

/// Whether bubblewrap (`bwrap`) can be run.
pub fn have_bwrap() -> bool {
    std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
