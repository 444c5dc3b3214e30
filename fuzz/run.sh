#!/usr/bin/env bash
# Builds and runs the libFuzzer targets on stable Rust: coverage instrumentation
# (SanitizerCoverage, stable -C flags) and libFuzzer from libfuzzer-sys; no sanitizer, since
# -Zsanitizer needs a nightly compiler (ASAN=1 adds it through RUSTC_BOOTSTRAP=1, which
# stable rustc accepts for this). Panics and aborts are the crashes looked for.
#
#   bash fuzz/run.sh [TARGET|all] [SECONDS]     # default: all, 60 s per target
#
# Each target starts from its committed corpus (fuzz/corpus/TARGET) and writes new inputs to
# target/fuzz-corpus/TARGET (not committed); a crash is saved as target/fuzz-artifacts/
# TARGET/crash-* and the script fails. Reproduce one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/TARGET target/fuzz-artifacts/TARGET/crash-…
set -euo pipefail
cd "$(dirname "$0")"
which="${1:-all}"
secs="${2:-60}"
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks \
-Cforce-frame-pointers=yes"
if [ "${ASAN:-0}" = 1 ]; then
  export RUSTC_BOOTSTRAP=1
  flags="$flags -Zsanitizer=address"
fi
# RUSTFLAGS replaces the repository's crt-static flags (libFuzzer links dynamically).
export RUSTFLAGS="$flags"
cargo build --release --bins --target x86_64-unknown-linux-gnu
targets=(manifest options)
[ "$which" = all ] || targets=("$which")
for t in "${targets[@]}"; do
  work="../target/fuzz-corpus/$t"
  art="../target/fuzz-artifacts/$t"
  mkdir -p "$work" "$art"
  echo "fuzz: $t for ${secs}s"
  "target/x86_64-unknown-linux-gnu/release/$t" "$work" "corpus/$t" \
    -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$art/" -print_final_stats=1
done
