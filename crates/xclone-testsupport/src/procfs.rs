//! Readers of `/proc` (proc(5)) and of the clocks, as the tests observe processes.

use std::fmt::Display;
use std::path::Path;

/// Whether `/proc/PID` exists: a process (or thread) of that PID is visible in our pid
/// namespace.
pub fn exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// `/proc/sys/kernel/pid_max`: PIDs are below it.
pub fn pid_max() -> i32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `k` consecutive PIDs that nobody uses right now, somewhere high in the PID space and
/// at random (tests that choose PIDs run concurrently).
pub fn free_pids(k: usize) -> Vec<i32> {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    let hi = pid_max().min(32768) - k as i32 - 1;
    let lo = 20000.min(hi / 2);
    for _ in 0..1000 {
        let r = RandomState::new().hash_one(std::time::SystemTime::now()) as i32;
        let start = lo + r.rem_euclid(hi - lo);
        let pids: Vec<i32> = (start..start + k as i32).collect();
        if pids.iter().all(|&p| !exists(p)) {
            return pids;
        }
    }
    panic!("no {k} free consecutive PIDs found");
}

/// A PID that is free now, the first one from about `near` on (best effort: PIDs are handed
/// out concurrently).
pub fn free_pid(near: i32) -> i32 {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    let start = near % (max - 1000) + 500;
    (start..max - 1)
        .chain(300..start)
        .find(|p| !exists(*p))
        .expect("a free pid")
}

/// The value of field `key` (with its colon, `"PPid:"`) of `/proc/PID/status`
/// (proc_pid_status(5)), trimmed. `pid` may be `"self"`.
pub fn status_field(pid: impl Display, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap()
        .trim()
        .to_string()
}

/// The PIDs of a process in each pid namespace it is in, from ours inwards (`NSpid`).
pub fn nspid(pid: i32) -> Vec<i32> {
    status_field(pid, "NSpid:")
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

/// The parent's PID as seen from here (`PPid`).
pub fn ppid(pid: i32) -> i32 {
    status_field(pid, "PPid:").parse().unwrap()
}

/// The `/proc/PID/ns/NAME` link of a process (`net:[4026531840]`); `pid` may be `"self"`.
pub fn ns_link(pid: impl Display, name: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The `/proc/self/ns/NAME` link of this process (`user:[4026531837]`).
pub fn own_ns(name: &str) -> String {
    ns_link("self", name)
}

/// The cgroup2 line (`0::/path`) of a `/proc/PID/cgroup` text (cgroups(7)).
pub fn cgroup2_line(text: &str) -> Option<&str> {
    text.lines().find(|l| l.starts_with("0::"))
}

/// The cgroup2 line of a process (`/proc/PID/cgroup`); `pid` may be `"self"`.
pub fn cgroup2_of(pid: impl Display) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    cgroup2_line(&text).map(str::to_string)
}

/// The first field of `/proc/uptime`: seconds since boot as this process's time namespace
/// shows them (CLOCK_BOOTTIME, two decimals).
pub fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A clock reading in nanoseconds.
pub fn nanos(t: rustix::time::Timespec) -> i128 {
    t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128
}

/// CLOCK_MONOTONIC and CLOCK_BOOTTIME now (clock_gettime(2)), in nanoseconds: the two
/// clocks a time namespace offsets (time_namespaces(7)).
pub fn clocks() -> [i128; 2] {
    use rustix::time::{clock_gettime, ClockId};
    [
        nanos(clock_gettime(ClockId::Monotonic)),
        nanos(clock_gettime(ClockId::Boottime)),
    ]
}
