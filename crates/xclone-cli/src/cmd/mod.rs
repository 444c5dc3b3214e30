//! One module per subcommand.

pub mod explain;
pub mod probe;
pub mod run;
