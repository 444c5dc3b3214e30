// The command-line oracle, shared by the libFuzzer target (fuzz/fuzz_targets/options.rs) and
// the stable test (crates/xclone-cli/tests/fuzz_options.rs) through `include!`.

/// The argument vector in `data`: arguments separated by NUL bytes (which no argument can
/// hold), after the program name.
pub fn options_argv(data: &[u8]) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    let mut args = vec![std::ffi::OsString::from("xclone")];
    if !data.is_empty() {
        args.extend(
            data.split(|&b| b == 0)
                .map(|a| std::ffi::OsString::from_vec(a.to_vec())),
        );
    }
    args
}

/// The longest usage error line accepted: each echoed word is cut (32 characters), so only a
/// line naming many arguments comes near it.
pub const USAGE_LINE_MAX: usize = 600;

/// Whatever the arguments: xclone's parser (clap and every value parser of every
/// subcommand) answers without panicking, and a usage error is reported in one line of
/// bounded length that points at `--help`.
pub fn options_case(data: &[u8]) {
    let args = options_argv(data);
    if let Err(e) = xclone_cli::parse(args) {
        if !e.use_stderr() {
            return; // help or version, printed as clap prints them
        }
        let line = xclone_cli::usage_line(&e);
        assert!(
            !line.contains('\n'),
            "usage error on more than one line: {line:?}"
        );
        assert!(
            line.chars().count() <= USAGE_LINE_MAX,
            "usage error of {} characters: {line}",
            line.chars().count()
        );
        assert!(line.ends_with("--help')"), "no pointer to --help: {line}");
    }
}
