// A small, deterministic mutator for the stable fuzz tests (the libFuzzer targets have
// libFuzzer's): byte edits and splices of dictionary words into corpus entries. Shared
// through `include!`; no crate, no randomness source but the seed.

/// xorshift64*: reproducible from its seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The seed of a fuzz test: `XCLONE_FUZZ_SEED`, else a fixed one (a CI run is repeatable;
/// a longer run passes another seed and more cases).
pub fn fuzz_seed() -> u64 {
    std::env::var("XCLONE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c10e)
}

/// How many cases: the variable `name`, else `default`.
pub fn fuzz_cases(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The files of a corpus directory, sorted by name (the order is part of reproducibility).
pub fn load_corpus(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// `base` after one to four edits: a byte flipped, inserted, deleted or repeated, a span
/// cut out or doubled, a dictionary word put in or in place of a span, a span taken from
/// `other` (another corpus entry).
pub fn mutate(base: &[u8], other: &[u8], dict: &[&[u8]], rng: &mut Rng) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next_u64() as u8),
            2 if at < v.len() => {
                v.remove(at);
            }
            3 if at < v.len() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            4 if at < v.len() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                let span = v[at..end].to_vec();
                v.splice(at..at, span);
            }
            5 | 6 if !dict.is_empty() => {
                let w = dict[rng.below(dict.len())];
                let end = if rng.below(2) == 0 {
                    at
                } else {
                    (at + rng.below(16)).min(v.len())
                };
                v.splice(at..end, w.iter().copied());
            }
            _ if !other.is_empty() => {
                let s = rng.below(other.len());
                let e = (s + 1 + rng.below(128)).min(other.len());
                v.splice(at..at, other[s..e].iter().copied());
            }
            _ => v.push(b'0'),
        }
    }
    v
}

/// Runs `case` on `data`; a panic is re-raised naming the file `data` was saved to, under
/// `target/fuzz-failures/NAME-SEED-INDEX`, for the libFuzzer target to reproduce.
pub fn run_case(name: &str, seed: u64, index: usize, data: &[u8], case: fn(&[u8])) {
    if std::panic::catch_unwind(|| case(data)).is_err() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{name}-{seed}-{index}"));
        let _ = std::fs::write(&file, data);
        panic!(
            "{name} case {index} (seed {seed}) failed; input saved to {}",
            file.display()
        );
    }
}
