//! 1000 spawns with a `pre_exec_shared_memory` hook from 4 threads at once, while other threads allocate
//! and free memory all the time: no deadlock (a child that allocated or took a lock would hang
//! on the allocator's lock held by another thread), no leaked descriptor, no zombie.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use xclone::{Command, Stdio};

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn thousand_spawns_from_four_threads_under_allocation_pressure() {
    let before = fd_count();
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|seed| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed;
                let mut keep: Vec<Vec<u8>> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let size = (x % 256 * 1024) as usize + 1;
                    keep.push(vec![(x & 0xff) as u8; size]);
                    if keep.len() > 16 {
                        keep.swap_remove((x % 16) as usize);
                    }
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();

    let hooks_ran = Arc::new(AtomicUsize::new(0));
    let spawners: Vec<_> = (0..4)
        .map(|t| {
            let hooks_ran = hooks_ran.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let counter = hooks_ran.clone();
                    let mut cmd = Command::new("/bin/sh");
                    cmd.args(["-c", "exit $1", "sh"])
                        .arg(((t * 250 + i) % 200).to_string());
                    cmd.stdin(Stdio::null());
                    if i % 5 == 0 {
                        cmd.stdout(Stdio::piped());
                    }
                    // SAFETY: the hook only does an atomic increment, visible to the parent
                    // because the child shares its memory.
                    unsafe {
                        cmd.pre_exec_shared_memory(move || {
                            counter.fetch_add(1, Ordering::Relaxed);
                            Ok(())
                        });
                    }
                    let status = if i % 5 == 0 {
                        cmd.output().unwrap().status
                    } else {
                        cmd.status().unwrap()
                    };
                    assert_eq!(status.code(), Some((t * 250 + i) % 200));
                }
            })
        })
        .collect();
    for s in spawners {
        s.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for c in churners {
        assert!(c.join().unwrap() > 0);
    }
    assert_eq!(hooks_ran.load(Ordering::Relaxed), 1000);
    assert_eq!(fd_count(), before, "descriptors leaked");
    // Every child was reaped: nothing is left to wait for.
    let r = rustix::process::waitid(
        rustix::process::WaitId::All,
        rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOHANG,
    );
    assert_eq!(
        r.err(),
        Some(rustix::io::Errno::CHILD),
        "a child was left behind"
    );
}
