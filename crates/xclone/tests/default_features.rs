//! A crate depending on xclone with default features compiles code written for std's
//! `Command` (`assert_eq!(v, Vec::new())` on a `Vec<u8>`), which serde_json in the dependency
//! graph breaks: the fixture under `tests/fixtures/default_features` is checked with cargo,
//! offline, as a separate workspace; with xclone's `serde` feature the same code must fail,
//! which shows that the check sees the dependency graph.

use std::path::{Path, PathBuf};

use std::process::Command;

/// Where the fixture is checked: a copy under the target directory (so no lock file or build
/// output lands in the source tree), or under the temporary directory where the work tree is
/// read-only (the kernel matrix's guests see the host's files read-only), its path dependency
/// made absolute.
fn work_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = manifest.join("tests/fixtures/default_features");
    let copy = |work: &Path| -> std::io::Result<()> {
        std::fs::create_dir_all(work.join("crate/src"))?;
        let toml = std::fs::read_to_string(src.join("Cargo.toml"))?.replace(
            "path = \"../../..\"",
            &format!("path = {:?}", manifest.display().to_string()),
        );
        std::fs::write(work.join("crate/Cargo.toml"), toml)?;
        std::fs::copy(src.join("src/main.rs"), work.join("crate/src/main.rs"))?;
        Ok(())
    };
    let work = manifest.join("../../target/fixture-default-features");
    if copy(&work).is_ok() {
        return work;
    }
    let work = std::env::temp_dir().join(format!(
        "xclone-fixture-default-features-{}",
        std::process::id()
    ));
    copy(&work).unwrap();
    work
}

/// `cargo check` of the fixture with `extra` arguments: success, and what cargo printed.
fn check(work: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO"))
        .arg("check")
        .arg("--offline")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(work.join("crate/Cargo.toml"))
        .args(extra)
        .env("CARGO_TARGET_DIR", work.join("target"))
        // The rustc beside that cargo, where PATH does not lead to it (the kernel matrix's
        // guests run the suite with a system PATH).
        .envs(
            Path::new(env!("CARGO"))
                .with_file_name("rustc")
                .exists()
                .then(|| ("RUSTC", Path::new(env!("CARGO")).with_file_name("rustc"))),
        )
        .output()
        .expect("running cargo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn default_features_keep_std_code_compiling() {
    // The cargo that built this test; absent where the test binary was built elsewhere and
    // copied (ci/cross.sh runs the cross-built tests on a machine without a toolchain).
    if !Path::new(env!("CARGO")).exists() {
        eprintln!(
            "skipped: no cargo at {} (the test binary was built on another machine)",
            env!("CARGO")
        );
        return;
    }
    // The kernel matrix's guests (ci/kernels.sh) boot with `xclone.script=` on the command
    // line: there two cold `cargo check`s of the dependency graph under TCG outlast the
    // guest's limit per executable, and what they check does not depend on the kernel.
    if std::fs::read_to_string("/proc/cmdline").is_ok_and(|c| c.contains("xclone.script=")) {
        eprintln!(
            "skipped: in the kernel matrix's emulated guest: a compile-time check of the \
             dependency graph, the same on every kernel (it runs on the host)"
        );
        return;
    }
    let work = work_dir();
    let (ok, err) = check(&work, &[]);
    // Cargo itself needs to write its home's package-cache lock.
    if !ok && err.contains("Read-only file system") {
        eprintln!("skipped: cargo cannot work here (its home is read-only): {err}");
        return;
    }
    assert!(
        ok,
        "the fixture does not compile with default features:\n{err}"
    );
    let (ok, err) = check(&work, &["--features", "xclone/serde"]);
    assert!(
        !ok,
        "with serde_json in the graph the fixture should not compile"
    );
    assert!(err.contains("type annotations needed"), "{err}");
}
