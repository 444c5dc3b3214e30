//! # xclone: the whole of `clone3(2)`, safely
//!
//! Layers, lowest first:
//!
//! - `sys` (private): the kernel ABI (`struct clone_args`, the 64-bit flag word with per-flag
//!   facts) and the raw system calls. All `unsafe` code of the crate lives there; the parts a
//!   caller may want raw are re-exported, unstable, by `raw` (feature `raw`).
//! - [`CloneArgs`] and [`CloneFlags`]: a typed request that encodes to the smallest struct
//!   size the kernel needs.
//! - [`rules`]: the kernel's checks on a clone3 request, as data, in the kernel's order.
//! - [`caller`]: [`caller::Caller`], what those checks need to know about the calling thread.
//! - [`validate`]: explains, before the call, why the kernel would refuse a request.
//! - [`probe`]: [`probe::Features`], what the running kernel offers, found without creating
//!   anything.
//! - [`PidFd`]: an owned process descriptor: signal, wait, poll, `getfd`.
//! - [`Command`] and [`Child`] (module [`spawn`]): `std::process` look-alikes that spawn with
//!   one `clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)`, fast in big and multithreaded
//!   parents.
//! - [`isolate`]: what a new namespace needs besides its flag (id maps, time offsets, mounts,
//!   cgroup), set on a [`Command`].
//! - [`enter`]: [`enter::Enter`], a child of the caller created inside a running process's
//!   namespaces and cgroup, the process pinned by a pidfd.
//! - [`fallback`]: when and how a spawn uses `clone(2)` where clone3 is missing or filtered.
//! - [`unshare`] and [`setns`]: the two calls that change the *calling thread*'s namespaces,
//!   validated against rules of their own ([`rules::ns`]) and explained when refused.
//! - `tokio` (feature `tokio`): an async `Command`/`Child` like `tokio::process`, driven by
//!   pidfds in tokio's reactor.
//! - [`restore`]: process trees with chosen PIDs at every pid-namespace level, read from
//!   `/proc` and created again from a JSON manifest.
//!
//! ## One path per item
//!
//! Every public type, function and constant has exactly one public path:
//!
//! - the types of a spawn and its process ([`Command`], [`Child`], [`PidFd`], [`ExitStatus`],
//!   [`CloneArgs`], [`CloneFlags`], [`Error`], [`Errno`], ...) are at the crate root, and
//!   only there;
//! - a layer module ([`isolate`], [`enter`], [`restore`], [`probe`], [`validate`], [`rules`],
//!   [`unshare`], [`setns`], [`caller`], [`fallback`], `tokio`, `raw`) holds the items of that
//!   layer, including the one its own file defines (`probe::Features`, `validate::Verdict`,
//!   `caller::Caller`), which the root does not repeat;
//! - a module that is only a file boundary inside a layer is private, its items re-exported
//!   once by the layer (`xclone::isolate::TimeOffsets`, never `isolate::timens::...`).
//!
//! Items with the same name in two places are different items: `tokio::Command` is the
//! async command, `restore::Step` a step of a restore, `unshare::validate` and
//! `setns::validate` check different calls. `ci/one-path.sh` checks this on the generated
//! documentation.
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

#![deny(missing_docs)]

pub(crate) mod args;
pub mod caller;
pub mod enter;
pub(crate) mod errno;
pub(crate) mod error;
pub mod fallback;
pub mod isolate;
pub(crate) mod kver;
mod nscheck;
pub(crate) mod pidfd;
pub mod probe;
pub mod restore;
pub mod rules;
pub mod setns;
pub mod spawn;
// The raw ABI and system calls: all the crate's `unsafe`. Private; what callers may need of
// it is typed elsewhere, or re-exported as unstable by `raw` (feature `raw`).
#[cfg(feature = "raw")]
pub mod raw;
#[cfg_attr(not(feature = "raw"), allow(dead_code))]
mod sys;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod unshare;
pub mod validate;

pub use args::{CloneArgs, Encoded};
pub use errno::Errno;
pub use error::{Error, Result};
pub use kver::KernelVersion;
pub use pidfd::{ChildEvent, ExitStatus, PidFd, WaitOptions};
pub use spawn::child::{Child, Output};
pub use spawn::command::{Command, CommandEnvs, Stdio};
pub use spawn::report::{SpawnError, Step};
pub use sys::flags::{CloneFlags, FlagInfo, FLAG_INFO};

// Short paths inside the crate only: each of these types has its one public path in the
// layer module whose file defines it (`caller::Caller`, `probe::Features`, ...).
pub(crate) use caller::Caller;
pub(crate) use fallback::FallbackPolicy;
pub(crate) use probe::Features;
