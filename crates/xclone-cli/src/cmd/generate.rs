//! `xclone __generate DIR` (hidden): the man pages and shell completions, generated from the
//! command-line definitions themselves, so they cannot drift from them. The generated
//! files are committed under `crates/xclone-cli/` (`man/`, `completions/`); a test compares
//! them with a fresh generation. See docs/install.md for installing them.

use clap::CommandFactory;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The directory to write `man/*.1` and `completions/*` into.
    pub dir: PathBuf,
}

pub fn run(a: GenerateArgs) -> i32 {
    match generate(&crate::Cli::command(), &a.dir) {
        Ok(()) => 0,
        Err(e) => crate::exit::fail(format!("__generate {}: {e}", a.dir.display())),
    }
}

/// Writes `DIR/man/xclone.1`, `DIR/man/xclone-SUBCOMMAND.1` for each visible subcommand,
/// and `DIR/completions/{xclone.bash,_xclone,xclone.fish}`.
pub fn generate(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&comp)?;
    let mut cmd = cmd.clone();
    cmd.build();
    write_man(&cmd, &man, "xclone")?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("xclone-{}", sub.get_name());
        let sub = sub.clone().name(name.clone());
        write_man(&sub, &man, &name)?;
    }
    use clap_complete::{generate as complete, Shell};
    for (shell, file) in [
        (Shell::Bash, "xclone.bash"),
        (Shell::Zsh, "_xclone"),
        (Shell::Fish, "xclone.fish"),
    ] {
        let mut out = Vec::new();
        complete(shell, &mut cmd.clone(), "xclone", &mut out);
        std::fs::write(comp.join(file), out)?;
    }
    Ok(())
}

fn write_man(cmd: &clap::Command, dir: &Path, name: &str) -> std::io::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    std::fs::write(dir.join(format!("{name}.1")), out)
}
