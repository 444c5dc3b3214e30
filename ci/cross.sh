#!/usr/bin/env bash
# Cross-build xclone for another architecture and run its whole test suite there, under
# full-system emulation. See docs/cross.md.
#
#   ci/cross.sh aarch64|riscv64 [check|build|test]     (as root; default: test)
#
#   check  cargo clippy for the target (what CI runs on every change: a broken port fails)
#   build  the test binaries and the xclone executable, statically linked for the target
#   test   build, then boot the target's Debian kernel under qemu-system-* (TCG) on a root made
#          of the target's Debian trixie packages, run every test binary there as root, print
#          the pass/fail count; exit status 0 only when nothing failed
#
# Nothing is installed into the host beyond its own Debian packages (debootstrap, qemu-system-*,
# cpio, xz-utils). Everything else lives in $XCLONE_CROSS_CACHE (default ~/.cache/xclone-cross):
#   build-root/        Debian trixie amd64 with rustc/cargo 1.85 and the target's libstd-rust-dev,
#                      cross gcc and static glibc: the compiler runs there (chroot)
#   guest-<debarch>/   the target's Debian trixie root (packages unpacked, not configured), which
#                      the emulated machine mounts as its root over 9p; holds the kernel too
#   cargo-home/        the crates the chroot's cargo downloaded from crates.io
set -euo pipefail
# One function, read whole before it runs: editing this file during a run is safe.
main() {

arch=${1:-}
mode=${2:-test}
case "$arch" in
aarch64)
  triple=aarch64-unknown-linux-gnu debarch=arm64 gnu=aarch64-linux-gnu
  qemu=qemu-system-aarch64 qemupkg=qemu-system-arm console=ttyAMA0
  machine=(-M virt -cpu max,pauth-impdef=on)
  ;;
riscv64)
  triple=riscv64gc-unknown-linux-gnu debarch=riscv64 gnu=riscv64-linux-gnu
  qemu=qemu-system-riscv64 qemupkg=qemu-system-misc console=ttyS0
  machine=(-M virt -cpu rv64 -bios default)
  ;;
*)
  echo "usage: $0 aarch64|riscv64 [check|build|test]" >&2
  exit 2
  ;;
esac
case "$mode" in check | build | test) ;; *)
  echo "usage: $0 aarch64|riscv64 [check|build|test]" >&2
  exit 2
  ;;
esac
[ "$(id -u)" = 0 ] || {
  echo "$0: needs root (debootstrap, chroot, bind mounts)" >&2
  exit 2
}

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${XCLONE_CROSS_CACHE:-$HOME/.cache/xclone-cross}
mirror=${XCLONE_CROSS_MIRROR:-http://deb.debian.org/debian}
# Bump when the package lists below change, so that cached roots are remade: `layout` for
# the build root, `guest_layout` for the target's root.
layout=1
guest_layout=2
mkdir -p "$cache"
log() { printf 'cross.sh: %s\n' "$*" >&2; }

host_packages=(debootstrap cpio xz-utils)
[ "$mode" = test ] && host_packages+=("$qemupkg")
missing=()
for p in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The compiler's root: amd64 trixie with rustc/cargo 1.85.1 and, per target, the standard
# library built by Debian for that same compiler, a cross gcc (the linker) and static glibc.
build_root=$cache/build-root
stamp=$build_root/.xclone-$debarch-$layout
if [ ! -e "$stamp" ]; then
  if [ ! -e "$build_root/.xclone-base-$layout" ]; then
    log "debootstrap trixie amd64 (the build root) into $build_root"
    rm -rf "$build_root.tmp"
    debootstrap --variant=minbase --include=rustc,cargo,rust-clippy,libc6-dev,ca-certificates,kmod \
      trixie "$build_root.tmp" "$mirror" >"$cache/debootstrap-build.log" 2>&1 ||
      {
        tail -20 "$cache/debootstrap-build.log" >&2
        exit 1
      }
    rm -rf "$build_root"
    mv "$build_root.tmp" "$build_root"
    touch "$build_root/.xclone-base-$layout"
  fi
  log "installing the $debarch cross toolchain into the build root"
  cp /etc/resolv.conf "$build_root/etc/resolv.conf"
  chroot "$build_root" dpkg --add-architecture "$debarch"
  chroot "$build_root" sh -c "export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends gcc-$gnu libc6-dev-$debarch-cross \
      libstd-rust-dev:$debarch" </dev/null >"$cache/apt-$debarch.log" 2>&1 ||
    {
      tail -20 "$cache/apt-$debarch.log" >&2
      exit 1
    }
  touch "$stamp"
fi

# Runs a command in the build root with the repository at its own path (so that paths compiled
# into the test binaries, like CARGO_BIN_EXE_xclone, are the same in the guest) and the cargo
# home from the cache. The mounts live in a private mount namespace and vanish with it.
mkdir -p "$cache/cargo-home"
# Where the cross builds go; must be inside the repository (the guest sees only that).
target=${XCLONE_CROSS_TARGET_DIR:-$repo/target/cross}
in_build_root() {
  unshare --mount --propagation private -- sh -euc '
    root=$1 repo=$2 home=$3; shift 3
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root$repo" "$root/cargo-home"
    mount --bind "$repo" "$root$repo"
    mount --bind "$home" "$root/cargo-home"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    # The host'"'"'s certificate authorities, which may include a proxy'"'"'s.
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/host-ca.crt"
    exec chroot "$root" "$@"' sh "$build_root" "$repo" "$cache/cargo-home" \
    env -i PATH=/usr/bin:/bin HOME=/root CARGO_HOME=/cargo-home \
    CARGO_HTTP_CAINFO=/etc/ssl/certs/host-ca.crt \
    CARGO_TARGET_DIR="$target" \
    "CARGO_TARGET_$(echo "$triple" | tr a-z- A-Z_)_LINKER=$gnu-gcc" \
    sh -c 'cd "$0" && exec "$@"' "$repo" "$@"
}

# Every feature but `io-pipe`, which needs Rust 1.87 (std::io::pipe); this toolchain is
# trixie's 1.85, the declared minimum.
features=(--features xclone/tokio,xclone/serde,xclone/raw)

if [ "$mode" = check ]; then
  # Its own target directory: check artifacts would otherwise replace the test build's.
  in_build_root env CARGO_TARGET_DIR="$repo/target/cross/check" \
    cargo clippy --workspace --all-targets "${features[@]}" --target "$triple" -- -D warnings \
    -A clippy::format_collect # a default lint in clippy 1.85, no longer in the host's
  exit
fi

log "building the test binaries for $triple"
out=$target/$triple
mkdir -p "$out"
in_build_root cargo build -p xclone-cli --bins --target "$triple"
in_build_root cargo test --workspace "${features[@]}" --no-run --target "$triple" \
  --message-format=json >"$out/build.json"
# One line per test binary: the executable and the package directory it runs in (as cargo test
# would run it). Written beside and renamed into place: a guest of another run may be reading
# the list it was given, which must not change under it.
python3 - "$out/build.json" >"$out/tests.list.new" <<'EOF'
import json, os, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"], os.path.dirname(m["manifest_path"]))
EOF
if [ -n "${XCLONE_CROSS_FILTER:-}" ]; then
  # Only the test binaries whose name matches (a grep pattern), e.g. 'isolate|spawn'.
  grep -E "/deps/(${XCLONE_CROSS_FILTER})-[0-9a-f]+ " "$out/tests.list.new" >"$out/tests.list.tmp" || true
  mv "$out/tests.list.tmp" "$out/tests.list.new"
fi
mv "$out/tests.list.new" "$out/tests.list"
log "$(wc -l <"$out/tests.list") test binaries in $out/tests.list"
[ "$mode" = build ] && exit

# The target's root: its trixie packages unpacked (first stage of debootstrap, then every
# downloaded package extracted: maintainer scripts are not run, none of those below needs
# one). It holds what the tests call (sh, ps, unshare, nsenter, bwrap, ip, gcc for the static
# probe programs, python3, qemu's user-mode emulator) and the kernel with its modules.
guest=$cache/guest-$debarch
if [ ! -e "$guest/.xclone-$guest_layout" ]; then
  log "debootstrap --foreign trixie $debarch (the guest root) into $guest"
  rm -rf "$guest.tmp"
  debootstrap --foreign --arch="$debarch" --variant=minbase \
    --include=gcc,libc6-dev,procps,util-linux,iproute2,python3,uidmap,bubblewrap,kmod,busybox-static,qemu-user,linux-image-$debarch \
    trixie "$guest.tmp" "$mirror" >"$cache/debootstrap-$debarch.log" 2>&1 ||
    {
      tail -20 "$cache/debootstrap-$debarch.log" >&2
      exit 1
    }
  for deb in "$guest.tmp"/var/cache/apt/archives/*.deb; do
    dpkg-deb -x "$deb" "$guest.tmp"
  done
  # What the maintainer scripts of base-passwd and passwd would have made.
  for f in passwd group; do
    [ -e "$guest.tmp/etc/$f" ] || cp "$guest.tmp/usr/share/base-passwd/$f.master" "$guest.tmp/etc/$f"
  done
  touch "$guest.tmp/etc/subuid" "$guest.tmp/etc/subgid"
  echo xclone-guest >"$guest.tmp/etc/hostname"
  # The module index, made here: depmod in the emulated machine takes minutes.
  unshare --mount --propagation private -- sh -euc '
    mkdir -p "$1/guest"; mount --bind "$2" "$1/guest"
    kver=$(ls "$2/lib/modules" | head -1)
    chroot "$1" depmod -b /guest "$kver"' sh "$build_root" "$guest.tmp"
  rm -rf "$guest.tmp/var/cache/apt/archives/"*.deb
  rm -rf "$guest"
  mv "$guest.tmp" "$guest"
  touch "$guest/.xclone-$guest_layout"
fi
# /var/run is /run on a booted Debian system (where `ip netns` keeps its files); made here for
# roots unpacked before this step existed too.
if [ ! -L "$guest/var/run" ]; then
  rmdir "$guest/var/run" 2>/dev/null || rm -rf "${guest:?}/var/run"
  ln -s /run "$guest/var/run"
fi
# What update-alternatives (mawk's maintainer script) would have linked: `awk`, which tests'
# scripts call.
[ -e "$guest/usr/bin/awk" ] || [ ! -e "$guest/usr/bin/mawk" ] || ln -s mawk "$guest/usr/bin/awk"
kver=$(ls "$guest/lib/modules" | head -1)
# arm64 ships a compressed Image (vmlinuz), riscv64 an uncompressed one (vmlinux).
kernel=$guest/boot/vmlinuz-$kver
[ -e "$kernel" ] || kernel=$guest/boot/vmlinux-$kver

# A small initramfs: busybox, the modules for a 9p root, and an init that mounts the guest
# root and the repository (at its own path) and runs ci/cross-guest.sh there.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/initrd/bin" "$work/initrd/modules"
cp "$guest/usr/bin/busybox" "$work/initrd/bin/busybox"
for m in fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
  xz -dc "$guest/lib/modules/$kver/kernel/$m.ko.xz" >"$work/initrd/modules/$(basename $m).ko"
done
cat >"$work/initrd/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /dev /newroot
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in netfs 9pnet 9pnet_virtio 9p; do insmod /modules/\$m.ko || exec sh; done
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o \$opts guestroot /newroot || exec sh
mount -t 9p -o \$opts repo /newroot$repo || exec sh
mount --move /proc /newroot/proc
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash $repo/ci/cross-guest.sh $triple $out
EOF
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc --quiet) >"$work/initrd.cpio"
mkdir -p "$guest$repo"

log "booting $kver under $qemu (TCG); the run's log is $out/guest.log"
rm -f "$out/result"
cpus=${XCLONE_CROSS_CPUS:-2}
timeout "${XCLONE_CROSS_TIMEOUT:-7200}" "$qemu" "${machine[@]}" -accel tcg,thread=multi \
  -smp "$cpus" -m "${XCLONE_CROSS_MEM:-4096}" -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.cpio" \
  -append "console=$console panic=-1 loglevel=${XCLONE_CROSS_LOGLEVEL:-4}" \
  -virtfs "local,path=$guest,mount_tag=guestroot,security_model=passthrough,id=root" \
  -virtfs "local,path=$repo,mount_tag=repo,security_model=passthrough,id=repo" \
  </dev/null >"$out/guest.log" 2>&1 || true

if [ ! -e "$out/result" ]; then
  log "the guest did not finish; the end of $out/guest.log:"
  tail -30 "$out/guest.log" >&2
  exit 1
fi
cat "$out/result"
grep -q '^failed 0$' "$out/result"
}
main "$@"
exit
