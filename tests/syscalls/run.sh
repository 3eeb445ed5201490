#!/usr/bin/env bash
# Proves "a blocking netkit send or recv is one syscall": runs probe with 1000
# and 3000 round trips (4 calls each) under strace -c and checks that the
# 2000 extra round trips cost exactly 4000 sendto + 4000 recvfrom and no other
# syscall at all. Repeated with a 5 s timeout (non-blocking fd: the syscall is
# tried first, poll only after EAGAIN, which never happens here).
# Usage: run.sh PROBE
set -euo pipefail
probe=${1:?usage: run.sh PROBE}
command -v strace >/dev/null || { echo "syscalls: strace missing (apt-get install strace)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# counts FILE: "syscall calls" lines from strace -c output
counts() { awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$1" | sort; }

status=0
for mode in blocking 5000; do
  arg=""; [ "$mode" = blocking ] || arg=$mode
  for n in 1000 3000; do
    strace -f -c -o "$tmp/$mode.$n" "$probe" "$n" $arg
    counts "$tmp/$mode.$n" > "$tmp/$mode.$n.counts"
  done
  # per-syscall difference between the two runs
  diff=$(join -a1 -a2 -e0 -o 0,1.2,2.2 "$tmp/$mode.1000.counts" "$tmp/$mode.3000.counts" |
         awk '$3 - $2 != 0 { printf "%s=%d ", $1, $3 - $2 }')
  echo "syscalls ($mode): 2000 extra round trips (8000 calls) cost: $diff"
  if [ "$diff" != "recvfrom=4000 sendto=4000 " ]; then
    echo "syscalls ($mode): FAIL, expected exactly recvfrom=4000 sendto=4000"
    status=1
  fi
done
[ $status -eq 0 ] && echo "syscalls: one syscall per blocking send/recv: ok"
exit $status
