//! The spawn mechanisms xclone is compared with, each doing spawn + exec + wait of one program.
//!
//! These go straight to libc: they are the yardsticks, written the way a C program would.
//! The children of the fork-like calls only call `execve` and `_exit` (both plain system calls
//! in glibc), which is all a child of a multi-threaded parent may do.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;

extern "C" {
    static environ: *const *const c_char;
}

/// A program with its `argv`, ready for the exec family (no allocation needed at spawn time).
pub struct Exe {
    path: CString,
    _args: Vec<CString>,
    argv: Vec<*const c_char>,
}

impl Exe {
    pub fn new(path: &Path) -> Exe {
        let path = CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
        let args = vec![path.clone()];
        let mut argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        Exe {
            path,
            _args: args,
            argv,
        }
    }

    fn envp() -> *const *const c_char {
        // SAFETY: glibc's `environ` is initialised before main; nothing in the bench changes
        // the environment, so reading the pointer races with nothing.
        unsafe { environ }
    }

    /// The child's half of every fork-like mechanism: exec, or exit 127 (never returns).
    fn exec_or_exit(&self) -> ! {
        // SAFETY: `path` and `argv` are NUL-terminated and outlive the call; `_exit` does not
        // return and runs no atexit handlers, which a forked child must not run.
        unsafe {
            libc::execve(self.path.as_ptr(), self.argv.as_ptr(), Self::envp());
            libc::_exit(127)
        }
    }
}

/// Waits for `pid` and demands exit status 0.
pub fn wait_ok(pid: libc::pid_t) -> Result<(), String> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(format!("waitpid: {e}"));
        }
    }
    let st = std::process::ExitStatus::from_raw(status);
    if st.success() {
        Ok(())
    } else {
        Err(format!("child ended with {st}"))
    }
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// glibc `posix_spawn` with no attributes and no file actions: the reference of every ratio.
pub fn posix_spawn(exe: &Exe) -> Result<(), String> {
    let mut pid = 0;
    // SAFETY: all pointers are valid NUL-terminated arrays owned by `exe`; null attributes and
    // file actions are allowed.
    let r = unsafe {
        libc::posix_spawn(
            &mut pid,
            exe.path.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            exe.argv.as_ptr() as *const *mut c_char,
            Exe::envp() as *const *mut c_char,
        )
    };
    if r != 0 {
        return Err(format!(
            "posix_spawn: {}",
            std::io::Error::from_raw_os_error(r)
        ));
    }
    wait_ok(pid)
}

/// `fork()` + `execve()`: the page tables of the parent are copied, so the cost grows with RSS.
pub fn fork_exec(exe: &Exe) -> Result<(), String> {
    // SAFETY: the child only calls execve/_exit.
    match unsafe { libc::fork() } {
        -1 => Err(os_err("fork")),
        0 => exe.exec_or_exit(),
        pid => wait_ok(pid),
    }
}

/// `vfork()` + `execve()`: written for x86_64 only.
#[cfg(not(target_arch = "x86_64"))]
pub fn vfork_exec(_exe: &Exe) -> Result<(), String> {
    Err("the vfork+execve contender is written for x86_64 only".into())
}

/// `vfork()` + `execve()`: the parent thread sleeps while the child borrows its memory and
/// stack until exec.
///
/// Written as one piece of assembly because the child of a vfork must not touch the stack
/// it shares with the suspended parent: Rust has no `returns_twice`, so calling libc's
/// `vfork` from Rust code is unsound (rust-lang/libc#1596). Here the child only issues the
/// `execve` and `exit` system calls on registers loaded before the vfork.
#[cfg(target_arch = "x86_64")]
pub fn vfork_exec(exe: &Exe) -> Result<(), String> {
    let ret: isize;
    // SAFETY: vfork's child runs only the three instructions after the branch (execve, then
    // exit(127) if it fails) and never returns into Rust code, so it touches no memory; the
    // parent resumes after the label with rdi/rsi/rdx intact (the kernel preserves them) and
    // rax holding the pid or -errno. rcx and r11 are clobbered by `syscall`.
    unsafe {
        std::arch::asm!(
            "mov eax, {vfork}",
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov eax, {execve}",
            "syscall",
            "mov edi, 127",
            "mov eax, {exit}",
            "syscall",
            "2:",
            vfork = const libc::SYS_vfork,
            execve = const libc::SYS_execve,
            exit = const libc::SYS_exit,
            in("rdi") exe.path.as_ptr(),
            in("rsi") exe.argv.as_ptr(),
            in("rdx") Exe::envp(),
            out("rax") ret,
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    if ret < 0 {
        return Err(format!(
            "vfork: {}",
            std::io::Error::from_raw_os_error(-ret as i32)
        ));
    }
    wait_ok(ret as libc::pid_t)
}

/// `std::process::Command::status()` (glibc `posix_spawn` inside, since nothing forces fork).
pub fn std_status(path: &Path) -> Result<(), String> {
    let st = std::process::Command::new(path)
        .status()
        .map_err(|e| format!("std spawn: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("child ended with {st}"))
    }
}

/// std with an (empty) `pre_exec` hook, which forces std onto its `fork()` path.
pub fn std_pre_exec(path: &Path) -> Result<(), String> {
    let mut cmd = std::process::Command::new(path);
    // SAFETY: the hook does nothing, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let st = cmd.status().map_err(|e| format!("std spawn: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("child ended with {st}"))
    }
}

/// Optional extras of a raw, fork-like clone3 (reference rows for the isolation costs).
#[derive(Clone, Debug, Default)]
pub struct Clone3Extras {
    pub flags: u64,
    pub set_tid: Option<libc::pid_t>,
    pub cgroup_fd: Option<i32>,
}

/// A fork-like `clone3` (no `CLONE_VM`, the child continues on a copy of the stack) + exec:
/// the kernel's own price of a flag, without any library around it.
pub fn clone3_fork_exec(exe: &Exe, x: &Clone3Extras) -> Result<(), String> {
    let tid = x.set_tid.unwrap_or(0);
    let mut args = linux_raw_sys::general::clone_args {
        flags: x.flags,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: 0,
    };
    if x.set_tid.is_some() {
        args.set_tid = &tid as *const libc::pid_t as u64;
        args.set_tid_size = 1;
    }
    if let Some(fd) = x.cgroup_fd {
        args.flags |= linux_raw_sys::general::CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: fork-like clone3 (stack 0, no CLONE_VM): the child has its own copy of memory
    // and only calls execve/_exit. `args` and `tid` live across the call.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const _,
            std::mem::size_of_val(&args),
        )
    };
    match pid {
        -1 => Err(os_err("clone3")),
        0 => exe.exec_or_exit(),
        pid => wait_ok(pid as libc::pid_t),
    }
}

/// Fork; the child writes "0" to `procs` (moving itself into that cgroup) and execs.
pub fn fork_self_to_cgroup(exe: &Exe, procs: &CStr) -> Result<(), String> {
    // SAFETY: the child only makes system calls (open/write/close/execve/_exit) on data
    // prepared before the fork.
    match unsafe { libc::fork() } {
        -1 => Err(os_err("fork")),
        0 => unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                libc::_exit(125);
            }
            libc::close(fd);
            exe.exec_or_exit()
        },
        pid => wait_ok(pid),
    }
}

/// Fork; the child waits on a pipe while the parent writes its pid to `procs`, then execs:
/// the placement a supervisor does from outside.
pub fn fork_parent_moves_to_cgroup(exe: &Exe, procs: &CStr) -> Result<(), String> {
    let mut p = [0; 2];
    // SAFETY: `p` is a valid two-int array.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(os_err("pipe2"));
    }
    let [rd, wr] = p;
    // SAFETY: the child only makes system calls on pre-built data.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            let mut b = 0u8;
            if libc::read(rd, (&mut b as *mut u8).cast(), 1) != 1 {
                libc::_exit(125);
            }
            exe.exec_or_exit()
        }
    }
    let placed = if pid < 0 {
        Err(os_err("fork"))
    } else {
        let s = pid.to_string();
        std::fs::write(
            Path::new(std::ffi::OsStr::from_bytes(procs.to_bytes())),
            s.as_bytes(),
        )
        .map_err(|e| format!("writing cgroup.procs: {e}"))
    };
    // Release (or, on error, fail) the child: a byte means go, EOF makes it exit 125.
    // SAFETY: plain syscalls on fds this function owns.
    unsafe {
        if placed.is_ok() {
            libc::write(wr, b"g".as_ptr().cast(), 1);
        }
        libc::close(wr);
        libc::close(rd);
    }
    placed?;
    wait_ok(pid)
}
