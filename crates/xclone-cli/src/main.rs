//! The `xclone` executable: see the library, [`xclone_cli`].

fn main() {
    std::process::exit(xclone_cli::main(std::env::args_os().collect()));
}
