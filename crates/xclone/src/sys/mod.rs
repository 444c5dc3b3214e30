//! The lowest layer: the kernel ABI and the raw system calls. All of the crate's `unsafe` code
//! lives below this module, each block with the invariant that makes it sound.

pub mod abi;
pub mod flags;
pub mod fork;
pub mod raw;

pub use abi::clone_args;
pub use flags::{CloneFlags, FlagInfo, FLAG_INFO};
