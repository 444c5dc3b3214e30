//! The system calls of a sandbox's child steps ([`crate::isolate::sandbox`]): building a
//! file tree (directories, files, symlinks, modes), mount attributes, capability sets,
//! resource limits, seccomp filters and the loopback interface's flags.
//!
//! Same rules as [`super::child`] and [`super::isolate`]: raw calls on prepared data only
//! (`&CStr`, plain integers, structures the parent built), no libc, no `errno`, no
//! allocation, no locks, no panics; buffers live on the child's own stack.

use super::child::{read, write};
use super::syscall::{result, syscall6, RawErrno};
use core::ffi::CStr;
use linux_raw_sys::general as k;
use std::os::fd::RawFd;

type R<T = ()> = Result<T, RawErrno>;

const AT_FDCWD: usize = libc::AT_FDCWD as usize;

fn nr(n: u32) -> usize {
    n as usize
}

/// `call(AT_FDCWD, path, a, b)`, for the `*at` calls of this module whose other arguments
/// are integers (modes, flags): `mkdirat`, `openat`, `unlinkat`, `fchmodat`, `faccessat`.
fn at_path(call: u32, path: &CStr, a: usize, b: usize) -> R<usize> {
    // SAFETY: `path` is NUL-terminated and outlives the call; every caller passes one of the
    // calls named above, for which `a` and `b` are integers the kernel follows as no pointer.
    result(unsafe { syscall6(nr(call), AT_FDCWD, path.as_ptr() as usize, a, b, 0, 0) })
}

/// `mkdirat(AT_FDCWD, path, mode)`.
pub(crate) fn mkdir(path: &CStr, mode: u32) -> R {
    at_path(k::__NR_mkdirat, path, mode as usize, 0).map(|_| ())
}

/// `symlinkat(target, AT_FDCWD, linkpath)`.
pub(crate) fn symlink(target: &CStr, linkpath: &CStr) -> R {
    // SAFETY: both are NUL-terminated strings that outlive the call.
    result(unsafe {
        syscall6(
            nr(k::__NR_symlinkat),
            target.as_ptr() as usize,
            AT_FDCWD,
            linkpath.as_ptr() as usize,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `readlinkat(AT_FDCWD, path, buf)`: the number of bytes written into `buf`.
pub(crate) fn readlink(path: &CStr, buf: &mut [u8]) -> R<usize> {
    // SAFETY: `path` is NUL-terminated; `buf` is a live writable slice of the given length.
    result(unsafe {
        syscall6(
            nr(k::__NR_readlinkat),
            AT_FDCWD,
            path.as_ptr() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            0,
            0,
        )
    })
}

/// `openat(AT_FDCWD, path, O_WRONLY|O_CREAT|O_NOCTTY|O_CLOEXEC (|O_TRUNC), mode)`: a
/// descriptor to write the file.
pub(crate) fn create(path: &CStr, mode: u32, truncate: bool) -> R<RawFd> {
    let mut flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NOCTTY | libc::O_CLOEXEC;
    if truncate {
        flags |= libc::O_TRUNC;
    }
    at_path(k::__NR_openat, path, flags as usize, mode as usize).map(|fd| fd as RawFd)
}

/// `unlinkat(AT_FDCWD, path, 0)`.
pub(crate) fn unlink(path: &CStr) -> R {
    at_path(k::__NR_unlinkat, path, 0, 0).map(|_| ())
}

/// `fchmodat(AT_FDCWD, path, mode, 0)`.
pub(crate) fn chmod(path: &CStr, mode: u32) -> R {
    at_path(k::__NR_fchmodat, path, mode as usize, 0).map(|_| ())
}

/// Whether `path` names a directory (following symlinks): `statx` with only the type asked.
pub(crate) fn is_dir(path: &CStr) -> R<bool> {
    let mut buf = core::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: `path` is NUL-terminated; `buf` is a writable `struct statx` on our stack.
    result(unsafe {
        syscall6(
            nr(k::__NR_statx),
            AT_FDCWD,
            path.as_ptr() as usize,
            0,
            libc::STATX_TYPE as usize,
            buf.as_mut_ptr() as usize,
            0,
        )
    })?;
    // SAFETY: zero-initialised, then filled by the kernel: every bit pattern is a valid
    // `statx`.
    let st = unsafe { buf.assume_init() };
    Ok(u32::from(st.stx_mode) & libc::S_IFMT == libc::S_IFDIR)
}

/// `faccessat(AT_FDCWD, path, W_OK)`: whether the caller may write `path`.
pub(crate) fn writable(path: &CStr) -> R {
    at_path(k::__NR_faccessat, path, libc::W_OK as usize, 0).map(|_| ())
}

/// Copies everything `from` yields until end of file into `to` (a pipe or a file), through
/// a buffer on the stack; retries `EINTR`.
pub(crate) fn copy_all(from: RawFd, to: RawFd) -> R {
    let mut buf = [0u8; 4096];
    loop {
        let n = match read(from, &mut buf)? {
            0 => return Ok(()),
            n => n,
        };
        let mut done = 0;
        while let Some(rest) = buf.get(done..n) {
            if rest.is_empty() {
                break;
            }
            match write(to, rest) {
                Ok(w) => done += w,
                Err(libc::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The flags of the mount at `path`: `statfs(2)`'s `f_flags`, whose `ST_*` bits have the
/// values of the `MS_*` flags of the same names (read-only, nosuid, nodev, noexec, the atime
/// flags).
pub(crate) fn mount_flags(path: &CStr) -> R<u64> {
    // SAFETY: an all-zero `struct statfs` is a valid value (integers and arrays of them).
    let mut st: k::statfs = unsafe { core::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated; `st` is a live, writable `struct statfs` of the
    // kernel's own layout (linux-raw-sys).
    result(unsafe {
        syscall6(
            nr(k::__NR_statfs),
            path.as_ptr() as usize,
            &mut st as *mut k::statfs as usize,
            0,
            0,
            0,
            0,
        )
    })?;
    Ok(st.f_flags as u64)
}

/// Calls `f` with the mount point of `path`'s mount and of every mount below it, as
/// `/proc/self/mountinfo` lists them (parents before their children), unescaped and
/// NUL-terminated in a buffer on the stack; stops at `f`'s first error. Lines longer than
/// 8 KiB are skipped. No allocation: for the child of a spawn.
///
/// `Err(ENOENT)` before any call when `/proc/self/mountinfo` cannot be opened (no `/proc` in
/// the root the plan builds in).
pub(crate) fn for_each_mount_below(path: &CStr, f: &mut dyn FnMut(&CStr) -> R) -> R {
    let fd = at_path(
        k::__NR_openat,
        c"/proc/self/mountinfo",
        (libc::O_RDONLY | libc::O_CLOEXEC) as usize,
        0,
    )? as RawFd;
    let r = walk_mountinfo(fd, path.to_bytes(), f);
    let _ = super::isolate::close(fd);
    r
}

fn walk_mountinfo(fd: RawFd, prefix: &[u8], f: &mut dyn FnMut(&CStr) -> R) -> R {
    let mut chunk = [0u8; 4096];
    let mut line = [0u8; 8192];
    let mut len = 0usize;
    let mut overlong = false;
    loop {
        let n = match read(fd, &mut chunk)? {
            0 => return Ok(()),
            n => n,
        };
        for &b in chunk.get(..n).unwrap_or(&[]) {
            if b != b'\n' {
                match line.get_mut(len) {
                    Some(slot) => {
                        *slot = b;
                        len += 1;
                    }
                    None => overlong = true,
                }
                continue;
            }
            if !overlong {
                mountinfo_line(line.get(..len).unwrap_or(&[]), prefix, f)?;
            }
            len = 0;
            overlong = false;
        }
    }
}

/// One line of mountinfo: calls `f` when its mount point (the fifth field) is `prefix` or
/// below it.
fn mountinfo_line(line: &[u8], prefix: &[u8], f: &mut dyn FnMut(&CStr) -> R) -> R {
    let Some(field) = line.split(|&b| b == b' ').nth(4) else {
        return Ok(());
    };
    // Unescape the kernel's octal escapes (`\040` for a space) into a NUL-terminated path.
    let mut out = [0u8; 4097];
    let mut o = 0usize;
    let mut i = 0usize;
    while let Some(&b) = field.get(i) {
        let mut c = b;
        if b == b'\\' {
            if let Some(d) = field.get(i + 1..i + 4) {
                if d.iter().all(|x| (b'0'..=b'7').contains(x)) {
                    c = d
                        .iter()
                        .fold(0u8, |a, x| a.wrapping_mul(8).wrapping_add(x - b'0'));
                    i += 3;
                }
            }
        }
        if c == 0 {
            return Ok(());
        }
        let Some(slot) = out.get_mut(o) else {
            return Ok(());
        };
        *slot = c;
        o += 1;
        i += 1;
    }
    let mp = out.get(..o).unwrap_or(&[]);
    let below = mp == prefix
        || (mp.starts_with(prefix)
            && (prefix.ends_with(b"/") || mp.get(prefix.len()) == Some(&b'/')));
    if !below {
        return Ok(());
    }
    match CStr::from_bytes_with_nul(out.get(..=o).unwrap_or(&[])) {
        Ok(p) => f(p),
        Err(_) => Ok(()),
    }
}

/// `struct mount_attr` of `<linux/mount.h>`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `mount_setattr(AT_FDCWD, path, AT_RECURSIVE?, {set, clr})` (Linux 5.12): changes only
/// the given attributes of the mount at `path` (and every mount below it when
/// `recursive`), leaving locked ones alone.
pub(crate) fn mount_setattr(path: &CStr, recursive: bool, set: u64, clr: u64) -> R {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `path` is NUL-terminated; `attr` is a live `struct mount_attr` of the size
    // passed, which the kernel only reads.
    result(unsafe {
        syscall6(
            nr(k::__NR_mount_setattr),
            AT_FDCWD,
            path.as_ptr() as usize,
            flags as usize,
            &attr as *const MountAttr as usize,
            core::mem::size_of::<MountAttr>(),
            0,
        )
    })
    .map(|_| ())
}

fn prctl(option: u32, a2: usize, a3: usize) -> R<usize> {
    // SAFETY: integer arguments only, for options that take no pointers.
    result(unsafe { syscall6(nr(k::__NR_prctl), option as usize, a2, a3, 0, 0, 0) })
}

/// `prctl(PR_CAPBSET_DROP, cap)`.
pub(crate) fn capbset_drop(cap: u32) -> R {
    prctl(libc::PR_CAPBSET_DROP as u32, cap as usize, 0).map(|_| ())
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)`.
pub(crate) fn ambient_raise(cap: u32) -> R {
    prctl(
        libc::PR_CAP_AMBIENT as u32,
        libc::PR_CAP_AMBIENT_RAISE as usize,
        cap as usize,
    )
    .map(|_| ())
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`.
pub(crate) fn ambient_clear() -> R {
    prctl(
        libc::PR_CAP_AMBIENT as u32,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as usize,
        0,
    )
    .map(|_| ())
}

/// `prctl(PR_SET_KEEPCAPS, on)`.
pub(crate) fn set_keepcaps(on: bool) -> R {
    prctl(libc::PR_SET_KEEPCAPS as u32, usize::from(on), 0).map(|_| ())
}

/// The three capability sets of the calling thread, 64 bits each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// capget(2)/capset(2)'s header (`_LINUX_CAPABILITY_VERSION_3`, this thread).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// One 32-bit word of each set; version 3 takes two, low word first.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// `capset` (version 3) with the same 64-bit set as permitted, effective and inheritable.
pub(crate) fn capset(set: u64) -> R {
    capset_sets(CapSets {
        effective: set,
        permitted: set,
        inheritable: set,
    })
}

/// `capset` (version 3) of the three sets.
pub(crate) fn capset_sets(s: CapSets) -> R {
    let header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let word = |shift: u32| CapData {
        effective: (s.effective >> shift) as u32,
        permitted: (s.permitted >> shift) as u32,
        inheritable: (s.inheritable >> shift) as u32,
    };
    let data = [word(0), word(32)];
    // SAFETY: `header` and the two `data` words are live and laid out as capset(2) reads
    // them (version 3 takes two words).
    result(unsafe {
        syscall6(
            nr(k::__NR_capset),
            &header as *const CapHeader as usize,
            data.as_ptr() as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `capget` (version 3) of the calling thread.
pub(crate) fn capget() -> R<CapSets> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: `header` and the two `data` words are live, writable and laid out as
    // capget(2) writes them (version 3 fills two words).
    result(unsafe {
        syscall6(
            nr(k::__NR_capget),
            &mut header as *mut CapHeader as usize,
            data.as_mut_ptr() as usize,
            0,
            0,
            0,
            0,
        )
    })?;
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    Ok(CapSets {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        inheritable: join(|d| d.inheritable),
    })
}

/// `prlimit64(0, resource, {soft, hard}, NULL)`.
pub(crate) fn set_rlimit(resource: u32, soft: u64, hard: u64) -> R {
    let lim = [soft, hard];
    // SAFETY: `lim` is a live `struct rlimit64` (two u64) the kernel only reads.
    result(unsafe {
        syscall6(
            nr(k::__NR_prlimit64),
            0,
            resource as usize,
            lim.as_ptr() as usize,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `prlimit64(0, resource, NULL, old)`: the caller's current `[soft, hard]`.
pub(crate) fn get_rlimit(resource: u32, old: &mut [u64; 2]) -> R {
    // SAFETY: `old` is a live writable `struct rlimit64` (two u64).
    result(unsafe {
        syscall6(
            nr(k::__NR_prlimit64),
            0,
            resource as usize,
            0,
            old.as_mut_ptr() as usize,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)`: a socket of the calling thread's network
/// namespace, only to carry the interface ioctls below.
pub(crate) fn inet_dgram_socket() -> R<RawFd> {
    // SAFETY: integer arguments only.
    result(unsafe {
        syscall6(
            nr(k::__NR_socket),
            libc::AF_INET as usize,
            (libc::SOCK_DGRAM | libc::SOCK_CLOEXEC) as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|fd| fd as RawFd)
}

/// A `struct ifreq` naming the interface `name` (at most `IFNAMSIZ - 1` bytes, cut there),
/// everything else zero.
fn ifreq_named(name: &[u8]) -> libc::ifreq {
    // SAFETY: `ifreq` is a byte array and a union of plain integers and integer structures:
    // all zeroes is a valid value of each.
    let mut req: libc::ifreq = unsafe { core::mem::zeroed() };
    for (d, s) in req
        .ifr_name
        .iter_mut()
        .take(libc::IFNAMSIZ - 1)
        .zip(name.iter())
    {
        *d = *s as libc::c_char;
    }
    req
}

/// `ioctl(sock, SIOCGIFFLAGS)` on interface `name`: its flags (`IFF_*`, a short).
pub(crate) fn if_flags(sock: RawFd, name: &[u8]) -> R<i16> {
    let mut req = ifreq_named(name);
    // SAFETY: `req` is a live, writable `struct ifreq` on our stack, which SIOCGIFFLAGS reads
    // and fills.
    result(unsafe {
        syscall6(
            nr(k::__NR_ioctl),
            sock as usize,
            libc::SIOCGIFFLAGS as usize,
            &mut req as *mut libc::ifreq as usize,
            0,
            0,
            0,
        )
    })?;
    // SAFETY: the union's bytes are initialised (zeroed, then written by the kernel) and
    // every bit pattern is a valid short.
    Ok(unsafe { req.ifr_ifru.ifru_flags })
}

/// `ioctl(sock, SIOCSIFFLAGS)` on interface `name`: sets its flags (needs `CAP_NET_ADMIN`
/// over the socket's network namespace).
pub(crate) fn set_if_flags(sock: RawFd, name: &[u8], flags: i16) -> R {
    let mut req = ifreq_named(name);
    req.ifr_ifru.ifru_flags = flags;
    // SAFETY: `req` is a live `struct ifreq` on our stack, which SIOCSIFFLAGS reads.
    result(unsafe {
        syscall6(
            nr(k::__NR_ioctl),
            sock as usize,
            libc::SIOCSIFFLAGS as usize,
            &mut req as *mut libc::ifreq as usize,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// A classic-BPF program as seccomp(2) takes it; the instructions stay owned by the caller
/// (the sandbox plan), which keeps them alive as long as this value.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct SockFprog {
    len: u16,
    filter: *const u64,
}

impl SockFprog {
    /// Points at `insns` (each a `struct sock_filter`, eight bytes). `insns` must outlive
    /// every use of the result and must not be moved meanwhile (a `Box<[u64]>` does not).
    pub(crate) fn new(insns: &[u64]) -> SockFprog {
        SockFprog {
            len: insns.len().min(u16::MAX as usize) as u16,
            filter: insns.as_ptr(),
        }
    }
}

// SAFETY: the pointer is only read by the kernel in the child; the plan that owns the
// instructions is shared with that child on purpose.
unsafe impl Send for SockFprog {}
// SAFETY: see above: read-only use.
unsafe impl Sync for SockFprog {}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)`: the calling thread's filter (needs
/// `no_new_privs` or `CAP_SYS_ADMIN`).
pub(crate) fn seccomp_filter(prog: &SockFprog) -> R {
    // SAFETY: `prog` points at instructions its owner keeps alive (see `SockFprog::new`);
    // the kernel copies the program.
    result(unsafe {
        syscall6(
            nr(k::__NR_seccomp),
            libc::SECCOMP_SET_MODE_FILTER as usize,
            0,
            prog as *const SockFprog as usize,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::fd::AsRawFd;

    fn c(p: &std::path::Path) -> CString {
        CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
    }

    #[test]
    fn tree_calls() {
        let d = std::env::temp_dir().join(format!("xclone-sys-sandbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        mkdir(&c(&d), 0o700).unwrap();
        assert_eq!(mkdir(&c(&d), 0o700), Err(libc::EEXIST));
        assert_eq!(is_dir(&c(&d)), Ok(true));
        let f = d.join("f");
        let fd = create(&c(&f), 0o600, false).unwrap();
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        rustix::io::write(&w, b"hello").unwrap();
        drop(w);
        copy_all(r.as_raw_fd(), fd).unwrap();
        super::super::isolate::close(fd).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"hello");
        assert_eq!(is_dir(&c(&f)), Ok(false));
        chmod(&c(&f), 0o640).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let l = d.join("l");
        symlink(c"target", &c(&l)).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(readlink(&c(&l), &mut buf), Ok(6));
        assert_eq!(&buf[..6], b"target");
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(capbset_drop(4096), Err(libc::EINVAL));
        assert_eq!(set_rlimit(999, 0, 0), Err(libc::EINVAL));
    }

    #[test]
    fn interface_flags() {
        let sock = inet_dgram_socket().unwrap();
        // Every network namespace has `lo`; reading flags needs no privilege.
        let f = if_flags(sock, b"lo").unwrap();
        assert_ne!(f & libc::IFF_LOOPBACK as i16, 0, "{f:#x}");
        assert_eq!(if_flags(sock, b"xclone-none0"), Err(libc::ENODEV));
        // A name too long is cut at IFNAMSIZ - 1 bytes, never overflows.
        assert_eq!(if_flags(sock, &[b'x'; 64]), Err(libc::ENODEV));
        if !rustix::process::geteuid().is_root() {
            // Unprivileged, setting flags of the shared namespace's `lo` is refused.
            assert_eq!(set_if_flags(sock, b"lo", f), Err(libc::EPERM));
        }
        super::super::isolate::close(sock).unwrap();
    }
}

#[cfg(test)]
mod mountinfo_tests {
    use super::*;

    fn seen(line: &str, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        mountinfo_line(line.as_bytes(), prefix.as_bytes(), &mut |p: &CStr| {
            out.push(p.to_string_lossy().into_owned());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn mount_points_at_and_below_a_path_unescaped() {
        let l = |mp: &str| format!("36 35 98:0 / {mp} rw,noatime master:1 - ext3 /dev/root rw");
        assert_eq!(seen(&l("/newroot/usr"), "/newroot/usr"), ["/newroot/usr"]);
        assert_eq!(
            seen(&l("/newroot/usr/lib"), "/newroot/usr"),
            ["/newroot/usr/lib"]
        );
        // A sibling sharing the prefix is not below it.
        assert!(seen(&l("/newroot/usrx"), "/newroot/usr").is_empty());
        assert!(seen(&l("/other"), "/newroot/usr").is_empty());
        // The root is above everything.
        assert_eq!(seen(&l("/a"), "/"), ["/a"]);
        // Octal escapes (a space, a backslash); a NUL escape is skipped, not cut short.
        assert_eq!(seen(&l("/n/a\\040b\\134c"), "/n"), ["/n/a b\\c"]);
        assert!(seen(&l("/n/a\\000b"), "/n").is_empty());
        // Short or odd lines are skipped.
        assert!(seen("36 35 98:0", "/").is_empty());
        assert!(seen("", "/").is_empty());
    }

    #[test]
    fn this_process_root_is_listed() {
        let mut n = 0;
        for_each_mount_below(c"/", &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert!(n >= 1);
        // The walk stops at the first error.
        let r = for_each_mount_below(c"/", &mut |_| Err(libc::EIO));
        assert_eq!(r, Err(libc::EIO));
    }
}
