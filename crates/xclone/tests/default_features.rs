//! A crate depending on xclone with default features compiles code written for std's
//! `Command` (`assert_eq!(v, Vec::new())` on a `Vec<u8>`), which serde_json in the dependency
//! graph breaks: the fixture under `tests/fixtures/default_features` is checked with cargo,
//! offline, as a separate workspace; with xclone's `serde` feature the same code must fail,
//! which shows that the check sees the dependency graph.

use std::path::{Path, PathBuf};

use std::process::Command;

/// Where the fixture is checked: a copy under the target directory (so no lock file or build
/// output lands in the source tree), its path dependency made absolute.
fn work_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = manifest.join("../../target/fixture-default-features");
    let src = manifest.join("tests/fixtures/default_features");
    std::fs::create_dir_all(work.join("crate/src")).unwrap();
    let toml = std::fs::read_to_string(src.join("Cargo.toml"))
        .unwrap()
        .replace(
            "path = \"../../..\"",
            &format!("path = {:?}", manifest.display().to_string()),
        );
    std::fs::write(work.join("crate/Cargo.toml"), toml).unwrap();
    std::fs::copy(src.join("src/main.rs"), work.join("crate/src/main.rs")).unwrap();
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
    let work = work_dir();
    let (ok, err) = check(&work, &[]);
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
