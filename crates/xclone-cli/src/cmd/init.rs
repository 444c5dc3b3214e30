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
    // Executed through a descriptor, this process is named after the descriptor's number
    // (the kernel takes the command name from the last part of "/dev/fd/N"): `ps` would
    // show "5". Named as its argv[0] is.
    let _ = rustix::thread::set_name(c"xclone");
    let mut cmd = Command::new(program);
    cmd.args(args);
    let mut r = xclone::isolate::init::run(&mut cmd);
    if let Err(e) = &r {
        // execvp(3)'s fallback, as in `run`.
        if let Some(path) = super::run::enoexec_path(e, cmd.last_spawn_error()) {
            let mut sh = Command::new("/bin/sh");
            sh.arg0(program).arg(path).args(args);
            cmd = sh;
            r = xclone::isolate::init::run(&mut cmd);
        }
    }
    match r {
        Ok(status) => status.shell_code(),
        Err(e) => super::run::spawn_failed(&e, Some(&cmd)),
    }
}
