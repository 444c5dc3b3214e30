//! One module per subcommand.

pub mod enter;
pub mod explain;
pub mod explain_ns;
pub mod generate;
pub mod init;
pub mod probe;
pub mod restore;
pub mod run;
pub mod tree;
