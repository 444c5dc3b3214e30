//! NULL-terminated arrays of C strings (`argv`, `envp`, candidate paths), built before the
//! clone so the child only reads them.
//!
//! All strings live in one buffer, so building an array costs two allocations however many
//! strings it holds.

use core::ffi::{c_char, CStr};

/// A string contained a NUL byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteriorNul;

/// Collects strings; [`CStrArrayBuilder::finish`] fixes them into a [`CStrArray`].
#[derive(Debug, Default)]
pub struct CStrArrayBuilder {
    buf: Vec<u8>,
    starts: Vec<usize>,
}

impl CStrArrayBuilder {
    pub fn with_capacity(strings: usize, bytes: usize) -> Self {
        CStrArrayBuilder {
            buf: Vec::with_capacity(bytes),
            starts: Vec::with_capacity(strings),
        }
    }

    /// Appends the concatenation of `parts` as one string.
    pub fn push_parts(&mut self, parts: &[&[u8]]) -> Result<(), InteriorNul> {
        if parts.iter().any(|p| p.contains(&0)) {
            return Err(InteriorNul);
        }
        self.starts.push(self.buf.len());
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        self.buf.push(0);
        Ok(())
    }

    /// Appends a C string (which cannot hold a NUL byte).
    pub fn push_cstr(&mut self, s: &CStr) {
        self.starts.push(self.buf.len());
        self.buf.extend_from_slice(s.to_bytes_with_nul());
    }

    /// Appends one string.
    pub fn push(&mut self, s: &[u8]) -> Result<(), InteriorNul> {
        self.push_parts(&[s])
    }

    pub fn finish(self) -> CStrArray {
        let base = self.buf.as_ptr();
        let mut ptrs: Vec<*const c_char> = Vec::with_capacity(self.starts.len() + 1);
        for &s in &self.starts {
            ptrs.push(base.wrapping_add(s) as *const c_char);
        }
        ptrs.push(core::ptr::null());
        CStrArray {
            buf: self.buf,
            starts: self.starts,
            ptrs,
        }
    }
}

/// An immutable `char *const[]` with its strings. The pointers stay valid because the
/// buffer is never modified (nor moved: moving a `Vec` does not move its heap block).
#[derive(Debug)]
pub struct CStrArray {
    buf: Vec<u8>,
    starts: Vec<usize>,
    ptrs: Vec<*const c_char>,
}

impl CStrArray {
    /// The array of these strings (which hold no NUL byte, being C strings).
    pub fn from_cstrs<S: AsRef<CStr>>(strings: &[S]) -> Self {
        let bytes = strings
            .iter()
            .map(|s| s.as_ref().to_bytes().len() + 1)
            .sum();
        let mut b = CStrArrayBuilder::with_capacity(strings.len(), bytes);
        for s in strings {
            b.push_cstr(s.as_ref());
        }
        b.finish()
    }

    /// The NULL-terminated pointer array.
    pub fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// String `i`, without panicking (callable in a spawned child).
    pub fn get(&self, i: usize) -> Option<&CStr> {
        let start = *self.starts.get(i)?;
        let end = match self.starts.get(i.wrapping_add(1)) {
            Some(&next) => next,
            None => self.buf.len(),
        };
        let bytes = self.buf.get(start..end)?;
        // SAFETY: the builder wrote every string followed by exactly one NUL and rejected
        // strings containing NUL, so `bytes` is a string and its terminator.
        Some(unsafe { CStr::from_bytes_with_nul_unchecked(bytes) })
    }

    pub fn iter(&self) -> impl Iterator<Item = &CStr> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads() {
        let mut b = CStrArrayBuilder::default();
        b.push(b"ls").unwrap();
        b.push_parts(&[b"A", b"=", b"1"]).unwrap();
        b.push(b"").unwrap();
        assert_eq!(b.push(b"a\0b"), Err(InteriorNul));
        let a = b.finish();
        assert_eq!(a.len(), 3);
        assert_eq!(a.get(0).unwrap().to_bytes(), b"ls");
        assert_eq!(a.get(1).unwrap().to_bytes(), b"A=1");
        assert_eq!(a.get(2).unwrap().to_bytes(), b"");
        assert!(a.get(3).is_none());
        // SAFETY: reading the pointer array we just built; index 3 is the terminator.
        unsafe {
            let p = a.as_ptr();
            assert_eq!(CStr::from_ptr(*p.add(1)).to_bytes(), b"A=1");
            assert!((*p.add(3)).is_null());
        }
        let c = CStrArray::from_cstrs(&[c"a", c"", c"bc"]);
        assert_eq!(
            c.iter().map(CStr::to_bytes).collect::<Vec<_>>(),
            [&b"a"[..], b"", b"bc"]
        );
        let empty = CStrArrayBuilder::default().finish();
        // SAFETY: a one-element array holding the terminator.
        unsafe { assert!((*empty.as_ptr()).is_null()) };
    }
}
