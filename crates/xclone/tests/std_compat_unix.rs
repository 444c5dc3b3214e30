//! std's Unix process tests and the `tests/ui/process` and `tests/ui/command` programs that use
//! `Command`, as behaviours, run against `std::process::Command` and `xclone::Command` side by
//! side (see `std_compat_support`): `CommandExt` (`pre_exec`, `exec`, `arg0`, `uid`/`gid`,
//! `process_group`), the inherited signal mask, descriptors, environment and arguments.
//! Programs std's tests run as a second copy of themselves are shell commands here, or entries
//! of this binary (`entry!`) where the behaviour needs a process of its own.

mod std_compat_support;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std_compat_support::{run_entry, run_entry_with, script, tempdir};

// --- pre_exec: std's contract (a fork-like child) ---

both!(pre_exec_hook_panic_kills_only_the_child, {
    // std's test_command_fork_no_unwind: the panic does not unwind into the parent; the child
    // dies of a signal, and status() itself succeeds.
    let got = std::panic::catch_unwind(|| {
        let mut c = Command::new("echo");
        c.arg("hi").stdout(Stdio::null()).stderr(Stdio::null());
        // SAFETY: the hook panics, which std's contract allows (the child aborts).
        unsafe {
            c.pre_exec(|| panic!("{}", "crash now!"));
        }
        c.status().expect("failed to get command status")
    });
    let status = got.expect("panic unexpectedly propagated");
    let signal = status
        .signal()
        .expect("expected child process to die of signal");
    assert!([libc::SIGABRT, libc::SIGILL, libc::SIGTRAP, libc::SIGSEGV].contains(&signal));
    signal
});

both!(pre_exec_error_is_the_spawn_error, {
    // command-pre-exec: an error with an OS code fails the spawn with it.
    // SAFETY: the hook only builds an error value.
    let e = unsafe {
        Command::new("true")
            .pre_exec(|| Err(std::io::Error::from_raw_os_error(102)))
            .output()
            .unwrap_err()
    };
    assert_eq!(e.raw_os_error(), Some(102));
    // SAFETY: as above, without an OS code: EINVAL, as std.
    let e = unsafe {
        Command::new("true")
            .pre_exec(|| Err(std::io::Error::other("no code")))
            .status()
            .unwrap_err()
    };
    e.raw_os_error()
});

both!(pre_exec_runs_in_a_copy_of_memory, {
    // command-pre-exec: another pid, and what the hook writes is not seen by the parent.
    let parent = std::process::id();
    let mem = Arc::new(AtomicUsize::new(0));
    let mem2 = mem.clone();
    // SAFETY: getpid and an atomic add; asserting allocates, which the fork-like child may.
    let out = unsafe {
        Command::new("true")
            .pre_exec(move || {
                assert_ne!(libc::getpid() as u32, parent);
                assert_eq!(mem2.fetch_add(1, Ordering::SeqCst), 0);
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(out.status.success(), "{:?}", out);
    assert!(out.stderr.is_empty());
    assert_eq!(mem.load(Ordering::SeqCst), 0);
    // The hook may change the child's process state (its working directory): a directory
    // that is not the parent's (the kernel matrix runs the suite from `/`).
    let here = std::env::current_dir().unwrap();
    let there = if here == std::path::Path::new("/") {
        "/proc"
    } else {
        "/"
    };
    // SAFETY: set_current_dir allocates a C string: allowed in the fork-like child.
    let out = unsafe {
        Command::new("pwd")
            .pre_exec(move || std::env::set_current_dir(there))
            .output()
            .unwrap()
    };
    assert_eq!(out.stdout, format!("{there}\n").into_bytes());
    assert_eq!(std::env::current_dir().unwrap(), here);
    out.stdout
});

entry!(pre_exec_prints_entry, {
    // SAFETY: println! in the fork-like child, as std's command-pre-exec does.
    let out = unsafe {
        Command::new("echo")
            .arg("hello2")
            .pre_exec(|| {
                println!("hello");
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    println!("OUT={:?}", String::from_utf8_lossy(&out.stdout));
});

both!(pre_exec_hook_may_print, {
    let (code, out) = run_entry("pre_exec_prints_entry", SIDE, b"");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("OUT=\"hello\\nhello2\\n\""), "{out}");
    out
});

entry!(pre_exec_under_allocation_pressure_entry, {
    // process-panic-after-fork's concern: a hook that allocates while other threads allocate
    // (the C library's fork handlers keep the allocator usable in the child). What counts is
    // a spawn during which the other threads did allocate, so the loop ends after OVERLAPPED
    // of those (their count, not a time, bounds the work: under TCG a fork of this process
    // with two busy threads costs about a second, and the earlier fixed 100 spawns per side
    // ran past the 120 s bound), with at most MAX_SPAWNS tries.
    const OVERLAPPED: usize = 12;
    const MAX_SPAWNS: usize = 60;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let allocated = Arc::new(AtomicUsize::new(0));
    let churn: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let allocated = allocated.clone();
            std::thread::spawn(move || {
                let mut v: Vec<Vec<u8>> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    v.push(vec![1; 4096]);
                    allocated.fetch_add(1, Ordering::Relaxed);
                    if v.len() > 64 {
                        v.clear();
                    }
                }
            })
        })
        .collect();
    let mut overlapped = 0;
    let mut spawns = 0;
    while overlapped < OVERLAPPED && spawns < MAX_SPAWNS {
        let before = allocated.load(Ordering::Relaxed);
        // SAFETY: the hook allocates and formats, which std's contract allows in practice.
        let st = unsafe {
            Command::new("true")
                .pre_exec(move || {
                    let s = format!("spawn {spawns}");
                    let v: Vec<u8> = s.into_bytes();
                    if v.is_empty() {
                        return Err(std::io::Error::other("empty"));
                    }
                    Ok(())
                })
                .status()
                .unwrap()
        };
        assert!(st.success());
        spawns += 1;
        if allocated.load(Ordering::Relaxed) != before {
            overlapped += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in churn {
        t.join().unwrap();
    }
    assert_eq!(
        overlapped, OVERLAPPED,
        "only {overlapped} of {spawns} spawns ran while the other threads allocated"
    );
    println!("ALLOC=ok");
});

both!(pre_exec_hook_may_allocate_while_threads_allocate, {
    let (code, out) = run_entry("pre_exec_under_allocation_pressure_entry", SIDE, b"");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ALLOC=ok"), "{out}");
});

// --- exec (command-exec) ---

entry!(exec_entry, {
    let which = std::env::var("XCLONE_STD_COMPAT_EXEC").unwrap();
    match which.as_str() {
        "ok" => {
            let e = Command::new("echo").arg("passed").exec();
            panic!("failed to exec: {e}");
        }
        "missing" => {
            let e = Command::new("/path/to/nowhere").exec();
            println!("passed {:?} {:?}", e.kind(), e.raw_os_error());
        }
        "nul" => {
            let e = Command::new("echo").arg("bad\0").exec();
            println!("passed {:?}", e.kind());
        }
        "cwd" => {
            let e = Command::new("echo").current_dir("/path/to/nowhere").exec();
            println!("passed {:?} {:?}", e.kind(), e.raw_os_error());
        }
        "env-kept" => {
            std::env::set_var("VARIABLE", "ABC");
            let e = Command::new("definitely-not-a-real-binary")
                .env("VARIABLE", "XYZ")
                .exec();
            assert_eq!(std::env::var("VARIABLE").unwrap(), "ABC");
            println!("passed {:?}", e.kind());
        }
        "env-clear" => {
            let e = Command::new("echo").arg("passed").env_clear().exec();
            panic!("failed to exec: {e}");
        }
        "no-path" => {
            let e = Command::new("echo").arg("passed").env_remove("PATH").exec();
            panic!("failed to exec: {e}");
        }
        "hook" => {
            // SAFETY: write(2) of a static buffer.
            let e = unsafe {
                Command::new("echo")
                    .arg("passed")
                    .pre_exec(|| {
                        libc::write(1, b"hook ".as_ptr().cast(), 5);
                        Ok(())
                    })
                    .exec()
            };
            panic!("failed to exec: {e}");
        }
        other => panic!("unknown: {other}"),
    }
});

both!(exec_replaces_the_process_or_returns_the_error, {
    let mut seen = Vec::new();
    for which in [
        "ok",
        "missing",
        "nul",
        "cwd",
        "env-kept",
        "env-clear",
        "no-path",
        "hook",
    ] {
        let (code, out) = run_entry_with(
            "exec_entry",
            SIDE,
            b"",
            &[("XCLONE_STD_COMPAT_EXEC", which)],
        );
        assert_eq!(code, Some(0), "{which}: {out}");
        assert!(
            out.starts_with("passed") || out.starts_with("hook passed"),
            "{which}: {out}"
        );
        seen.push((which, out.lines().next().unwrap_or_default().to_string()));
    }
    seen
});

// --- other CommandExt methods ---

both!(arg0_is_argv0, {
    // command-argv0.
    let out = Command::new("sh")
        .arg0("i have a silly name")
        .args(["-c", "tr '\\0' '\\n' < /proc/$$/cmdline"])
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().next(), Some("i have a silly name"));
    text
});

both!(uid_gid_of_the_caller, {
    // command-uid-gid.
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut p = Command::new("/bin/sh")
        .arg("-c")
        .arg("true")
        .uid(uid)
        .gid(gid)
        .spawn()
        .unwrap();
    assert!(p.wait().unwrap().success());
    if uid != 0 {
        let e = Command::new("/bin/ls").uid(0).gid(0).spawn().unwrap_err();
        Some((e.kind(), e.raw_os_error()))
    } else {
        None
    }
});

both!(process_group_with_and_without_hook, {
    // test_process_group_posix_spawn / _no_posix_spawn. `cat` must die of the SIGINT, which
    // the harness may have started us with ignored.
    xclone_testsupport::default_disposition(libc::SIGINT);
    for hook in [false, true] {
        let mut cmd = Command::new("cat");
        cmd.process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if hook {
            // SAFETY: the hook does nothing.
            unsafe {
                cmd.pre_exec(|| Ok(()));
            }
        }
        let mut cat = cmd.spawn().unwrap();
        let pid = cat.id() as libc::pid_t;
        // SAFETY: getpgid and kill take plain integers.
        unsafe {
            assert_eq!(libc::getpgid(pid), pid, "hook={hook}");
            assert_eq!(libc::kill(-pid, libc::SIGINT), 0);
        }
        let st = cat.wait().unwrap();
        assert_eq!(st.signal(), Some(libc::SIGINT));
    }
});

both!(signal_mask_is_inherited, {
    // test_process_mask: SIGINT blocked in the spawning thread stays blocked in the child,
    // so a SIGINT sent to `cat` stays pending while it copies its input.
    std::thread::spawn(|| {
        let mut seen = Vec::new();
        for hook in [false, true] {
            let old = xclone::raw::signal::block(&xclone::raw::signal::SigSet::from_signals([
                libc::SIGINT,
            ]))
            .unwrap();
            let mut cmd = Command::new("cat");
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
            if hook {
                // SAFETY: the hook does nothing.
                unsafe {
                    cmd.pre_exec(|| Ok(()));
                }
            }
            let mut cat = cmd.spawn().unwrap();
            xclone::raw::signal::set_mask(&old).unwrap();
            // SAFETY: kill takes plain integers.
            assert_eq!(
                unsafe { libc::kill(cat.id() as libc::pid_t, libc::SIGINT) },
                0
            );
            let mut stdin = cat.stdin.take().unwrap();
            stdin.write_all(b"Hello").unwrap();
            drop(stdin);
            let mut buf = [0u8; 5];
            cat.stdout.as_mut().unwrap().read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"Hello");
            let st = cat.wait().unwrap();
            seen.push(st.to_string());
        }
        seen
    })
    .join()
    .unwrap()
});

// --- tests/ui/process programs ---

both!(core_run_destroy, {
    let mut p = Command::new("sleep").arg("1000").spawn().unwrap();
    p.kill().unwrap();
    let _ = p.kill();
    p.wait().unwrap();
    let mut p = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    p.kill().unwrap();
    let code = p.wait().unwrap().code();
    assert!(code.is_none());
});

both!(try_wait, {
    let mut me = Command::new("sleep").arg("1000").spawn().unwrap();
    assert!(me.try_wait().unwrap().is_none());
    assert!(me.try_wait().unwrap().is_none());
    me.kill().unwrap();
    me.wait().unwrap();
    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());
    let again = me.try_wait().unwrap().unwrap();
    assert!(!again.success());
    // A quick child: wait, then try_wait gives the same status.
    let mut me = Command::new("true").spawn().unwrap();
    let st = me.wait().unwrap();
    assert!(st.success());
    assert!(me.try_wait().unwrap().unwrap().success());
    (status.to_string(), again.to_string())
});

both!(process_sigpipe_is_default_in_the_child, {
    // process-sigpipe: std ignores SIGPIPE, the child must not (`yes | head` ends). Bounded by
    // `timeout` in case the loop never sees the broken pipe.
    let out = Command::new("timeout")
        .args(["60", "sh", "-c", "while echo y ; do : ; done | head"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    out.stdout
});

both!(signal_exit_status, {
    let st = Command::new("sh")
        .args(["-c", "kill -ABRT $$"])
        .status()
        .unwrap();
    assert!(st.code().is_none());
    let st = Command::new("sh").args(["-c", "exit 42"]).status().unwrap();
    assert_eq!(st.code(), Some(42));
});

both!(children_with_piped_streams_left_unread, {
    // issue-14456: all three piped, the parent only waits; stdin reads end of file.
    let mut p = Command::new("sh")
        .args(["-c", "echo foo; echo bar >&2; read x; [ -z \"$x\" ]"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(p.wait().unwrap().success());
});

both!(empty_and_non_utf8_arguments, {
    // issue-16272 (an empty argument is passed) and issue-20091 (a non-UTF-8 one).
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new("sh")
        .args(["-c", "echo $#; printf %s \"$2\"", "sh", "foo", ""])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"2\n");
    let out = Command::new("printf")
        .arg("%s")
        .arg(std::ffi::OsStr::from_bytes(b"\xff"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"\xff");
    out.stdout
});

both!(unicode_program_arguments_environment_and_directory, {
    // process-spawn-with-unicode-params.
    let dir = tempdir("ünïcödé");
    let sub = dir.join("директория");
    std::fs::create_dir(&sub).unwrap();
    let prog = script(&dir, "прог", "pwd; echo \"$1\"");
    let out = Command::new(&prog)
        .arg("аргумент ü")
        .current_dir(&sub)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    let mut text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, format!("{}\nаргумент ü\n", sub.display()));
    // (Not through sh, which drops variables whose names are not shell identifiers.)
    let env = Command::new("env").env("ÜNI", "значение").output().unwrap();
    let env = String::from_utf8(env.stdout).unwrap();
    assert!(env.lines().any(|l| l == "ÜNI=значение"), "{env}");
    text.push_str("ÜNI=значение\n");
    std::fs::remove_dir_all(&dir).unwrap();
    text.lines().skip(1).map(str::to_string).collect::<Vec<_>>()
});

both!(program_found_through_the_childs_path, {
    // process_spawning.rs (issue 15149): a program found in the PATH given to the child.
    let dir = tempdir("path");
    script(&dir, "mytest-xclone-std-compat", "echo found");
    let mut paths: Vec<_> = std::env::split_paths(&std::env::var_os("PATH").unwrap()).collect();
    paths.push(dir.clone());
    let path = std::env::join_paths(paths).unwrap();
    let out = Command::new("mytest-xclone-std-compat")
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"found\n");
    std::fs::remove_dir_all(&dir).unwrap();
    out.stdout
});

both!(relative_program_is_relative_to_the_new_directory, {
    // command-current-dir: on Unix a relative program path is taken after the chdir.
    let dir = tempdir("reldir");
    std::fs::create_dir(dir.join("foo")).unwrap();
    std::fs::create_dir(dir.join("bar")).unwrap();
    script(&dir.join("foo"), "prog", "basename \"$(pwd)\"");
    let out = Command::new("../foo/prog")
        .current_dir(dir.join("bar"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    assert_eq!(out.stdout, b"bar\n");
    std::fs::remove_dir_all(&dir).unwrap();
});

both!(descriptors_are_not_inherited, {
    // fds-are-cloexec: files, sockets and the parent's ends of pipes do not reach the child.
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut other = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let fds = [
        file.as_raw_fd(),
        tcp.as_raw_fd(),
        udp.as_raw_fd(),
        other.stdin.as_ref().unwrap().as_raw_fd(),
        other.stdout.as_ref().unwrap().as_raw_fd(),
        other.stderr.as_ref().unwrap().as_raw_fd(),
    ];
    let list: Vec<String> = fds.iter().map(|f| f.to_string()).collect();
    // Each number must be closed in the child (reading it fails with "Bad file descriptor").
    let st = Command::new("sh")
        .args([
            "-c",
            "for fd in \"$@\"; do if (: <&\"$fd\") 2>/dev/null; then exit 1; fi; done",
            "sh",
        ])
        .args(&list)
        .status()
        .unwrap();
    assert!(st.success(), "an inherited descriptor among {list:?}");
    drop(other.stdin.take());
    other.wait().unwrap();
});

both!(stdio_null_with_much_output, {
    // issue-10626: a child writing much to null streams is fine.
    let st = Command::new("sh")
        .args([
            "-c",
            "i=0; while [ $i -lt 2000 ]; do echo hello?; echo hello? >&2; i=$((i+1)); done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    assert!(st.success());
});

entry!(status_inherits_stdin_entry, {
    // process-status-inherits-stdin: status() of a grandchild reading this process's stdin.
    let st = Command::new("sh")
        .args(["-c", "read x; [ \"$x\" = foo ]"])
        .status()
        .unwrap();
    println!("STATUS={:?}", st.code());
});

both!(status_inherits_stdin, {
    let (code, out) = run_entry("status_inherits_stdin_entry", SIDE, b"foo\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("STATUS=Some(0)"), "{out}");
});

entry!(failed_spawns_leak_nothing_entry, {
    // process-spawn-failure's concern: failing spawns leave no descriptor and no zombie.
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let before = count();
    for i in 0..200 {
        let r = if i % 2 == 0 {
            Command::new("/no/such/program").spawn().map(drop)
        } else {
            Command::new("true")
                .current_dir("/no/such/dir")
                .status()
                .map(drop)
        };
        assert!(r.is_err());
    }
    let children = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        std::process::id(),
        // SAFETY: gettid cannot fail.
        unsafe { libc::gettid() }
    ))
    .unwrap_or_default();
    println!("FDS={} CHILDREN={:?}", count() - before, children.trim());
});

both!(failed_spawns_leak_nothing, {
    let (code, out) = run_entry("failed_spawns_leak_nothing_entry", SIDE, b"");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("FDS=0 CHILDREN=\"\""), "{out}");
});

entry!(child_panics_entry, {
    // multi-panic: the program's panic ends it with 101.
    let st = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panicking_entry", "--nocapture", "-q"])
        .env("XCLONE_STD_COMPAT_ENTRY", "panicking_entry")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    println!("CODE={:?}", st.code());
});

#[test]
fn panicking_entry() {
    if std::env::var("XCLONE_STD_COMPAT_ENTRY").as_deref() == Ok("panicking_entry") {
        panic!("this program panics");
    }
}

both!(a_panicking_program_exits_with_101, {
    let (code, out) = run_entry("child_panics_entry", SIDE, b"");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("CODE=Some(101)"), "{out}");
});

both!(exit_status_ext_round_trip, {
    let raws = [0, 0x100, 0x9, 0x86, 0x137f, 0xffff];
    raws.iter()
        .map(|&r| {
            let s = ExitStatus::from_raw(r);
            (
                s.into_raw(),
                s.signal(),
                s.core_dumped(),
                s.stopped_signal(),
                s.continued(),
            )
        })
        .collect::<Vec<_>>()
});
