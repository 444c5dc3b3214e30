//! Mutated restore manifests, as an ordinary test: the committed corpus (fuzz/corpus/manifest)
//! and `XCLONE_FUZZ_MANIFESTS` (default 3,000) mutations of it, from seed `XCLONE_FUZZ_SEED`,
//! through the oracle that the libFuzzer target uses (fuzz/oracles/manifest.rs). A failing
//! input is saved under target/fuzz-failures. See RELIABILITY.md.

include!("../../../fuzz/oracles/manifest.rs");
include!("../../../fuzz/oracles/mutate.rs");

/// Words of the manifest language and values at the edges of what it takes.
const DICT: &[&[u8]] = &[
    b"\"version\"",
    b"\"processes\"",
    b"\"id\"",
    b"\"parent\"",
    b"\"pids\"",
    b"\"new_pid_ns\"",
    b"\"sid\"",
    b"\"pgid\"",
    b"\"program\"",
    b"\"argv\"",
    b"\"env\"",
    b"\"cwd\"",
    b"null",
    b"true",
    b"false",
    b"0",
    b"-1",
    b"1",
    b"2147483647",
    b"2147483648",
    b"-2147483648",
    b"4294967296",
    b"1e308",
    b"1.5",
    b"[]",
    b"{}",
    b"[[[[[[[[",
    b"]]]]",
    b"\"\"",
    b"\"\\u0000\"",
    b"\"a\\nb\"",
    b"\"\xc3\xa9\"",
    b",",
    b":",
    b"\"p0\"",
    b"\"p1\"",
    b"[1, 1]",
    b"[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33]",
];

#[test]
fn mutated_manifests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/manifest");
    let corpus = load_corpus(&dir);
    assert!(
        corpus.len() >= 5,
        "the committed corpus is in fuzz/corpus/manifest"
    );
    let seed = fuzz_seed();
    for (i, c) in corpus.iter().enumerate() {
        run_case("manifest-corpus", 0, i, c, manifest_case);
    }
    let mut rng = Rng::new(seed);
    let n = fuzz_cases("XCLONE_FUZZ_MANIFESTS", 3000);
    for i in 0..n {
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let data = mutate(base, other, DICT, &mut rng);
        run_case("manifest", seed, i, &data, manifest_case);
    }
    println!(
        "{} corpus entries and {n} mutated manifests (seed {seed})",
        corpus.len()
    );
}
