//! What this kernel offers, found by probing (creating nothing), as `xclone probe` says it.
//!
//! ```sh
//! cargo run -p xclone --example features
//! ```
use xclone::{probe::Features, FLAG_INFO};

fn main() {
    let f = Features::probe();
    println!("kernel {}", f.kernel_release);
    println!(
        "clone3: {:?} (reads up to {} bytes of clone_args)",
        f.clone3, f.clone_args_max_size
    );
    println!(
        "set_tid: {}, CLONE_INTO_CGROUP: {}",
        f.set_tid, f.into_cgroup
    );
    println!(
        "pidfd_open: {:?}, waitid(P_PIDFD): {}",
        f.pidfd_open, f.waitid_pidfd
    );
    println!(
        "setns(pidfd): {}, time namespaces: {}",
        f.setns_pidfd, f.time_namespaces
    );
    match &f.cgroup2_mount {
        Some(p) => println!("cgroup2 at {}", p.display()),
        None => println!("no cgroup2 hierarchy mounted"),
    }
    println!("clone3 flags:");
    for info in FLAG_INFO {
        let yes = f.clone3_accepts(info.flag);
        println!(
            "  {:<24} {:<3} {}",
            info.name,
            if yes { "yes" } else { "no" },
            info.summary
        );
    }
}
