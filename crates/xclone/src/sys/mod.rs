//! The lowest layer: the kernel ABI and the raw system calls. All of the crate's `unsafe` code
//! lives below this module, each block with the invariant that makes it sound.

pub mod abi;
pub mod addr;
mod arch;
pub(crate) mod child;
pub mod cstr_array;
pub(crate) mod environ;
pub mod fdnum;
pub mod flags;
pub mod fork;
pub mod fsshare;
pub(crate) mod isolate;
pub mod ns;
pub mod nscalls;
pub(crate) mod pid1;
pub mod pidfd;
pub mod probe_calls;
pub mod raw;
pub(crate) mod sandbox;
pub mod seccomp;
pub(crate) mod setns;
pub mod signal;
pub mod stack;
pub(crate) mod syscall;
pub mod timens;
pub(crate) mod vfork;
pub(crate) mod vmtree;
