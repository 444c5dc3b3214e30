//! Stacks for `CLONE_VM` children: an anonymous mapping with an inaccessible guard page
//! below it, so a child that overflows dies of SIGSEGV instead of silently writing into the
//! parent's memory (which it shares).

use std::cell::Cell;
use std::io;

/// The usable size of a spawn stack. Pages are only touched on use, so a generous size costs
/// nothing; it leaves room for `pre_exec` hooks.
pub const SPAWN_STACK_SIZE: usize = 256 * 1024;

fn page_size() -> usize {
    rustix::param::page_size()
}

/// A mapped stack: `[guard page][usable bytes]`, unmapped on drop.
#[derive(Debug)]
pub struct ChildStack {
    map: *mut u8,
    map_len: usize,
    guard: usize,
}

// SAFETY: a `ChildStack` owns its mapping outright (nothing else unmaps it); unmapping it
// from another thread is as sound as from this one, so it may move between threads.
unsafe impl Send for ChildStack {}
// SAFETY: `&ChildStack` only reads the address and size fields (no interior mutability);
// what a child does on the memory is the spawner's business, not the shared reference's.
unsafe impl Sync for ChildStack {}

impl ChildStack {
    /// Maps `size` usable bytes (rounded up to pages) above a guard page.
    pub fn new(size: usize) -> io::Result<Self> {
        let page = page_size();
        let usable = size.div_ceil(page).max(1) * page;
        let map_len = usable + page;
        // SAFETY: a fresh private anonymous mapping at an address the kernel chooses; it
        // overlaps nothing of ours.
        let map = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack {
            map: map as *mut u8,
            map_len,
            guard: page,
        };
        // SAFETY: the lowest page of the mapping we own becomes inaccessible.
        if unsafe { libc::mprotect(map, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error()); // `stack` unmaps on drop
        }
        Ok(stack)
    }

    /// Lowest usable address (what `clone_args.stack` takes).
    pub fn lowest(&self) -> *mut u8 {
        self.map.wrapping_add(self.guard)
    }

    /// Usable size in bytes (what `clone_args.stack_size` takes).
    pub fn size(&self) -> usize {
        self.map_len - self.guard
    }

    /// One past the highest usable address (the initial stack pointer for clone(2)).
    pub fn top(&self) -> *mut u8 {
        self.map.wrapping_add(self.map_len)
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping this value owns; no child runs on it any
        // more (the spawner holds the stack until the child has exec'd or exited).
        unsafe { libc::munmap(self.map as *mut libc::c_void, self.map_len) };
    }
}

thread_local! {
    static CACHED: Cell<Option<ChildStack>> = const { Cell::new(None) };
}

/// A spawn stack, reused per thread: taking it leaves the cache empty, so nested or
/// concurrent use on the same thread maps a fresh one instead of sharing.
pub fn take_spawn_stack() -> io::Result<ChildStack> {
    match CACHED.try_with(|c| c.take()) {
        Ok(Some(s)) => Ok(s),
        _ => ChildStack::new(SPAWN_STACK_SIZE),
    }
}

/// Returns a stack to the calling thread's cache. Only call this once no child can run on
/// it any more (after a `CLONE_VFORK` clone has returned).
pub fn return_spawn_stack(stack: ChildStack) {
    let _ = CACHED.try_with(|c| {
        if let Some(old) = c.replace(Some(stack)) {
            drop(old);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_page_below() {
        let s = ChildStack::new(1000).unwrap();
        assert_eq!(s.size(), page_size());
        assert_eq!(s.top() as usize - s.lowest() as usize, s.size());
        // The usable area is writable.
        // SAFETY: writing inside the usable mapping we own.
        unsafe { s.lowest().write(1) };
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let guard = format!(
            "{:x}-{:x} ---p",
            s.lowest() as usize - page_size(),
            s.lowest() as usize
        );
        assert!(maps.contains(&guard), "no guard page {guard} in\n{maps}");
    }

    #[test]
    fn cache_reuses() {
        std::thread::spawn(|| {
            let a = take_spawn_stack().unwrap();
            let p = a.lowest();
            return_spawn_stack(a);
            let b = take_spawn_stack().unwrap();
            assert_eq!(b.lowest(), p);
            let c = take_spawn_stack().unwrap();
            assert_ne!(c.lowest(), p);
        })
        .join()
        .unwrap();
    }
}
