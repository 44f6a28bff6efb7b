#!/bin/bash
# Runs graceful_shutdown, sends SIGTERM once it is ready, and checks that it
# drains and exits 0. $1: the binary. Waits are bounded (30 s) and never
# used as assertions about speed.
set -euo pipefail

binary="$1"
echo "backend: ${PORTSIG_SIGQUEUE:-build default}"
out="${TEST_TMPDIR:-/tmp}/graceful_shutdown.out"

"$binary" >"$out" 2>&1 &
pid=$!

for _ in $(seq 300); do
  grep -q "ready pid=$pid" "$out" && break
  sleep 0.1
done
grep -q "ready pid=$pid" "$out" || { echo "never ready:"; cat "$out"; exit 1; }

# Let some work be accepted, so there can be a backlog to drain.
sleep 0.2
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
cat "$out"

if [[ $status != 0 ]]; then
  echo "FAIL: exit status $status, want 0"
  exit 1
fi
if ! grep -Eq "^graceful_shutdown: SIGTERM received; drained [0-9]+ items \([0-9]+ processed\)$" "$out"; then
  echo "FAIL: no drain line"
  exit 1
fi
echo PASS
