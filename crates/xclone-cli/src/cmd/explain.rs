//! `xclone explain`: would the kernel accept this clone request?

use crate::options::CloneOpts;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub clone: CloneOpts,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: ExplainArgs) -> i32 {
    crate::exit::fail("explain: not built yet")
}
