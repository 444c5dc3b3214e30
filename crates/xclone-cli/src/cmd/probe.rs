//! `xclone probe`: what this kernel and these privileges offer.

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// Print one JSON object with stable keys instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: ProbeArgs) -> i32 {
    crate::exit::fail("probe: not built yet")
}
