#!/bin/bash
# PID 1 of the emulated machine that ci/cross.sh boots: sets up the mounts a test run as root
# expects, runs every test binary listed in target/cross/<triple>/tests.list from its package
# directory (as `cargo test` would), writes the totals to target/cross/<triple>/result and
# powers the machine off. Not meant to be run by hand.
# The whole script is one function, read before it runs: editing the file meanwhile is safe.
main() {
  triple=$1
  out=$2
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/root LANG=C.UTF-8

  echo "guest: $(uname -srm) up after $(cut -d' ' -f1 /proc/uptime) s"
  finish() {
    sync
    echo o >/proc/sysrq-trigger
    sleep 60
  }
  trap finish EXIT

  mount -t sysfs sysfs /sys
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mount -t tmpfs tmpfs /tmp
  mount -t tmpfs tmpfs /run
  mkdir -p /dev/pts /dev/shm
  mount -t devpts devpts /dev/pts
  mount -t tmpfs tmpfs /dev/shm
  ln -sf /proc/self/fd /dev/fd
  hostname xclone-guest
  ip link set lo up
  # Let the test processes use every controller, as on a booted system.
  for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
  done

  echo "guest: $(uname -srm), $(nproc) CPUs; running $(wc -l <"$out/tests.list") test binaries"
  mkdir -p "$out/logs"
  passed=0 failed=0 ignored=0 broken=()
  # This run's skip reasons (the logs directory also holds earlier runs' logs).
  : >"$out/skips"
  start=$(date +%s)
  while read -r exe dir; do
    name=$(basename "$exe")
    log=$out/logs/$name.log
    echo "guest: $name"
    # `timeout` puts the test binary in a process group of its own. Its parent must not be
    # this script, PID 1: a group whose only link outside is the global init counts as
    # orphaned (will_become_orphaned_pgrp() in kernel/exit.c), and an orphaned group with a
    # stopped member gets SIGHUP and SIGCONT whenever a member whose parent is elsewhere in
    # the session exits (kill_orphaned_pgrp()) — the restore tests stop processes and end
    # processes re-parented to PID 1, and died by that SIGHUP (exit 129). So the subshell
    # stays their parent: it has a command after `timeout` and does not exec it.
    (cd "$dir" && CARGO_MANIFEST_DIR=$dir timeout -k 10 "${XCLONE_CROSS_TEST_TIMEOUT:-3600}" \
      "$exe" --nocapture
    exit $?) >"$log" 2>&1 </dev/null
    status=$?
    grep -a '^skipped' "$log" >>"$out/skips"
    line=$(grep -a '^test result:' "$log" | tail -1)
    p=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$line")
    f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
    i=$(sed -n 's/.* \([0-9]*\) ignored.*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) ignored=$((ignored + ${i:-0}))
    if [ "$status" != 0 ]; then
      broken+=("$name (exit $status)")
      [ -n "$line" ] || failed=$((failed + 1))
    fi
    echo "guest: $name: ${line:-no result line, exit status $status}"
  done <"$out/tests.list"

  # The commands README shows, on this architecture, for the record (target/cross/<triple>/demo.log).
  x=$out/debug/xclone
  show() {
    echo "\$ $*"
    # Into a file, not a pipe: processes a command leaves running (restore --detach) keep it.
    timeout -k 5 120 "$@" >/tmp/show.out 2>&1 </dev/null
    local status=$?
    head -40 /tmp/show.out
    echo "(exit status $status)"
  }
  {
    show "$x" probe
    show "$x" run -Urpm --mount-proc -- ps -e
    show "$x" run --set-tid 4242 -- sh -c 'echo "my pid is $$"'
    show "$x" run -p --set-tid 1,4243 -- sh -c 'echo "pid $$ inside"; grep NSpid /proc/self/status'
    mkdir -p /sys/fs/cgroup/xclone-demo
    show "$x" run --into-cgroup /sys/fs/cgroup/xclone-demo -- cat /proc/self/cgroup
    rmdir /sys/fs/cgroup/xclone-demo
    unshare -Urpf --mount-proc sleep 600 &
    for _ in $(seq 1000); do t=$(pgrep -n -x sleep) && break; done
    show "$x" enter -t "$t" -a -- ps -e
    kill %1
    sh -c 'sleep 600 & sleep 600 & wait' &
    root=$!
    for _ in $(seq 1000); do [ "$(pgrep -c -P "$root")" = 2 ] && break; done
    show "$x" tree "$root"
    "$x" tree --json "$root" >/tmp/tree.json
    kill -9 "$root" $(pgrep -P "$root")
    wait "$root" 2>/dev/null
    show "$x" restore --detach /tmp/tree.json
    show "$x" tree "$root"
    kill -9 "$root" $(pgrep -P "$root") 2>/dev/null
  } >"$out/demo.log" 2>&1
  cat "$out/demo.log"

  {
    echo "target $triple on $(uname -sr), $(nproc) CPUs (qemu TCG), $(($(date +%s) - start)) s"
    echo "passed $passed"
    echo "ignored $ignored"
    for b in "${broken[@]}"; do echo "failing binary: $b"; done
    sort "$out/skips" | uniq -c | sed 's/^ */skip x/'
    echo "failed $failed"
  } >"$out/result.tmp"
  mv "$out/result.tmp" "$out/result"
}
main "$@"
exit
