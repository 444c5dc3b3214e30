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

# The whole-command rows run the release xclone binary, and the same statically linked
# (no dynamic loader at start-up; the glibc static libraries come with libc6-dev), kept apart
# in target/static.
cargo build --release -p xclone-cli
cargo rustc --release -p xclone-cli --bin xclone --target-dir target/static \
  -- -C target-feature=+crt-static

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
cargo bench -p xclone --bench spawn -- "${args[@]}"
