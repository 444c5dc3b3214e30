//! Fuzzed command lines, as an ordinary test: the committed corpus (fuzz/corpus/options,
//! arguments separated by NUL bytes) and `XCLONE_FUZZ_ARGVS` (default 10,000) mutations of
//! it, from seed `XCLONE_FUZZ_SEED`, through the oracle the libFuzzer target uses
//! (fuzz/oracles/options.rs): clap and every value parser, in-process. A failing input is
//! saved under target/fuzz-failures. See RELIABILITY.md.

include!("../../../fuzz/oracles/options.rs");
include!("../../../fuzz/oracles/mutate.rs");

/// Subcommands, every option name, and values at the edges of what they take (a NUL starts a
/// new argument).
const DICT: &[&[u8]] = &[
    b"\0run\0",
    b"\0explain\0",
    b"\0enter\0",
    b"\0restore\0",
    b"\0tree\0",
    b"\0probe\0",
    b"\0__init\0",
    b"\0--\0",
    b"\0--all",
    b"\0--autoreap",
    b"\0--boottime\0",
    b"\0--cgroup",
    b"\0--cgroup-of-caller",
    b"\0--cgroup-of-target",
    b"\0--clear-sighand",
    b"\0--detach",
    b"\0--dry-run",
    b"\0--empty-mount-ns",
    b"\0--env\0",
    b"\0--env-of-target",
    b"\0--exit-signal\0",
    b"\0--fd-map\0",
    b"\0--flags\0",
    b"\0--help",
    b"\0--hostname\0",
    b"\0--init",
    b"\0--into-cgroup\0",
    b"\0--ipc",
    b"\0--json",
    b"\0--json-status-fd\0",
    b"\0--kernel\0",
    b"\0--kill-child",
    b"=SIGTERM",
    b"\0--map-current-user",
    b"\0--map-group\0",
    b"\0--map-groups\0",
    b"\0--map-root-user",
    b"\0--map-user\0",
    b"\0--map-users\0",
    b"\0--monotonic\0",
    b"\0--mount",
    b"\0--mount-proc",
    b"\0--net",
    b"\0--no-fallback",
    b"\0--no-new-privs",
    b"\0--pid",
    b"\0--pidfd-autokill",
    b"\0--pivot-root",
    b"\0--preserve-credentials",
    b"\0--propagation\0",
    b"\0--root",
    b"\0--set-tid\0",
    b"\0--setgid\0",
    b"\0--setgroups\0",
    b"\0--setuid\0",
    b"\0--target\0",
    b"\0--target-pidfd\0",
    b"\0--time",
    b"\0--user",
    b"\0--uts",
    b"\0--wd",
    b"\0-C",
    b"\0-G",
    b"\0-S",
    b"\0-T",
    b"\0-U",
    b"\0-a",
    b"\0-h",
    b"\0-i",
    b"\0-m",
    b"\0-n",
    b"\0-p",
    b"\0-r",
    b"\0-t",
    b"\0-u",
    b"\0-w",
    b"\0-V",
    b"0",
    b"-1",
    b"1",
    b"65",
    b"4294967296",
    b"9223372036854775808",
    b"2147483647",
    b"1,2,3",
    b",",
    b":",
    b"|",
    b"=",
    b"SIGKILL",
    b"SIGRTMIN+3",
    b"RTMAX-1",
    b"CLONE_NEWPID|CLONE_THREAD",
    b"0x1f",
    b"5.4",
    b"99.99.99",
    b"0 1000 1",
    b"0:1000:1",
    b"u:0:0:1",
    b"A=b",
    b"=x",
    b"/",
    b"\xff\xfe",
    b"\xc3\xa9",
];

#[test]
fn mutated_command_lines() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/options");
    let corpus = load_corpus(&dir);
    assert!(
        corpus.len() >= 5,
        "the committed corpus is in fuzz/corpus/options"
    );
    let seed = fuzz_seed();
    for (i, c) in corpus.iter().enumerate() {
        run_case("options-corpus", 0, i, c, options_case);
    }
    let mut rng = Rng::new(seed);
    let n = fuzz_cases("XCLONE_FUZZ_ARGVS", 10_000);
    for i in 0..n {
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let data = mutate(base, other, DICT, &mut rng);
        run_case("options", seed, i, &data, options_case);
    }
    println!(
        "{} corpus entries and {n} mutated command lines (seed {seed})",
        corpus.len()
    );
}

#[test]
fn the_oracle_sees_a_bad_usage_line() {
    // The corpus's usage error is one line with the pointer (what the oracle checks).
    let e = xclone_cli::parse(options_argv(b"run")).unwrap_err();
    let line = xclone_cli::usage_line(&e);
    assert!(line.ends_with("(see 'xclone run --help')"), "{line}");
    assert_eq!(options_argv(b"").len(), 1);
    assert_eq!(options_argv(b"a\0\0b").len(), 4);
}
