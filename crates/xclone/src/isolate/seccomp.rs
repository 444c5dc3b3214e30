//! Seccomp filters installed in the child right before exec (`--seccomp FD`,
//! `--add-seccomp-fd FD`): compiled classic-BPF programs, as bubblewrap takes them (an array
//! of `struct sock_filter`, eight bytes each, in the machine's byte order — what
//! libseccomp's `seccomp_export_bpf` writes).
//!
//! The child installs them after everything else it does (mounts, identity, capabilities,
//! `pre_exec` hooks), so a filter can forbid anything the program should not do without
//! breaking the setup; only `execve` itself runs under it. Setting a filter needs
//! `no_new_privs` or `CAP_SYS_ADMIN`: the child sets `no_new_privs` first, as bubblewrap
//! does for every sandbox.

use std::io::Read;
use std::os::fd::OwnedFd;

/// `BPF_MAXINSNS`.
pub const MAX_INSNS: usize = 4096;

/// One compiled program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeccompProgram {
    /// The instructions, each a `struct sock_filter` as its eight bytes in one `u64`.
    insns: Box<[u64]>,
}

impl SeccompProgram {
    /// From the program's bytes: a whole number of eight-byte instructions, 1 to 4096 of
    /// them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() || bytes.len() % 8 != 0 {
            return Err(format!(
                "a seccomp program is a whole number of 8-byte instructions, not {} bytes",
                bytes.len()
            ));
        }
        let n = bytes.len() / 8;
        if n > MAX_INSNS {
            return Err(format!(
                "a seccomp program has at most {MAX_INSNS} instructions, not {n}"
            ));
        }
        let insns = bytes
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        Ok(SeccompProgram { insns })
    }

    /// From classic-BPF instructions.
    pub fn from_filter(filter: &[libc::sock_filter]) -> Result<Self, String> {
        let mut bytes = Vec::with_capacity(filter.len() * 8);
        for f in filter {
            bytes.extend_from_slice(&f.code.to_ne_bytes());
            bytes.push(f.jt);
            bytes.push(f.jf);
            bytes.extend_from_slice(&f.k.to_ne_bytes());
        }
        Self::from_bytes(&bytes)
    }

    /// Reads a whole program from a descriptor (a file or a pipe), as bubblewrap's
    /// `--seccomp FD` does.
    pub fn from_fd(fd: OwnedFd) -> Result<Self, String> {
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading the seccomp program: {e}"))?;
        Self::from_bytes(&bytes)
    }

    /// The number of BPF instructions (`struct sock_filter`, 8 bytes each).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program has no instruction (the kernel refuses such a filter).
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    pub(crate) fn insns(&self) -> &[u64] {
        &self.insns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_whole_instructions() {
        assert!(SeccompProgram::from_bytes(&[]).is_err());
        assert!(SeccompProgram::from_bytes(&[0; 12]).is_err());
        assert!(SeccompProgram::from_bytes(&vec![0; 8 * 4097]).is_err());
        let allow = libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        };
        let p = SeccompProgram::from_filter(&[allow]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p.insns()[0] as u16, allow.code);
        assert_eq!((p.insns()[0] >> 32) as u32, libc::SECCOMP_RET_ALLOW);
    }
}
