//! Ending the processes a test created, through pidfds (pidfd_open(2)): a pidfd names one
//! process even after its PID is reused, so clean-up never hits a stranger.

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
use std::os::fd::OwnedFd;

/// A pidfd of the process `pid`, or `None` when there is none (any more).
pub fn pidfd(pid: i32) -> Option<OwnedFd> {
    pidfd_open(Pid::from_raw(pid).unwrap(), PidfdFlags::empty()).ok()
}

/// Pidfds of those of `pids` that exist now.
pub fn pidfds(pids: &[i32]) -> Vec<OwnedFd> {
    pids.iter().filter_map(|&p| pidfd(p)).collect()
}

/// SIGKILL to each process (errors ignored: some may have ended already).
pub fn kill_fds(fds: &[OwnedFd]) {
    for fd in fds {
        let _ = pidfd_send_signal(fd, Signal::KILL);
    }
}

/// Waits until each process has ended (a pidfd polls readable once its process has exited,
/// reaped or not).
pub fn wait_fds_ended(fds: &[OwnedFd]) {
    for fd in fds {
        let mut p = [PollFd::new(fd, PollFlags::IN)];
        poll(&mut p, None).unwrap();
    }
}

/// SIGKILL to each of `pids`, then wait until each has ended.
pub fn kill_and_wait(pids: &[i32]) {
    let fds = pidfds(pids);
    kill_fds(&fds);
    wait_fds_ended(&fds);
}

/// Kills the processes (through pidfds opened while they run) when dropped, so that a failing
/// assertion leaves no tree behind holding the test's output pipes.
pub struct KillOnDrop(Vec<OwnedFd>);

impl KillOnDrop {
    /// Opens pidfds of those of `pids` that exist now.
    pub fn new(pids: &[i32]) -> Self {
        KillOnDrop(pidfds(pids))
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_fds(&self.0);
    }
}
