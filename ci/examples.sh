#!/usr/bin/env bash
# Builds and runs every example of the xclone crate and checks what each one printed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p xclone --features tokio --examples
dir=target/x86_64-unknown-linux-gnu/debug/examples
tmp=$(mktemp -d)
trap 'kill "${target:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

"$dir/features" > "$tmp/features"
grep -q '^clone3: ' "$tmp/features"
grep -q 'CLONE_NEWPID' "$tmp/features"
echo "examples: features ok"

"$dir/container" > "$tmp/container"
# uid 0 inside, the host name, and ps seeing only the container's own processes (no PID 2
# of the host's kthreadd, which every host ps shows).
[ "$(sed -n 1p "$tmp/container")" = 0 ]
[ "$(sed -n 2p "$tmp/container")" = box ]
grep -q '^ *1 .* sh$' "$tmp/container"
! grep -q 'kthreadd' "$tmp/container"
echo "examples: container ok"

"$dir/supervisor" 3 6 > "$tmp/supervisor"
[ "$(grep -c 'restarted as' "$tmp/supervisor")" = 6 ]
[ "$(grep -c 'exit status: 0' "$tmp/supervisor")" = 9 ]
echo "examples: supervisor ok"

# A target in a UTS namespace of its own, with a host name of its own: unshare without
# --fork execs the shell in place, so $! is the target.
mkfifo "$tmp/ready"
unshare --uts sh -c 'hostname xclone-example; echo > "$1"; exec sleep 600' sh "$tmp/ready" &
target=$!
read -r _ < "$tmp/ready"
[ "$("$dir/run_in" "$target" hostname)" = xclone-example ]
echo "examples: run_in ok"
