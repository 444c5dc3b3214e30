//! An async supervisor on pidfds: keeps N children running and restarts each one that ends,
//! until R restarts have happened. One thread, no SIGCHLD handler, no reaper thread: every
//! child is a pidfd in tokio's reactor.
//!
//! ```sh
//! cargo run -p xclone --features tokio --example supervisor -- [N] [R] [PROGRAM ARGS...]
//! ```
//! Defaults: 4 children of `sleep 0.2`, 12 restarts.
use tokio::task::JoinSet;
use xclone::tokio::Command;

fn command(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).kill_on_drop(true); // the supervisor's end is the children's end
    cmd
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(4);
    let restarts: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(12);
    let argv = match args.get(2..) {
        Some(rest) if !rest.is_empty() => rest.to_vec(),
        _ => vec!["sleep".to_string(), "0.2".to_string()],
    };

    let mut running = JoinSet::new();
    for slot in 0..n {
        let mut child = command(&argv).spawn()?;
        running.spawn(async move { (slot, child.wait().await) });
    }
    let mut done = 0;
    while let Some(ended) = running.join_next().await {
        let (slot, status) = ended.expect("a supervision task never panics");
        println!("slot {slot}: {}", status?);
        if done == restarts {
            continue; // draining: let the others finish
        }
        done += 1;
        let mut child = command(&argv).spawn()?;
        println!(
            "slot {slot}: restarted as {} ({done}/{restarts})",
            child.id().unwrap_or(0)
        );
        running.spawn(async move { (slot, child.wait().await) });
    }
    Ok(())
}
