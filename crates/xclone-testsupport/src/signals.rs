//! Signal dispositions the tests rely on.

/// Gives `sig` its default action in this test process if it is ignored, so that the programs
/// a test starts inherit the default. A harness may start the tests with signals ignored:
/// `nohup` ignores SIGHUP, and a background job of a non-interactive shell starts with SIGINT
/// and SIGQUIT ignored; `execve` keeps ignored signals ignored, and a non-interactive shell
/// cannot trap or reset a signal that was ignored when it started. A handled signal is left
/// alone.
pub fn default_disposition(sig: i32) {
    // SAFETY: sigaction(2) reads this process's disposition of `sig` into a zeroed struct
    // owned here; signal(2) then only replaces SIG_IGN with SIG_DFL (no handler is installed).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
        {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}
