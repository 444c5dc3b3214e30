//! # xclone: the whole of `clone3(2)`, safely
//!
//! Layers, lowest first (each a module):
//!
//! - `sys` (private): the kernel ABI (`struct clone_args`, the 64-bit flag word with per-flag
//!   facts) and the raw system calls. All `unsafe` code of the crate lives there; the parts a
//!   caller may want raw are re-exported, unstable, by `raw` (feature `raw`).
//! - [`args`]: [`CloneArgs`], a typed request that encodes to the smallest struct size the
//!   kernel needs.
//! - [`rules`]: the kernel's checks on a clone3 request, as data, in the kernel's order.
//! - [`caller`]: [`Caller`], what those checks need to know about the calling thread.
//! - [`validate`]: explains, before the call, why the kernel would refuse a request.
//! - [`probe`]: [`Features`], what the running kernel offers, found without creating anything.
//! - [`pidfd`]: [`PidFd`], an owned process descriptor: signal, wait, poll, `getfd`.
//! - [`spawn`]: [`Command`] and [`Child`], `std::process` look-alikes that spawn with one
//!   `clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)`, fast in big and multithreaded parents.
//! - [`enter`]: [`enter::Enter`], a child of the caller created inside a running process's
//!   namespaces and cgroup, the process pinned by a pidfd.
//! - [`fallback`]: when and how a spawn uses `clone(2)` where clone3 is missing or filtered.
//! - `tokio` (feature `tokio`): an async `Command`/`Child` like `tokio::process`, driven by
//!   pidfds in tokio's reactor.
//! - [`restore`]: process trees with chosen PIDs at every pid-namespace level, read from
//!   `/proc` and created again from a JSON manifest.
//!
//! ```no_run
//! use xclone::{Command, Stdio};
//! let mut child = Command::new("sh")
//!     .args(["-c", "echo hi; exit 3"])
//!     .stdout(Stdio::piped())
//!     .die_with_parent(Some(libc::SIGKILL))
//!     .spawn()?;
//! let out = child.wait_with_output()?;
//! assert_eq!(out.stdout, b"hi\n");
//! assert_eq!(out.status.code(), Some(3));
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod args;
pub mod caller;
pub mod enter;
pub mod errno;
pub mod error;
pub mod fallback;
pub mod isolate;
pub mod kver;
pub mod pidfd;
pub mod probe;
pub mod restore;
pub mod rules;
pub mod spawn;
// The raw ABI and system calls: all the crate's `unsafe`. Private; what callers may need of
// it is typed elsewhere, or re-exported as unstable by `raw` (feature `raw`).
#[cfg(feature = "raw")]
pub mod raw;
#[cfg_attr(not(feature = "raw"), allow(dead_code))]
mod sys;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod validate;

pub use args::CloneArgs;
pub use caller::Caller;
pub use errno::Errno;
pub use error::{Error, Result};
pub use fallback::FallbackPolicy;
pub use kver::KernelVersion;
pub use pidfd::{ChildEvent, ExitStatus, PidFd, WaitOptions};
pub use probe::{Availability, Features};
pub use spawn::{Child, Command, Output, SpawnError, Stdio, Step};
pub use sys::flags::{CloneFlags, FlagInfo, FLAG_INFO};
pub use validate::{Problem, Verdict};
