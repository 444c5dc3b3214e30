//! The exit statuses of the command line, shared by every subcommand.

/// xclone itself failed (bad options, a setup step, a refused request).
pub const FAILURE: i32 = 125;
/// The program was found but could not be executed.
#[allow(dead_code)] // for `run`, which lands with the spawner
pub const CANNOT_EXECUTE: i32 = 126;
/// The program was not found.
#[allow(dead_code)] // for `run`, which lands with the spawner
pub const NOT_FOUND: i32 = 127;

/// Prints one line on stderr and returns [`FAILURE`].
pub fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("xclone: {msg}");
    FAILURE
}
