//! Whether a test may do what needs privileges; the callers skip with a printed reason.

/// Whether the effective uid is 0 (namespaces, id maps, cgroups, setpriv to another user).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether this process has CAP_SYS_ADMIN in its effective set (`CapEff` of
/// proc_pid_status(5)), which restoring with chosen PIDs needs (set_tid in clone3(2), pid
/// namespaces). Prints the reason for skipping when it has not.
pub fn privileged() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|h| u64::from_str_radix(h.trim(), 16).unwrap())
        .unwrap_or(0);
    if caps & (1 << 21) == 0 {
        eprintln!("skipped: needs CAP_SYS_ADMIN (run the tests as root)");
        return false;
    }
    true
}
