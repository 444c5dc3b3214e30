//! What the numbers were taken on.

use std::ffi::CStr;

#[derive(Clone, Debug, Default)]
pub struct Machine {
    pub kernel: String,
    pub cpu: String,
    pub cpus: usize,
    pub mem_total: String,
    pub glibc: String,
    pub thp: String,
    pub date: String,
    pub load_before: String,
    pub load_after: String,
    /// Share of all CPU time spent on other work just before measuring (see [`wait_quiet`]).
    pub busy_before: Option<f64>,
    /// How long the bench waited for the machine to become quiet.
    pub waited_secs: f64,
    pub root: bool,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub fn loadavg() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn uname() -> String {
    // SAFETY: `utsname` is plain data; uname fills it with NUL-terminated strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown".into();
    }
    let s = |f: &[libc::c_char]| {
        // SAFETY: the kernel NUL-terminates every utsname field.
        unsafe { CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.machine))
}

fn glibc() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
    v.to_string_lossy().into_owned()
}

fn utc_now() -> String {
    // SAFETY: time(NULL) and gmtime_r on a zeroed, caller-owned tm.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::gmtime_r(&t, &mut tm);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min
        )
    }
}

impl Machine {
    pub fn collect() -> Machine {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mem_total = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| super::memory::fmt_bytes(kib * 1024))
            .unwrap_or_default();
        Machine {
            kernel: uname(),
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total,
            glibc: glibc(),
            thp: read("/sys/kernel/mm/transparent_hugepage/enabled")
                .trim()
                .to_string(),
            date: utc_now(),
            load_before: loadavg(),
            load_after: String::new(),
            busy_before: None,
            waited_secs: 0.0,
            // SAFETY: geteuid cannot fail.
            root: unsafe { libc::geteuid() } == 0,
        }
    }
}

/// (busy, total) jiffies of all CPUs from the first line of /proc/stat.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = read("/proc/stat");
    let v: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Waits (at most `limit`) until other work uses under 5 % of the CPUs over a second, and
/// returns that share and the time waited. `bench/run.sh` builds right before measuring,
/// and the one-minute load average still counts that build for a minute or two: what is
/// recorded is the CPU time others used while the bench itself slept.
pub fn wait_quiet(limit: std::time::Duration) -> (Option<f64>, f64) {
    let start = std::time::Instant::now();
    loop {
        let Some(a) = cpu_jiffies() else {
            return (None, 0.0);
        };
        std::thread::sleep(std::time::Duration::from_secs(1));
        let Some(b) = cpu_jiffies() else {
            return (None, 0.0);
        };
        let total = b.1.saturating_sub(a.1).max(1);
        let busy = b.0.saturating_sub(a.0) as f64 / total as f64;
        if busy < 0.05 || start.elapsed() >= limit {
            return (Some(busy), start.elapsed().as_secs_f64());
        }
    }
}
