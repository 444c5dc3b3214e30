#!/usr/bin/env bash
# The kernel matrix: run xclone's whole test suite as root on Debian's own kernels, booted
# under qemu-system-x86_64 with TCG (no KVM), and on this machine's kernel.
#
#   ci/kernels.sh [KERNEL...]      KERNEL: 5.10.old 5.10 6.1 6.12 host all (default: all)
#   XCLONE_KERNEL_FILTER='a b'     run only the tests whose names contain one of the
#                                  space-separated words (CI's bounded slice, see .ci/run)
#   XCLONE_KERNEL_LIST=FILE        run these test executables (one path a line) instead of
#                                  building the suite
#   XCLONE_KERNEL_TARGET_DIR=DIR   build there (default target/kernel-matrix; CI passes
#                                  target, which its `cargo test` built already)
#   XCLONE_KERNEL_TEST_TIMEOUT=S   cut a test executable off after S seconds (default 1500)
#   XCLONE_KERNEL_TIMEOUT=S        end the guest after S seconds (default 5400)
#   XCLONE_KERNEL_CPUS=N           the guest's CPUs (default 2)
#
# 5.10.old is bullseye's own 5.10 (5.10.223 at the time of writing), 5.10 bullseye-security's,
# 6.1 bookworm's, 6.12 trixie's: the `linux-image-*-amd64` packages behind Debian's
# `linux-image-amd64`, downloaded with apt-get under a sources list and state of their own
# (the host's apt configuration is not touched) and unpacked with dpkg-deb, never installed.
# Downloads and unpacked kernels are cached in $XCLONE_KERNEL_CACHE
# (default ~/.cache/xclone-kernels). The guest sees the host's / read-only over virtio-9p
# (so the tests find sh, ps, unshare, ip and the test binaries at their host paths), with
# its own /proc, /sys, /dev, cgroup2 and a tmpfs /tmp. Output: one line per test binary and a
# summary per kernel (passed / failed / skipped, where "skipped" counts tests that printed
# a reason for not running); the full logs go to $XCLONE_KERNEL_CACHE/logs/.
# Needs root (the suite runs as root), qemu-system-x86, busybox-static, cpio, apt.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${XCLONE_KERNEL_CACHE:-$HOME/.cache/xclone-kernels}
mkdir -p "$cache/logs"

# name → "suite archive-url"
declare -A SUITE=(
  [5.10.old]="bullseye http://deb.debian.org/debian"
  [5.10]="bullseye-security http://deb.debian.org/debian-security"
  [6.1]="bookworm http://deb.debian.org/debian"
  [6.12]="trixie http://deb.debian.org/debian"
)
ORDER=(5.10.old 5.10 6.1 6.12)

# Unpacks the newest linux-image-*-amd64 of a suite into $cache/<name>/ and prints the dir.
fetch_kernel() {
  local name=$1 suite url dir apt
  read -r suite url <<<"${SUITE[$name]}"
  dir=$cache/$name
  if [ -e "$dir/done" ]; then echo "$dir"; return; fi
  apt=$cache/apt-$name
  rm -rf "$apt" "$dir"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/etc/preferences.d" "$apt/etc/apt.conf.d" "$dir"
  : >"$apt/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $url $suite main" >"$apt/sources.list"
  local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::Etc::Preferences="$apt/etc/preferences" -o Dir::Etc::PreferencesParts="$apt/etc/preferences.d"
    -o Dir::State="$apt" -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status"
    -o Dir::Cache="$apt" -o Dir::Cache::Archives="$apt/archives" -o APT::Architecture=amd64
    -o APT::Architectures::=amd64 -o Acquire::Languages=none -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" -qq update >&2
  # The metapackage names the versioned image package (the unsigned one where both exist).
  local pkg
  pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\(-unsigned\)\?\)$/\1/p' | head -1)
  [ -n "$pkg" ] || { echo "no linux-image-*-amd64 in $suite" >&2; return 1; }
  (cd "$apt/archives" && apt-get "${opts[@]}" -qq download "$pkg" >&2)
  dpkg-deb -x "$apt"/archives/"$pkg"_*.deb "$dir"
  rm -f "$apt"/archives/*.deb
  ls "$dir"/boot/vmlinuz-* >/dev/null
  echo "$pkg" >"$dir/package"
  touch "$dir/done"
  echo "$dir"
}

if [ "${1:-}" = "--fetch-only" ]; then
  shift
  for k in "${@:-${ORDER[@]}}"; do fetch_kernel "$k"; done
  exit 0
fi

# The kernel's modules the guest loads (with what they depend on, read with modinfo), in
# load order, decompressed into $2/lib/modules/.
MODULES=(virtio_pci virtio_blk 9pnet_virtio 9p veth overlay)
add_modules() {
  local kdir=$1 out=$2 moddir
  moddir=$(ls -d "$kdir"/lib/modules/* "$kdir"/usr/lib/modules/* 2>/dev/null | head -1)
  mkdir -p "$out/lib/modules"
  : >"$out/modules.order"
  declare -A seen=()
  add_one() {
    local m=$1 f dep
    [ -n "${seen[$m]:-}" ] && return
    seen[$m]=1
    f=$(find "$moddir" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \
      -o -name "${m//_/-}.ko" -o -name "${m//_/-}.ko.xz" -o -name "${m//_/-}.ko.zst" \) | head -1)
    [ -n "$f" ] || return 0 # built in
    case $f in
      *.xz) xz -dc "$f" >"$out/lib/modules/$m.ko.tmp" ;;
      *.zst) zstd -qdc "$f" >"$out/lib/modules/$m.ko.tmp" ;;
      *) cp "$f" "$out/lib/modules/$m.ko.tmp" ;;
    esac
    # The .modinfo section's "depends=a,b" string (what modinfo -F depends prints).
    for dep in $(tr '\0' '\n' <"$out/lib/modules/$m.ko.tmp" | sed -n 's/^depends=//p' | tr ',' ' '); do
      add_one "$dep"
    done
    mv "$out/lib/modules/$m.ko.tmp" "$out/lib/modules/$m.ko"
    echo "$m" >>"$out/modules.order"
  }
  for m in "${MODULES[@]}"; do add_one "$m"; done
}

# A busybox initramfs whose /init mounts the host's / (read-only, virtio-9p) with the
# guest's own /proc, /sys, /dev, cgroup2 and a tmpfs /tmp, switches root to it and runs
# ci/kernels-guest.sh there.
make_initramfs() {
  local kdir=$1 out=$2 tree
  tree=$(mktemp -d)
  mkdir -p "$tree"/{bin,dev,proc,sys,host,saved}
  cp /bin/busybox "$tree/bin/busybox"
  add_modules "$kdir" "$tree"
  cat >"$tree/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m.ko 2>/dev/null; done
args=$(cat /proc/cmdline)
script=${args##*xclone.script=}; script=${script%% *}
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host ||
  { echo "XCLONE-GUEST: cannot mount the host's / over 9p"; poweroff -f; }
repo=${args##*xclone.repo=}; repo=${repo%% *}
# Keep the host's built probe program: the guest's /tmp is its own.
cp -a /host/tmp/xclone-probe-* /saved/ 2>/dev/null
# The work tree may itself lie under /tmp (a CI clone): keep it reachable under the guest's
# own /tmp.
mkdir -p /repo
mount -o bind "/host$repo" /repo
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs /host/$d; done
cp -a /saved/. /host/tmp/ 2>/dev/null
if [ ! -d "/host$repo/ci" ]; then
  mkdir -p "/host$repo" && mount -o bind /repo "/host$repo"
fi
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup 2>/dev/null
# What a booted system's manager does: the controllers available for delegation below the root.
for c in $(cat /host/sys/fs/cgroup/cgroup.controllers 2>/dev/null); do
  echo "+$c" >/host/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
ip link set lo up 2>/dev/null
# switch_root, not chroot: a chrooted process may not create user namespaces
# (create_user_ns(): current_chrooted()). The host's busybox then runs as PID 1, reaping
# orphans, and powers the guest off at the end.
exec switch_root /host /bin/busybox sh -c \
  "/bin/sh $script; echo 'XCLONE-GUEST: done'; /bin/busybox poweroff -f"
INIT
  chmod +x "$tree/init"
  (cd "$tree" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
  rm -rf "$tree"
}

# The static test binaries and xclone, built once; prints the list file.
build_tests() {
  local list=$cache/tests.list
  # A target directory of its own: the guest reads the binaries while it runs, so a build in
  # the work tree meanwhile must not replace them. Under target/ (not the cache in root's
  # home), since tests run the binaries again as uid 65534.
  CARGO_TARGET_DIR=${XCLONE_KERNEL_TARGET_DIR:-$repo/target/kernel-matrix} cargo test --workspace --all-features --no-run --message-format=json 2>/dev/null |
    grep '"test":true' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep -E -- '-[0-9a-f]{16}$' | sort -u >"$list"
  [ -s "$list" ] || { echo "no test executables built" >&2; return 1; }
  while read -r exe; do
    if file "$exe" | grep -q 'dynamically linked'; then
      echo "warning: $exe is dynamically linked" >&2
    fi
  done <"$list"
  echo "$list"
}

# Boots kernel $1 and runs the suite; the guest's console goes to the log.
run_kernel() {
  local name=$1 list=$2 kdir vmlinuz initrd log
  kdir=$(fetch_kernel "$name")
  vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)
  initrd=$cache/initramfs-$name.cpio.gz
  make_initramfs "$kdir" "$initrd"
  log=$cache/logs/$name.log
  echo "== $name: $(cat "$kdir/package") ($(basename "$vmlinuz")), log $log"
  timeout --foreground "${XCLONE_KERNEL_TIMEOUT:-5400}" qemu-system-x86_64 \
    -accel tcg -cpu max -smp "${XCLONE_KERNEL_CPUS:-2}" -m 2048 -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 cryptomgr.notests nowatchdog no_timer_check xclone.script=$repo/ci/kernels-guest.sh xclone.repo=$repo xclone.list=$list xclone.filter=${filter// /,} xclone.timeout=${XCLONE_KERNEL_TEST_TIMEOUT:-1500}" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    </dev/null >"$log" 2>&1 || true
  summarize "$name" "$log"
}

# The guest's per-binary lines and its summary, from the log; fails when a test failed or
# the guest did not finish.
summarize() {
  local name=$1 log=$2
  tr -d '\r' <"$log" | grep -E '^XCLONE-(RESULT|SUMMARY|GUEST|KERNEL)' | sed "s/^/  /"
  if ! grep -q '^XCLONE-SUMMARY' "$log"; then
    echo "  $name: the guest did not finish (see $log)"
    return 1
  fi
  ! tr -d '\r' <"$log" | grep -q '^XCLONE-SUMMARY.* failed [1-9]'
}

host_run() {
  local list=$1 log=$cache/logs/host.log
  echo "== host: $(uname -r), log $log"
  XCLONE_LIST=$list XCLONE_FILTER=${filter// /,} sh ci/kernels-guest.sh >"$log" 2>&1 || true
  summarize host "$log"
}

filter=${XCLONE_KERNEL_FILTER:-}
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(all)
[ "${want[*]}" = all ] && want=("${ORDER[@]}" host)
if [ -n "${XCLONE_KERNEL_LIST:-}" ]; then
  list=$cache/tests.list
  [ "$XCLONE_KERNEL_LIST" -ef "$list" ] || cp "$XCLONE_KERNEL_LIST" "$list"
else
  list=$(build_tests)
fi
status=0
for k in "${want[@]}"; do
  case $k in
    host) host_run "$list" || status=1 ;;
    5.10.old | 5.10 | 6.1 | 6.12) run_kernel "$k" "$list" || status=1 ;;
    *) echo "unknown kernel $k (5.10.old 5.10 6.1 6.12 host all)" >&2; exit 2 ;;
  esac
done
# The results as Markdown rows (for docs/kernel-matrix.md).
echo
echo "| kernel | release | passed | failed | skipped |"
echo "|---|---|---:|---:|---:|"
for k in "${want[@]}"; do
  tr -d '\r' <"$cache/logs/$k.log" 2>/dev/null | sed -n \
    "s/^XCLONE-SUMMARY: \([^ ]*\) passed \([0-9]*\) failed \([0-9]*\) skipped \([0-9]*\).*/| $k | \1 | \2 | \3 | \4 |/p"
done
exit $status
