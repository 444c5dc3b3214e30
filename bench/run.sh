#!/usr/bin/env bash
# Runs the whole spawn benchmark suite and writes BENCHMARKS.md (issue 8).
#
#   bench/run.sh                 full run (a few minutes; root for the isolation rows)
#   bench/run.sh --quick         smoke run (seconds; small memory levels, few rounds),
#                                written to target/BENCHMARKS-quick.md
#   bench/run.sh --only spawn    one section (spawn, throughput, isolation, commands, api)
#   bench/run.sh --write FILE    write somewhere else
#
# Needs gcc and static glibc (Debian: gcc libc6-dev) for the two exec targets, and
# util-linux (unshare, nsenter) for the whole-command rows.
set -euo pipefail
cd "$(dirname "$0")/.."

# The whole-command rows run the release xclone binary (statically linked, see
# .cargo/config.toml), and for comparison the same code linked dynamically, kept apart in
# target/dynamic.
cargo build --release -p xclone-cli
# (RUSTFLAGS replaces the config's target rustflags.)
RUSTFLAGS="-C target-feature=-crt-static" \
  cargo build --release -p xclone-cli --target-dir target/dynamic

# A quick run never overwrites the committed BENCHMARKS.md unless told to. Paths are made
# absolute: cargo runs the bench from crates/xclone.
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = --write ] && [ $# -gt 1 ]; then
    args+=(--write "$(realpath -m "$2")")
    shift 2
  else
    args+=("$1")
    shift
  fi
done
case " ${args[*]} " in
  *" --write "*) ;;
  *" --quick "*) args+=(--write "$PWD/target/BENCHMARKS-quick.md") ;;
  *) args+=(--write "$PWD/BENCHMARKS.md") ;;
esac
# The tokio feature: the async section compares xclone::tokio with tokio::process.
cargo bench -p xclone --features tokio,serde --bench spawn -- "${args[@]}"
