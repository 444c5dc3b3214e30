//! `xclone __init -- PROGRAM [ARGS…]` (hidden): what `xclone run --init` executes as PID 1 of
//! the new pid namespace. It runs the program as PID 2, forwards signals to it, reaps every
//! orphan of the namespace, and exits with the program's status — 128+N when the program
//! was killed by signal N, since PID 1 cannot die of a signal it has no handler for.
//! See [`xclone::isolate::init`].

use crate::exit;
use std::ffi::OsString;
use xclone::Command;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    pub command: Vec<OsString>,
}

pub fn run(a: InitArgs) -> i32 {
    let Some((program, args)) = a.command.split_first() else {
        return exit::fail("__init: no program given");
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    let r = xclone::isolate::init::run(&mut cmd).or_else(|e| match super::run::enoexec_path(&e) {
        // execvp(3)'s fallback, as in `run`.
        Some(path) => {
            let mut sh = Command::new("/bin/sh");
            sh.arg0(program).arg(path).args(args);
            xclone::isolate::init::run(&mut sh)
        }
        None => Err(e),
    });
    match r {
        Ok(status) => status.shell_code(),
        Err(e) => super::run::spawn_failed(&e),
    }
}
