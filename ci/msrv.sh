#!/usr/bin/env bash
# Checks that the workspace's declared rust-version is still the true minimum as far as the
# dependency tree can tell: no package that a build with every feature pulls in declares a
# newer `rust_version` than ours, and ours is not older than the newest of theirs (then the
# declared one would be a promise the dependencies break).
#
# The language and library features the project's own code uses are checked by compiling with
# a 1.85 toolchain: ci/cross.sh builds the workspace with Debian trixie's rustc 1.85.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --all-features --locked | python3 -c '
import json, sys

def ver(s):
    return tuple(int(x) for x in s.split("."))

meta = json.load(sys.stdin)
ours = {p["id"] for p in meta["packages"] if p["id"] in meta["workspace_members"]}
declared = {p["rust_version"] for p in meta["packages"] if p["id"] in ours}
if len(declared) != 1:
    sys.exit(f"msrv: workspace members declare different rust-versions: {sorted(declared)}")
msrv = declared.pop()
deps = [(p["rust_version"], p["name"], p["version"]) for p in meta["packages"]
        if p["id"] not in ours and p.get("rust_version")]
newest = max(deps, key=lambda d: ver(d[0]))
over = [d for d in deps if ver(d[0]) > ver(msrv)]
if over:
    for rv, name, v in sorted(over):
        print(f"msrv: {name} {v} needs Rust {rv}, more than the declared {msrv}", file=sys.stderr)
    sys.exit(1)
if ver(newest[0]) < ver(msrv):
    print(f"msrv: note: the newest dependency minimum is {newest[0]} ({newest[1]} {newest[2]}); "
          f"the declared {msrv} is kept for the language features the code uses")
print(f"msrv: rust-version {msrv}; newest dependency minimum {newest[0]} ({newest[1]} {newest[2]})")
'
