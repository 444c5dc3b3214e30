//! Parent memory: written anonymous memory that makes the parent's page tables as big as an
//! application's, which is what fork-based spawning pays for.

use std::fmt;

pub const MIB: usize = 1 << 20;
pub const GIB: usize = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pages {
    /// 4 KiB pages (`MADV_NOHUGEPAGE`).
    Small,
    /// Transparent huge pages (`MADV_HUGEPAGE`).
    Huge,
}

/// A resident-set level at which the spawn rows run.
#[derive(Clone, Copy, Debug)]
pub struct Level {
    /// Target resident set of the whole bench process.
    pub rss: usize,
    pub pages: Pages,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rss >= GIB {
            write!(f, "{} GiB", self.rss / GIB)?;
        } else {
            write!(f, "{} MiB", self.rss / MIB)?;
        }
        if self.pages == Pages::Huge {
            write!(f, " THP")?;
        }
        Ok(())
    }
}

/// Anonymous memory, every page written, unmapped on drop.
pub struct Ballast {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Ballast {
    /// Maps and writes enough memory to bring this process's RSS to `level.rss` (nothing when
    /// it is already there).
    pub fn fill(level: Level) -> Result<Ballast, String> {
        let have = read_status_kib("VmRSS:").unwrap_or(0) as usize * 1024;
        let len = level.rss.saturating_sub(have);
        if len == 0 {
            return Ok(Ballast {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(format!(
                "mmap of {len} bytes: {}",
                std::io::Error::last_os_error()
            ));
        }
        let advice = match level.pages {
            Pages::Small => libc::MADV_NOHUGEPAGE,
            Pages::Huge => libc::MADV_HUGEPAGE,
        };
        // SAFETY: advice on the mapping just created. A failure only changes page sizes,
        // which the report shows (AnonHugePages), so it is not fatal.
        unsafe { libc::madvise(ptr, len, advice) };
        let b = Ballast { ptr, len };
        b.touch();
        Ok(b)
    }

    fn touch(&self) {
        let base = self.ptr.cast::<u8>();
        let mut off = 0;
        while off < self.len {
            // SAFETY: `off < len` within our own writable mapping; volatile so the writes are
            // not optimised away.
            unsafe { base.add(off).write_volatile(1) };
            off += 4096;
        }
    }
}

impl Drop for Ballast {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmapping exactly the mapping this value owns.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

/// A `Key:   123 kB` line of /proc/self/status, in KiB.
pub fn read_status_kib(key: &str) -> Option<u64> {
    kib_line(&std::fs::read_to_string("/proc/self/status").ok()?, key)
}

/// `MemAvailable` of /proc/meminfo, in bytes.
pub fn available_bytes() -> Option<u64> {
    kib_line(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable:",
    )
    .map(|k| k * 1024)
}

/// `AnonHugePages` of /proc/self/smaps_rollup, in KiB.
pub fn anon_huge_kib() -> Option<u64> {
    kib_line(
        &std::fs::read_to_string("/proc/self/smaps_rollup").ok()?,
        "AnonHugePages:",
    )
}

fn kib_line(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn fmt_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= GIB as f64 {
        format!("{:.2} GiB", b / GIB as f64)
    } else {
        format!("{:.1} MiB", b / MIB as f64)
    }
}
