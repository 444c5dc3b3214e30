//! # xclone: the whole of `clone3(2)`, safely
//!
//! Layers, lowest first (each a module):
//!
//! - [`sys`]: the kernel ABI (`struct clone_args`, the 64-bit flag word with per-flag facts)
//!   and the raw system calls. All `unsafe` code of the crate lives there.
//! - [`args`]: [`CloneArgs`], a typed request that encodes to the smallest struct size the
//!   kernel needs.
//! - [`validate`]: explains, before the call, why the kernel would refuse a request.
//! - [`probe`]: [`Features`], what the running kernel offers, found without creating anything.
//! - [`restore`]: process trees with chosen PIDs at every pid-namespace level, read from
//!   `/proc` and created again from a JSON manifest.

pub mod args;
pub mod caller;
pub mod errno;
pub mod error;
pub mod kver;
pub mod probe;
pub mod restore;
pub mod sys;
pub mod validate;

pub use args::CloneArgs;
pub use caller::Caller;
pub use errno::Errno;
pub use error::{Error, Result};
pub use kver::KernelVersion;
pub use probe::{Availability, Features};
pub use sys::flags::{CloneFlags, FlagInfo, FLAG_INFO};
pub use validate::Problem;
