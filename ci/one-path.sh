#!/usr/bin/env bash
# Checks the library's rule "one public path per item" (crates/xclone/src/lib.rs, "One path
# per item") on the documentation rustdoc generates for it:
#
# - an item has a page (`struct.Command.html`, `fn.restore.html`, ...) in the directory of
#   each module under which it is publicly reachable *and* documented as its own item; a page
#   that only redirects (rustdoc writes those for private paths) does not count. The same page
#   name under two module directories is either one item at two paths (a failure) or two
#   different items of the same name, which must be listed in ALLOWED below;
# - a `pub use` whose target is public elsewhere is shown by rustdoc as a "Re-exports" line
#   instead of a page: every such line is a second path to an item (a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

# Different items that share a name, each at its one path: page name, then every module path
# (relative to the crate root, "" for the root) where a page of that name may exist.
ALLOWED='
struct.Command.html  "" tokio
struct.Child.html    "" tokio
enum.Step.html       "" restore
enum.Target.html     enter setns validate
fn.validate.html     setns unshare validate
fn.explain_errno.html setns unshare validate
fn.error.html        setns unshare
fn.current_features.html setns validate
fn.to_markdown.html  rules rules/ns
fn.clone.html        raw/calls raw/probe_calls
fn.clone3.html       raw/calls raw/probe_calls
fn.setns.html        setns raw/nscalls
fn.unshare.html      unshare raw/nscalls
'

target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# rustdoc leaves pages of items that have moved away: start from an empty directory.
rm -rf "$target_dir"/doc/xclone "$target_dir"/*/doc/xclone
out=$(cargo doc --no-deps -p xclone --all-features 2>&1) || { echo "$out"; exit 1; }
index=$(printf '%s\n' "$out" | sed -n 's/^ *Generated \(.*\/xclone\/index.html\)$/\1/p' | tail -1)
[ -n "$index" ] || { echo "$out"; echo "one-path: cannot find the generated documentation" >&2; exit 1; }

ALLOWED="$ALLOWED" python3 - "$(dirname "$index")" <<'EOF'
import os, re, shlex, sys

root = sys.argv[1]
allowed = {}
for line in os.environ["ALLOWED"].splitlines():
    words = shlex.split(line)
    if words:
        allowed[words[0]] = set(words[1:])

item_page = re.compile(r"^(struct|enum|union|trait|fn|type|constant|static|macro|traitalias|attr|derive)\.[A-Za-z0-9_]+\.html$")
pages = {}      # page name -> module directories holding a real page of that name
reexports = []  # (module, name) shown as "Re-exports" lines
for d, _, files in os.walk(root):
    module = os.path.relpath(d, root)
    module = "" if module == "." else module
    for f in files:
        path = os.path.join(d, f)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if 'http-equiv="refresh"' in text:
            continue
        if item_page.match(f):
            pages.setdefault(f, set()).add(module)
        elif f == "index.html":
            for name in re.findall(r'id="reexport\.([A-Za-z0-9_]+)"', text):
                reexports.append((module, name))

def show(module, page=None):
    parts = ["xclone"] + ([m for m in module.split("/")] if module else [])
    if page:
        parts.append(page.split(".")[1])
    return "::".join(parts)

bad = []
for page, modules in sorted(pages.items()):
    if len(modules) > 1 and not modules <= allowed.get(page, set()):
        bad.append(f"{page}: one name at " + ", ".join(show(m, page) for m in sorted(modules))
                   + " (one item at two paths, or different items missing from ALLOWED)")
for module, name in reexports:
    bad.append(f"{show(module)}: re-exports {name}, which has a public path elsewhere")
for page, modules in sorted(allowed.items()):
    if len(pages.get(page, set())) < 2:
        bad.append(f"ALLOWED lists {page} for {sorted(modules)}, but no two such pages exist: drop the line")

if bad:
    print("one-path: items with more than one public path:", file=sys.stderr)
    for b in bad:
        print("  " + b, file=sys.stderr)
    sys.exit(1)
print(f"one-path: {sum(len(m) for m in pages.values())} item pages, each item at one path")
EOF
