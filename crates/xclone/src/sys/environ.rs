//! The C library's `environ`, copied for a child in one pass.
//!
//! A spawn whose environment is not changed passes the parent's on, as `posix_spawn(3)` and
//! `execvp(3)` do. Going through `std::env::vars_os()` for that would cost two allocations per
//! variable plus a map (about 4 µs for 40 variables, measured: a twentieth of a whole
//! spawn); this copy is one pass into one buffer.

use core::ffi::{c_char, CStr};

use super::cstr_array::CStrArray;

extern "C" {
    /// glibc's (and every POSIX C library's) process environment.
    static environ: *const *const c_char;
}

/// A copy of the process environment, in the C library's order (duplicates and entries
/// without `=` included, as `execve` would pass them).
///
/// Concurrent writers: `std::env::set_var`/`remove_var` require of their callers that no
/// other thread reads the environment except through `std::env` while they run (which is
/// why they are `unsafe` in edition 2024); C code calling `setenv` is under the same rule.
/// A program that keeps it can spawn from any thread.
pub fn snapshot() -> CStrArray {
    let mut entries: Vec<&CStr> = Vec::with_capacity(64);
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings set up by the C
    // library before `main`; the module comment gives the rule that keeps writers away
    // while it is read. The borrowed strings are copied before this function returns.
    unsafe {
        let mut p = environ;
        if !p.is_null() {
            while !(*p).is_null() {
                entries.push(CStr::from_ptr(*p));
                p = p.add(1);
            }
        }
    }
    CStrArray::from_cstrs(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn matches_std_view_of_the_environment() {
        let snap = snapshot();
        let mine: Vec<Vec<u8>> = snap.iter().map(|s| s.to_bytes().to_vec()).collect();
        let from_std: Vec<Vec<u8>> = std::env::vars_os()
            .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
            .collect();
        // std skips entries without '=' (none in a test run) and keeps the order.
        assert_eq!(mine, from_std);
        assert!(!mine.is_empty(), "cargo test always sets some variables");
    }
}
