//! The raw layer, for callers who need the kernel's interface itself (feature `raw`).
//!
//! **Unstable**: these modules follow the kernel's ABI and this crate's internal needs, and
//! may change in any release, including patch releases. Everything here is also reachable,
//! typed and checked, through the rest of the crate: [`CloneArgs`](crate::CloneArgs) and
//! [`Command`](crate::Command) build and make clone3 calls, [`Features`](crate::Features)
//! probes. Use this module to make a call the safe layer does not offer, or to test the
//! kernel itself (as this crate's differential tests do).
//!
//! - [`abi`]: `struct clone_args` and its published sizes.
//! - [`calls`]: the `clone3`/`clone` system calls, nothing else.
//! - [`probe_calls`]: the side-effect-free calls `Features::probe` asks the kernel with.
//! - [`seccomp`]: a filter that answers clone3 with an errno (to test fallbacks).
//! - [`signal`]: signal sets, masks, dispositions and a signalfd, as raw system calls.
//! - [`fdnum`]: descriptor-number operations (`dup` to a chosen number, close-on-exec).
//! - [`stack`]: the spawn stack's size and guard.

pub use crate::sys::raw as calls;
pub use crate::sys::{abi, fdnum, probe_calls, seccomp, signal, stack};
