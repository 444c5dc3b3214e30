//! A test that runs its body again in a child of another kind (another user, new
//! namespaces): the outer run starts this test binary again with only that test selected,
//! the inner run does the work and marks it done.

use crate::probe::probe_program;
use xclone::Command;

/// Runs the named test of this test binary again in a child made by `setup` (as another
/// user, in new namespaces…), with `XCLONE_INNER=<name>` set (and `XCLONE_PROBE`, the
/// probe program, when it could be built); the inner run does the work. Returns the inner
/// run's output.
pub fn run_inner(name: &str, setup: impl FnOnce(&mut Command)) -> xclone::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(&exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("XCLONE_INNER", name);
    if let Some(p) = probe_program() {
        cmd.env("XCLONE_PROBE", p);
    }
    setup(&mut cmd);
    cmd.output().expect("spawn the inner test run")
}

/// Whether this is the inner run of test `name`. Check it before any skip condition: the
/// inner run's own conditions differ (another uid, other namespaces).
pub fn is_inner(name: &str) -> bool {
    std::env::var("XCLONE_INNER").is_ok_and(|v| v == name)
}

/// Marks the inner run as complete (the outer run checks for the mark, so an inner run
/// that returned early does not pass for one that did the work).
pub fn inner_done(name: &str) {
    println!("xclone-inner-done {name}");
}

/// Asserts that the inner run of test `name` did its work and passed.
pub fn assert_inner_passed(name: &str, out: &xclone::Output) {
    let so = String::from_utf8_lossy(&out.stdout);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && so.contains("1 passed")
            && so.contains(&format!("xclone-inner-done {name}")),
        "inner run failed: {:?}\nstdout:\n{so}\nstderr:\n{se}",
        out.status
    );
}
