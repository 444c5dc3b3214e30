//! The async API (`xclone::tokio`, feature `tokio`): streams, waiting, output, kill on drop
//! and many children awaited at once, each checked against what the child really did.
#![cfg(feature = "tokio")]

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xclone::tokio::{Child, Command};
use xclone::Stdio;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

#[test]
fn piped_stdout_is_async_read_and_wait_gives_the_status() {
    rt().block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo hello; exit 7"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let pid = child.id().expect("a running child has a PID");
        let mut text = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .await
            .unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(text, "hello\n");
        assert_eq!(status.code(), Some(7));
        assert!(pid > 0);
        assert_eq!(
            child.id(),
            None,
            "no PID once reaped (it may name another process)"
        );
        // Waiting again returns the same status.
        assert_eq!(child.wait().await.unwrap().code(), Some(7));
    });
}

#[test]
fn stdin_is_async_write_and_cat_echoes_it() {
    rt().block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"through the pipe\n").await.unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"through the pipe\n");
        assert!(out.stderr.is_empty());
    });
}

#[test]
fn output_captures_both_streams_and_gives_a_null_stdin() {
    rt().block_on(async {
        // cat reads the null stdin (end of file at once), so it finishes with nothing.
        let out = Command::new("sh")
            .args(["-c", "cat; echo out; echo err >&2; exit 3"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    });
}

#[test]
fn output_reads_streams_larger_than_a_pipe_concurrently() {
    rt().block_on(async {
        // 1 MiB on each stream: reading one to its end before the other would deadlock.
        let script = "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2";
        let out = Command::new("sh")
            .args(["-c", script])
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!((out.stdout.len(), out.stderr.len()), (1 << 20, 1 << 20));
    });
}

#[test]
fn status_inherits_and_runs_to_the_end() {
    rt().block_on(async {
        let st = Command::new("sh")
            .args(["-c", "exit 5"])
            .status()
            .await
            .unwrap();
        assert_eq!(st.code(), Some(5));
    });
}

#[test]
fn the_command_is_reusable_after_output() {
    rt().block_on(async {
        let mut cmd = Command::new("echo");
        cmd.arg("again");
        let first = cmd.output().await.unwrap();
        assert_eq!(first.stdout, b"again\n");
        // spawn() after output(): stdout is inherited again, not piped.
        let mut child = cmd.stdout(Stdio::null()).spawn().unwrap();
        assert!(child.stdout.is_none());
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    rt().block_on(async {
        let child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let watch = child.pidfd().try_clone().unwrap();
        assert!(watch.send_signal(0).is_ok(), "the child runs");
        drop(child);
        // Killed and reaped: the process is gone, so signalling it fails with ESRCH.
        let err = watch.send_signal(0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    });
}

#[test]
fn without_kill_on_drop_the_child_lives_on() {
    rt().block_on(async {
        let child = Command::new("sleep").arg("1000").spawn().unwrap();
        let watch = child.pidfd().try_clone().unwrap();
        drop(child);
        assert!(
            watch.send_signal(0).is_ok(),
            "dropping the handle left it running"
        );
        watch.send_signal(libc::SIGKILL).unwrap();
        assert_eq!(watch.wait().unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn kill_and_start_kill() {
    rt().block_on(async {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.kill().await.unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
        // Killing a reaped child is not an error, as with std and tokio.
        child.start_kill().unwrap();
    });
}

#[test]
fn wait_is_cancel_safe() {
    rt().block_on(async {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let mut child = Command::new("sh")
            .args(["-c", "read line; exit 9"])
            .stdin(Stdio::from(r))
            .spawn()
            .unwrap();
        // The child waits for a line: a bounded wait gives up, and the child is untouched.
        let gave_up = tokio::time::timeout(Duration::from_millis(20), child.wait()).await;
        assert!(gave_up.is_err());
        assert_eq!(child.try_wait().unwrap(), None);
        std::io::Write::write_all(&mut std::fs::File::from(w), b"go\n").unwrap();
        assert_eq!(child.wait().await.unwrap().code(), Some(9));
    });
}

#[test]
fn a_child_can_be_destructured() {
    rt().block_on(async {
        let child = Command::new("echo")
            .arg("parts")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // No Drop on Child itself: its fields move out, as with tokio::process::Child.
        let Child { stdout, .. } = child;
        let mut text = String::new();
        stdout.unwrap().read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "parts\n");
    });
}

#[test]
fn hundreds_of_children_awaited_at_once_on_one_thread() {
    rt().block_on(async {
        let mut children = Vec::new();
        for i in 0..300 {
            let child = Command::new("sh")
                .args(["-c", &format!("exit {}", i % 50)])
                .spawn()
                .unwrap();
            children.push((i, child));
        }
        // Tasks on the one runtime thread: the reactor watches all the pidfds at once.
        let mut set = tokio::task::JoinSet::new();
        for (i, mut child) in children {
            set.spawn(async move { (i, child.wait().await.unwrap()) });
        }
        let mut seen = 0;
        while let Some(joined) = set.join_next().await {
            let (i, status) = joined.unwrap();
            assert_eq!(status.code(), Some(i % 50));
            seen += 1;
        }
        assert_eq!(seen, 300);
    });
}

#[test]
fn options_of_the_wrapped_command_apply() {
    rt().block_on(async {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo $XCLONE_ASYNC_TEST; pwd"])
            .env_clear()
            .env("XCLONE_ASYNC_TEST", "set")
            .current_dir("/");
        cmd.as_xclone_mut().env("PATH", "/usr/bin:/bin");
        let out = cmd.output().await.unwrap();
        assert_eq!(out.stdout, b"set\n/\n");
    });
}

/// Under a sandbox's init (`Sandbox::init`) the async wait gives the program's status, not
/// the init's: a program killed by SIGTERM is reported as such (the init itself exits 143).
#[test]
fn wait_under_a_sandbox_init_gives_the_programs_status() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root (new pid and mount namespaces)");
        return;
    }
    rt().block_on(async {
        let mut sandbox = xclone::isolate::sandbox::Sandbox::default();
        sandbox.init = true;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo $$; kill -TERM $$"])
            .stdout(Stdio::piped());
        cmd.as_xclone_mut()
            .flags(xclone::CloneFlags::NEWPID | xclone::CloneFlags::NEWNS)
            .sandbox(sandbox);
        let out = cmd.output().await.unwrap();
        assert_eq!(out.stdout, b"2\n");
        assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    });
}
