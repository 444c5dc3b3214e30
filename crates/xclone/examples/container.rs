//! A mini container in one clone3 call: new user, pid, mount and UTS namespaces, you as root
//! inside, a fresh /proc, a host name, and (with `--cgroup DIR`) born in a cgroup.
//!
//! ```sh
//! cargo run -p xclone --example container -- [--cgroup /sys/fs/cgroup/box] [PROGRAM ARGS...]
//! ```
//! Without a program it runs `sh -c 'id -u; hostname; ps -e'`: uid 0, `box`, and `ps` as the
//! container's only processes. Works as an ordinary user where user namespaces are allowed.
use std::fs::File;
use xclone::isolate::{IdMaps, Propagation};
use xclone::{CloneFlags, Command};

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let cgroup = match args.first().map(String::as_str) {
        Some("--cgroup") if args.len() > 1 => Some(args.drain(..2).nth(1).unwrap()),
        _ => None,
    };
    if args.is_empty() {
        args = ["sh", "-c", "id -u; hostname; ps -e"]
            .map(String::from)
            .to_vec();
    }
    let euid = rustix::process::geteuid().as_raw();
    let egid = rustix::process::getegid().as_raw();

    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..])
        .flags(CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::NEWNS | CloneFlags::NEWUTS)
        .id_maps(IdMaps::root(euid, egid)) // root inside, the caller outside
        .mount_propagation(Propagation::Private) // nothing leaks back to the host
        .mount_proc("/proc") // shows only the container's processes
        .hostname("box");
    if let Some(dir) = cgroup {
        std::fs::create_dir_all(&dir)?; // a cgroup2 directory the caller may write
        cmd.into_cgroup(File::open(&dir)?.into()); // CLONE_INTO_CGROUP: born there
    }
    let status = cmd.status()?;
    std::process::exit(status.code().unwrap_or(128 + status.signal().unwrap_or(0)));
}
