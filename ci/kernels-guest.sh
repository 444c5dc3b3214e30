#!/bin/sh
# Runs inside a guest booted by ci/kernels.sh (or on the host with XCLONE_LIST set): every
# test binary of the list, as root, one line per binary and a summary. A test counts as
# skipped when a line of its output starts with "skipped:" (the suite's convention for a test
# that cannot run here and says why); a test that skipped only a part ("skipped the POLLHUP
# part: …", "skipped request: …") ran the rest and counts as passed, its note is listed.
# The parameters come from the kernel command line.
set -u
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
list=${XCLONE_LIST:-$(arg xclone.list)}
filter=$(echo "${XCLONE_FILTER:-$(arg xclone.filter)}" | tr ',' ' ')
test_timeout=${XCLONE_TEST_TIMEOUT:-$(arg xclone.timeout)}
test_timeout=${test_timeout:-1500}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export RUST_BACKTRACE=1
# A booted system's manager gives services a hard descriptor limit far above the kernel's
# default 4096 (systemd: 524288); tests that open thousands of pidfds raise their soft limit
# up to it.
ulimit -Hn 524288 2>/dev/null
echo "XCLONE-KERNEL: $(uname -r)"
if [ ! -s "$list" ]; then
  echo "XCLONE-SUMMARY: $(uname -r) passed 0 failed 1 skipped 0 (no test list at $list)"
  exit 1
fi
tp=0 tf=0 ts=0
for exe in $(cat "$list"); do
  name=$(basename "$exe")
  out=/tmp/xclone-test-$$.out
  # One binary at a time, its tests two at a time; a binary that hangs is cut off (by default
  # after 25 minutes: under TCG the util-linux comparison table alone runs over 10; more
  # where the host is shared, through ci/kernels.sh's XCLONE_KERNEL_TEST_TIMEOUT).
  start=$(date +%s)
  timeout -s KILL "$test_timeout" "$exe" --test-threads=2 --show-output $filter >"$out" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  passed=$(sed -n 's/^test result: .* \([0-9]*\) passed.*/\1/p' "$out" | tail -1)
  failed=$(sed -n 's/^test result: .* \([0-9]*\) failed.*/\1/p' "$out" | tail -1)
  # Tests whose captured output says they skipped ("---- NAME stdout ----" blocks).
  skipped=$(awk '/^---- .* stdout ----$/ {name=$2} /^skipped: / && name != "" {print name}' "$out" | sort -u | wc -l)
  passed=${passed:-0} failed=${failed:-0}
  if [ $rc -ne 0 ] && [ "$failed" = 0 ]; then failed=1; fi
  passed=$((passed - skipped))
  tp=$((tp + passed)) tf=$((tf + failed)) ts=$((ts + skipped))
  echo "XCLONE-RESULT: $name passed $passed failed $failed skipped $skipped (exit $rc, ${took} s)"
  if [ "$failed" != 0 ] || [ "${XCLONE_VERBOSE:-}" ]; then
    # The failures' output without backtrace frames.
    grep -v -E '^ *$|^ +[0-9]+: |^ +at |stack backtrace|RUST_BACKTRACE' "$out" | sed 's/^/    /' | tail -150
  fi
  awk '/^---- .* stdout ----$/ {name=$2}
    /^skipped: / && name != "" {print "    skip " name ": " $0; next}
    /skipped/ && name != "" {print "    part skipped " name ": " $0}' "$out"
  rm -f "$out"
done
echo "XCLONE-SUMMARY: $(uname -r) passed $tp failed $tf skipped $ts"
