//! Signal dispositions the tests rely on.

use xclone::raw::signal::{disposition, set_default, Disposition};

/// Gives `sig` its default action in this test process if it is ignored, so that the programs
/// a test starts inherit the default. A harness may start the tests with signals ignored:
/// `nohup` ignores SIGHUP, and a background job of a non-interactive shell starts with SIGINT
/// and SIGQUIT ignored; `execve` keeps ignored signals ignored, and a non-interactive shell
/// cannot trap or reset a signal that was ignored when it started. A handled signal is left
/// alone.
pub fn default_disposition(sig: i32) {
    if disposition(sig) == Ok(Disposition::Ignore) {
        set_default(sig).expect("rt_sigaction(SIG_DFL)");
    }
}
