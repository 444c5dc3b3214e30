//! A seccomp filter that makes `clone3(2)` fail as container runtimes do, so that code which
//! must cope with a filtered clone3 (the probe, the clone(2) fallback) can be tested.

use crate::errno::Errno;

use super::arch::AUDIT_ARCH;

const NR_CLONE3: u32 = linux_raw_sys::general::__NR_clone3;

/// Offsets in `struct seccomp_data` (see seccomp(2)).
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump_eq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// The classic-BPF program: for system calls of the native ABI (`AUDIT_ARCH_*` of the target),
/// clone3 returns `-errno`; everything else (other calls, other ABIs such as i386 through
/// `int 0x80` on x86_64) is allowed.
fn program(errno: u16) -> [libc::sock_filter; 6] {
    let load_word = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    [
        stmt(load_word, OFFSET_ARCH),
        jump_eq(AUDIT_ARCH, 0, 3),
        stmt(load_word, OFFSET_NR),
        jump_eq(NR_CLONE3, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | u32::from(errno)),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Makes every later `clone3(2)` of the calling thread, and of the threads and processes it
/// creates afterwards, fail with `errno` — the way Docker's default profile answers clone3
/// with `ENOSYS` and some other runtimes with `EPERM` (see seccomp(2)).
///
/// **Irreversible**: it sets `no_new_privs` on the calling thread (prctl(2)
/// `PR_SET_NO_NEW_PRIVS`) and installs a seccomp filter, and neither can be undone. Other
/// threads that already exist are not affected. Intended for tests, and for users who want
/// to check their fallback path; call it in a child process or a thread dedicated to that.
///
/// `errno` must be in `1..=4095`; otherwise `EINVAL`. Errors of prctl(2)/seccomp(2) are
/// returned as they are.
pub fn deny_clone3(errno: i32) -> Result<(), Errno> {
    let errno = u16::try_from(errno)
        .ok()
        .filter(|e| (1..=4095).contains(e))
        .ok_or(Errno::EINVAL)?;
    rustix::thread::set_no_new_privs(true)?;
    let filter = program(errno);
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies the
    // program. SECCOMP_SET_MODE_FILTER with flags 0 only affects the calling thread.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret != 0 {
        return Err(Errno(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_range() {
        assert_eq!(deny_clone3(0), Err(Errno::EINVAL));
        assert_eq!(deny_clone3(4096), Err(Errno::EINVAL));
        assert_eq!(deny_clone3(-1), Err(Errno::EINVAL));
    }

    #[test]
    fn program_shape() {
        let p = program(38);
        // Wrong architecture jumps to ALLOW; clone3 reaches the ERRNO return.
        assert_eq!(1 + 1 + usize::from(p[1].jf), 5);
        assert_eq!(3 + 1 + usize::from(p[3].jf), 5);
        assert_eq!(p[4].k, libc::SECCOMP_RET_ERRNO | 38);
        assert_eq!(p[5].k, libc::SECCOMP_RET_ALLOW);
    }
}
