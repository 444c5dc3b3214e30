//! The two programs every spawn row executes, built with gcc at bench start-up.
//!
//! `true-static` is what a small real program costs (static glibc start-up included);
//! `exit0-nolibc` is a bare `_start` that calls exit(0), so that exec and start-up overhead
//! is as small as the kernel allows and the spawn mechanism's own cost shows.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TRUE_C: &str = "int main(void) { return 0; }\n";

const EXIT0_C: &str = "\
/* No libc, no stack use: the smallest process the kernel can exec. */
__asm__(\".globl _start\\n\"
        \"_start:\\n\"
        \"  mov $60, %eax\\n\"
        \"  xor %edi, %edi\\n\"
        \"  syscall\\n\");
";

const PAUSE_C: &str = "\
/* No libc: waits for signals until one kills it (pause(2) in a loop). */
__asm__(\".globl _start\\n\"
        \"_start:\\n\"
        \"  mov $34, %eax\\n\"
        \"  syscall\\n\"
        \"  jmp _start\\n\");
";

/// One executable the rows run.
#[derive(Clone, Debug)]
pub struct Target {
    /// Short name used in tables (`exit0-nolibc`).
    pub name: &'static str,
    pub path: PathBuf,
    pub size: u64,
}

/// Where the bench keeps what it builds: beside the bench executable's profile directory
/// (`target/release/bench-targets`), so it follows `CARGO_TARGET_DIR`.
pub fn out_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/release/deps/spawn-HASH → target/release
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("bench executable lives in <target>/<profile>/deps");
    profile.join("bench-targets")
}

fn build(dir: &Path, name: &'static str, source: &str, flags: &[&str]) -> Result<Target, String> {
    let t = compile(dir, name, source, flags)?;
    // A target that does not exit 0 would make every row measure a failure path.
    let st = Command::new(&t.path)
        .status()
        .map_err(|e| format!("running {}: {e}", t.path.display()))?;
    if !st.success() {
        return Err(format!("{} exited with {st}", t.path.display()));
    }
    Ok(t)
}

fn compile(dir: &Path, name: &'static str, source: &str, flags: &[&str]) -> Result<Target, String> {
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    let fresh = fs::read_to_string(&src)
        .map(|s| s == source)
        .unwrap_or(false)
        && exe.exists();
    if !fresh {
        fs::write(&src, source).map_err(|e| format!("writing {}: {e}", src.display()))?;
        let out = Command::new("gcc")
            .args(flags)
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .output()
            .map_err(|e| {
                format!("cannot run gcc ({e}); the bench needs gcc and static glibc (Debian: apt-get install gcc libc6-dev)")
            })?;
        if !out.status.success() {
            return Err(format!(
                "gcc {} failed for {name} (static glibc libc.a comes with libc6-dev on Debian):\n{}",
                flags.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let size = fs::metadata(&exe).map_err(|e| e.to_string())?.len();
    Ok(Target {
        name,
        path: exe,
        size,
    })
}

/// Builds (when missing or stale) and checks both targets.
pub fn build_all() -> Result<Vec<Target>, String> {
    let dir = out_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(vec![
        build(
            &dir,
            "exit0-nolibc",
            EXIT0_C,
            &["-nostdlib", "-static", "-O2", "-Wl,--build-id=none"],
        )?,
        build(&dir, "true-static", TRUE_C, &["-static", "-O2"])?,
    ])
}

/// `pause-nolibc`: a bare `_start` that waits in pause(2) until a signal kills it, what the
/// processes of the restore rows run, so that the restorer's own cost shows (built like
/// `exit0-nolibc`; not run here, it would not end).
pub fn build_pause() -> Result<Target, String> {
    let dir = out_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    compile(
        &dir,
        "pause-nolibc",
        PAUSE_C,
        &["-nostdlib", "-static", "-O2", "-Wl,--build-id=none"],
    )
}
