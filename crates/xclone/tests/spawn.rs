//! Spawning real programs with `xclone::Command`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;
use xclone::{CloneFlags, Command, SpawnError, Stdio, Step};
use xclone_testsupport::{is_root, pipe, sh, status_field, stdout_of};

/// Writes an executable file without this process ever holding a writable descriptor of it:
/// other tests fork concurrently, and a child that inherited such a descriptor (until its exec
/// closes it) makes executing the file fail with ETXTBSY.
fn write_executable(path: &std::path::Path, content: &str) {
    let st = std::process::Command::new("sh")
        .args([
            "-c",
            "printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"",
            "sh",
            content,
        ])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xclone-spawn-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn output_args_and_arg0() {
    assert_eq!(
        stdout_of(Command::new("echo").args(["hello", "two words"])),
        "hello two words\n"
    );
    let got = stdout_of(sh("echo \"$0|$1|$2\"").arg("a b").arg("").arg0("ignored"));
    // sh -c: $0 is the first argument after the script.
    assert_eq!(got, "a b||\n");
    let got = stdout_of(
        Command::new("sh")
            .args(["-c", "cat /proc/$$/cmdline | tr '\\0' ' '"])
            .arg0("renamed"),
    );
    assert!(got.starts_with("renamed -c "), "{got:?}");
}

#[test]
fn environment_set_remove_clear() {
    let got = stdout_of(
        Command::new("/usr/bin/env")
            .env_clear()
            .env("A", "1")
            .env("B", "x=y"),
    );
    assert_eq!(got, "A=1\nB=x=y\n");
    std::env::var_os("PATH").expect("PATH set in tests");
    let got = stdout_of(
        Command::new("/usr/bin/env")
            .env_remove("PATH")
            .env("XCLONE_T", "v"),
    );
    assert!(!got.lines().any(|l| l.starts_with("PATH=")), "{got}");
    assert!(got.lines().any(|l| l == "XCLONE_T=v"), "{got}");
    // Unchanged environment: the child sees exactly the parent's, in its order (the fast
    // path copies `environ` instead of going through a map), through the spawn and the
    // run-to-end paths alike.
    let expected: String = std::env::vars()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    assert_eq!(stdout_of(&mut Command::new("/usr/bin/env")), expected);
    let out = Command::new("/usr/bin/env")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    // And the parent's PATH is searched: `env` found by name.
    let out = Command::new("env").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn path_search_uses_the_childs_path() {
    let dir = tempdir("path");
    let prog = dir.join("xclone-test-prog");
    write_executable(&prog, "#!/bin/sh\necho found-in-child-path\n");
    let path = format!("/nonexistent:{}", dir.display());
    assert_eq!(
        stdout_of(Command::new("xclone-test-prog").env("PATH", &path)),
        "found-in-child-path\n"
    );
    // An earlier non-executable candidate is skipped, as execvp does.
    let dir2 = tempdir("path2");
    std::fs::write(dir2.join("xclone-test-prog"), "not executable").unwrap();
    let path = format!("{}:{}", dir2.display(), dir.display());
    assert_eq!(
        stdout_of(Command::new("xclone-test-prog").env("PATH", &path)),
        "found-in-child-path\n"
    );
    // Only the non-executable one: EACCES wins over ENOENT.
    let path = format!("/nonexistent:{}", dir2.display());
    let e = Command::new("xclone-test-prog")
        .env("PATH", &path)
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    assert_eq!(
        e.to_string(),
        format!(
            "execve {}/xclone-test-prog: Permission denied",
            dir2.display()
        )
    );
}

#[test]
fn current_dir_and_bad_current_dir() {
    assert_eq!(stdout_of(Command::new("pwd").current_dir("/usr")), "/usr\n");
    let e = Command::new("pwd")
        .current_dir("/nope")
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(e.to_string(), "chdir /nope: No such file or directory");
    let se = SpawnError::from_io(&e).unwrap();
    assert_eq!(se.step(), Step::Chdir);
    assert_eq!(se.errno(), xclone::Errno::ENOENT);
}

#[test]
fn missing_and_not_executable_programs() {
    // A PATH of readable directories only: an inaccessible entry would make it EACCES, as
    // with execvp.
    let e = Command::new("xclone-no-such-program")
        .env("PATH", "/usr/bin:/bin")
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "execve xclone-no-such-program (searched PATH): No such file or directory"
    );
    assert!(SpawnError::from_io(&e).unwrap().is_not_found());
    let e = Command::new("/no/such/x").spawn().unwrap_err();
    assert_eq!(
        e.to_string(),
        "execve /no/such/x: No such file or directory"
    );

    let dir = tempdir("noexec");
    std::fs::write(dir.join("x"), "#!/bin/sh\n").unwrap();
    let e = Command::new("./x").current_dir(&dir).spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    assert_eq!(e.to_string(), "execve ./x: Permission denied");
    // A directory.
    let e = Command::new("/").spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    // Interior NUL: refused before anything runs, as std.
    let e = Command::new("echo").arg("a\0b").spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn failed_spawn_leaves_no_zombie_and_no_fd() {
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    // Other tests run concurrently and open descriptors, so look only at our own children.
    let before = count();
    for _ in 0..20 {
        let _ = Command::new("/no/such/x")
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_err();
    }
    let after = count();
    assert!(
        after <= before + 8,
        "descriptors grew from {before} to {after}"
    );
}

#[test]
fn stdio_pipes_files_and_null() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through cat")
        .unwrap();
    let mut s = String::new();
    child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "through cat");
    assert!(child.wait().unwrap().success());

    let dir = tempdir("stdio");
    let path = dir.join("out");
    let f = std::fs::File::create(&path).unwrap();
    let st = sh("echo to-file; echo err >&2")
        .stdout(f)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "to-file\n");

    // output(): stdin is /dev/null.
    let out = Command::new("cat").output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());

    // A child's stdout feeding another child.
    let mut a = Command::new("echo")
        .arg("piped along")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(a.stdout.take().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"PIPED ALONG\n");
    a.wait().unwrap();
}

#[test]
fn wait_with_output_reads_both_streams_without_deadlock() {
    let out = sh(
        "head -c 300000 /dev/zero; head -c 400000 /dev/zero >&2; head -c 300000 /dev/zero; exit 4",
    )
    .output()
    .unwrap();
    assert_eq!(out.stdout.len(), 600_000);
    assert_eq!(out.stderr.len(), 400_000);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn exit_codes_and_signals() {
    assert_eq!(sh("exit 42").status().unwrap().code(), Some(42));
    assert!(Command::new("true").status().unwrap().success());
    let st = sh("kill -TERM $$").status().unwrap();
    assert_eq!((st.code(), st.signal()), (None, Some(libc::SIGTERM)));
    let mut c = Command::new("sleep").arg("1000").spawn().unwrap();
    assert_eq!(c.try_wait().unwrap(), None);
    assert_eq!(c.wait_timeout(Duration::from_millis(1)).unwrap(), None);
    c.signal(libc::SIGUSR1).unwrap();
    assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGUSR1));
    // Killing an exited child is fine, as with std.
    c.kill().unwrap();
    let mut c = Command::new("sleep").arg("1000").spawn().unwrap();
    c.kill().unwrap();
    let st = c.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    assert_eq!(c.wait().unwrap(), st, "status is remembered");
    let std_st: std::process::ExitStatus = st.into();
    assert!(!std_st.success());
}

fn read_all(fd: OwnedFd) -> String {
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).unwrap();
    s
}

/// Descriptors of this process without close-on-exec (inherited from whoever started the
/// test, e.g. a jobserver): a child legitimately inherits those, as with std.
fn inheritable_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            let fd: i32 = n.parse().unwrap();
            // SAFETY: F_GETFD on a number only reads the descriptor's flags.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect()
}

#[test]
fn fd_map_puts_descriptors_at_chosen_numbers() {
    let (r, w) = pipe();
    let st = sh("echo on-five >&5; exec ls /proc/self/fd >&5")
        .fd_map(w, 5)
        .status()
        .unwrap();
    assert!(st.success());
    let got = read_all(r);
    assert!(got.starts_with("on-five\n"), "{got}");
    let inherited = inheritable_fds();
    let extra: Vec<&str> = got
        .lines()
        .skip(1)
        .filter(|f| !["0", "1", "2", "5"].contains(f) && !inherited.iter().any(|i| i == f))
        .collect();
    assert!(got.lines().any(|l| l == "5"));
    // At most the descriptor `ls` opens for /proc/self/fd: nothing of ours leaked.
    assert!(
        extra.len() <= 1,
        "unexpected descriptors in the child: {extra:?}"
    );
}

#[test]
fn fd_map_handles_swapped_numbers() {
    let (r1, w1) = pipe();
    let (r2, w2) = pipe();
    let (n1, n2) = (w1.as_raw_fd(), w2.as_raw_fd());
    // w1 goes to w2's number and w2 to w1's: needs the shuffle.
    // Through /proc/self/fd: dash's `>&N` takes single digits only, and under parallel tests
    // the numbers are often larger.
    let script = format!("echo one >/proc/self/fd/{n2}; echo two >/proc/self/fd/{n1}");
    let st = sh(&script).fd_map(w1, n2).fd_map(w2, n1).status().unwrap();
    assert!(st.success());
    assert_eq!(read_all(r1), "one\n");
    assert_eq!(read_all(r2), "two\n");
}

#[test]
fn fd_map_conflicts_are_refused() {
    let (_r, w) = pipe();
    let e = Command::new("true")
        .stdout(Stdio::null())
        .fd_map(w, 1)
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn pre_exec_runs_in_the_child_before_exec() {
    let (r, w) = pipe();
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new("true");
    // SAFETY: the hook only calls write(2) and getpid(2), both async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let pid = libc::getpid();
            let bytes = pid.to_ne_bytes();
            libc::write(wfd, bytes.as_ptr().cast(), bytes.len());
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(w);
    let mut buf = [0u8; 4];
    std::fs::File::from(r).read_exact(&mut buf).unwrap();
    assert_eq!(
        i32::from_ne_bytes(buf) as u32,
        child.id(),
        "the hook ran in the child"
    );
    assert!(child.wait().unwrap().success());
    drop(cmd);

    let mut cmd = Command::new("true");
    // SAFETY: the hook does nothing but return an error code.
    unsafe {
        cmd.pre_exec(|| Ok(()));
        cmd.pre_exec(|| Err(std::io::Error::from_raw_os_error(libc::EPERM)));
    }
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    assert_eq!(e.to_string(), "pre_exec hook #1: Operation not permitted");
}

#[test]
fn signal_state_is_reset() {
    // Block SIGUSR1 in a fresh thread and spawn from there: the child's mask is empty anyway.
    std::thread::spawn(|| {
        xclone::raw::signal::block(&xclone::raw::signal::SigSet::from_signals([libc::SIGUSR1]))
            .unwrap();
        let out =
            stdout_of(Command::new("grep").args(["-E", "^Sig(Blk|Ign)", "/proc/self/status"]));
        assert!(out.contains("SigBlk:\t0000000000000000"), "{out}");
        // The test harness ignores SIGPIPE (Rust's runtime does); the child must not.
        let ign = out
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:\t"))
            .unwrap();
        let ign = u64::from_str_radix(ign, 16).unwrap();
        assert_eq!(ign & (1 << (libc::SIGPIPE - 1)), 0, "{out}");
        let mut c = Command::new("sleep");
        c.arg("1000").signal_mask([libc::SIGUSR2, libc::SIGHUP]);
        let mut child = c.spawn().unwrap();
        let blk = status_field(child.id(), "SigBlk:");
        child.kill().unwrap();
        child.wait().unwrap();
        let want = (1u64 << (libc::SIGUSR2 - 1)) | (1u64 << (libc::SIGHUP - 1));
        assert_eq!(u64::from_str_radix(&blk, 16).unwrap(), want);
    })
    .join()
    .unwrap();
}

#[test]
fn process_group_and_session() {
    let stat = |pid: u32| -> Vec<String> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &s[s.rfind(')').unwrap() + 2..];
        after.split(' ').map(str::to_string).collect()
    };
    let mut c = Command::new("sleep")
        .arg("1000")
        .process_group(0)
        .spawn()
        .unwrap();
    let f = stat(c.id());
    assert_eq!(f[2], c.id().to_string(), "pgrp");
    c.kill().unwrap();
    c.wait().unwrap();
    let mut c = Command::new("sleep")
        .arg("1000")
        .setsid(true)
        .spawn()
        .unwrap();
    let f = stat(c.id());
    assert_eq!(f[3], c.id().to_string(), "session");
    c.kill().unwrap();
    c.wait().unwrap();
}

#[test]
fn uid_gid_groups() {
    if !is_root() {
        eprintln!("skipped: setuid/setgid need root");
        return;
    }
    let out = stdout_of(
        Command::new("id")
            .uid(65534)
            .gid(65534)
            .groups(&[65534, 100]),
    );
    assert!(out.starts_with("uid=65534"), "{out}");
    assert!(out.contains("gid=65534"), "{out}");
    assert!(
        out.contains("groups=65534") && out.contains("100("),
        "{out}"
    );
    // Root dropping to a uid without naming groups loses its groups (as std).
    let out = stdout_of(Command::new("id").arg("-G").uid(65534).gid(65534));
    assert_eq!(out.trim(), "65534");
    let e = Command::new("true")
        .uid(65534)
        .gid(65534)
        .current_dir("/root")
        .spawn();
    if let Err(e) = e {
        // chdir happens after the identity change, as in std.
        assert!(e.to_string().starts_with("chdir /root"), "{e}");
    }
}

#[test]
fn clone_flags_pass_through() {
    let out = stdout_of(
        Command::new("readlink")
            .arg("/proc/self/ns/uts")
            .flags(CloneFlags::empty()),
    );
    let ours = std::fs::read_link("/proc/self/ns/uts").unwrap();
    assert_eq!(out.trim(), ours.to_str().unwrap());
    if !is_root() {
        eprintln!("skipped: CLONE_NEWUTS needs CAP_SYS_ADMIN");
        return;
    }
    let out = stdout_of(
        Command::new("readlink")
            .arg("/proc/self/ns/uts")
            .flags(CloneFlags::NEWUTS),
    );
    assert_ne!(out.trim(), ours.to_str().unwrap());
}

#[test]
fn exit_signal_zero_is_still_waitable() {
    let st = sh("exit 9").exit_signal(0).status().unwrap();
    assert_eq!(st.code(), Some(9));
}

#[test]
fn forbidden_flags_are_refused() {
    for f in [
        CloneFlags::FILES,
        CloneFlags::SIGHAND,
        CloneFlags::THREAD,
        CloneFlags::SETTLS,
        CloneFlags::FS,
    ] {
        let e = Command::new("true").flags(f).spawn().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{f:?}");
    }
    // The kernel's own refusal comes back with its errno.
    let e = Command::new("true").exit_signal(65).spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), None);
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().starts_with("clone3: EINVAL"), "{e}");
}

#[test]
fn kill_on_drop() {
    let child = Command::new("sleep")
        .arg("1000")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pidfd = child.pidfd().try_clone().unwrap();
    drop(child);
    // Killed and reaped: the pidfd reports the exit, and the process is gone.
    assert!(pidfd.poll_exit(Some(Duration::from_secs(0))).unwrap());
    assert_eq!(pidfd.pid().unwrap(), None);
    // Without it, dropping does nothing.
    let child = Command::new("sleep").arg("1000").spawn().unwrap();
    let pidfd = child.into_pidfd();
    assert!(!pidfd.poll_exit(Some(Duration::ZERO)).unwrap());
    pidfd.send_signal(libc::SIGKILL).unwrap();
    assert_eq!(pidfd.wait().unwrap().signal(), Some(libc::SIGKILL));
}

/// Entry of the middle process of `die_with_parent_kills_the_grandchild` (runs only when
/// re-executed with XCLONE_TEST_MIDDLE set).
#[test]
fn middle_process_entry() {
    if std::env::var_os("XCLONE_TEST_MIDDLE").is_none() {
        return;
    }
    let child = Command::new("sleep")
        .arg("1000")
        .die_with_parent(Some(libc::SIGKILL))
        .spawn()
        .unwrap();
    println!("GRANDCHILD={}", child.id());
    std::io::stdout().flush().unwrap();
    // Wait until killed.
    let mut buf = [0u8; 1];
    let _ = std::io::stdin().read(&mut buf);
    std::process::exit(3);
}

#[test]
fn die_with_parent_kills_the_grandchild() {
    let mut middle = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "middle_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XCLONE_TEST_MIDDLE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(middle.stdout.take().unwrap()).lines();
    let pid: u32 = loop {
        let line = lines
            .next()
            .expect("middle printed its grandchild")
            .unwrap();
        if let Some(i) = line.find("GRANDCHILD=") {
            break line[i + "GRANDCHILD=".len()..].trim().parse().unwrap();
        }
    };
    let grandchild = xclone::PidFd::open(pid).unwrap();
    assert!(!grandchild.poll_exit(Some(Duration::ZERO)).unwrap());
    middle.kill().unwrap();
    assert_eq!(middle.wait().unwrap().signal(), Some(libc::SIGKILL));
    // The bound only turns a hang into a failure; the event itself ends the wait.
    assert!(
        grandchild.poll_exit(Some(Duration::from_secs(60))).unwrap(),
        "the grandchild outlived its parent"
    );
}

#[cfg(feature = "tokio")]
#[test]
fn async_wait_under_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut children: Vec<_> = (0..8)
            .map(|i| sh(&format!("exit {i}")).spawn().unwrap())
            .collect();
        let mut sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
        let waits = children.iter_mut().map(|c| c.wait_async());
        let statuses = futures_join_all(waits).await;
        for (i, s) in statuses.into_iter().enumerate() {
            assert_eq!(s.unwrap().code(), Some(i as i32));
        }
        sleeper.signal(libc::SIGTERM).unwrap();
        assert_eq!(
            sleeper.wait_async().await.unwrap().signal(),
            Some(libc::SIGTERM)
        );
    });
}

/// Awaits every future, in one task (no extra crates).
#[cfg(feature = "tokio")]
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await);
    }
    out
}

#[test]
fn set_tid_and_new_pid_namespace() {
    if !is_root() {
        eprintln!("skipped: set_tid and CLONE_NEWPID need CAP_SYS_ADMIN");
        return;
    }
    // PID 1 of a new pid namespace, with die-with-parent (getppid() is 0 in there).
    let out = stdout_of(
        sh("echo $$")
            .flags(CloneFlags::NEWPID)
            .set_tid(&[1])
            .die_with_parent(Some(libc::SIGKILL)),
    );
    assert_eq!(out, "1\n");
    // A chosen PID in our namespace: try free-looking ones near pid_max.
    let pid_max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for pid in (pid_max - 2000..pid_max - 1).rev().step_by(13) {
        match sh("echo $$").set_tid(&[pid]).output() {
            Ok(out) => {
                assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{pid}\n"));
                return;
            }
            Err(e) if e.to_string().contains("EEXIST") => continue,
            Err(e) => panic!("set_tid {pid}: {e}"),
        }
    }
    panic!("no free PID found near pid_max");
}
