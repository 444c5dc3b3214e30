//! A seccomp filter that makes clone3 fail, as older container profiles do (`ENOSYS`, so
//! that glibc falls back) or some others (`EPERM`).

/// Makes clone3 return `errno` in every thread of this process and in what it execs (the
/// filter is kept across execve; no_new_privs is set for it). For a re-executed test binary,
/// or a `pre_exec` hook of the command under test.
pub fn deny_clone3(errno: i32) -> std::io::Result<()> {
    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
    let f = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const ALLOW: u32 = 0x7fff_0000; // SECCOMP_RET_ALLOW
    const ERRNO: u32 = 0x0005_0000; // SECCOMP_RET_ERRNO
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let prog = [
        f(LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        f(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        f(RET_K, 0, 0, ALLOW),
        f(LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        f(JEQ_K, 0, 1, 435),  // __NR_clone3
        f(RET_K, 0, 0, ERRNO | errno as u32),
        f(RET_K, 0, 0, ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl and seccomp with valid arguments; `fprog` points at a live program.
    let r = unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
