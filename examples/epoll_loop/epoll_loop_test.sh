#!/bin/bash
# Runs epoll_loop, waits until it is ready and has read from its socket,
# sends SIGUSR1, waits for it to be reported, then SIGTERM, and checks what
# it printed and that it exited 0. $1: the binary. Waits are bounded (30 s)
# and never used as assertions about speed.
set -euo pipefail

binary="$1"
echo "backend: ${PORTSIG_SIGQUEUE:-build default}"
out="${TEST_TMPDIR:-/tmp}/epoll_loop.out"

"$binary" >"$out" 2>&1 &
pid=$!

await() {
  for _ in $(seq 300); do
    grep -q "$1" "$out" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "$1" "$out" && return 0
  echo "FAIL: no line matching '$1':"
  cat "$out"
  kill -KILL "$pid" 2>/dev/null || true
  exit 1
}

await "^epoll_loop: ready pid=$pid$"
await "^epoll_loop: socket says tick 1$"
kill -USR1 "$pid"
await "^epoll_loop: SIGUSR1 (reload)$"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
cat "$out"

if [[ $status != 0 ]]; then
  echo "FAIL: exit status $status, want 0"
  exit 1
fi
expected=(
  "epoll_loop: ready pid=$pid"
  "epoll_loop: socket says tick 1"
  "epoll_loop: SIGUSR1 (reload)"
  "epoll_loop: SIGTERM (exiting)"
)
mapfile -t got <"$out"
for i in "${!expected[@]}"; do
  if [[ "${got[$i]:-}" != "${expected[$i]}" ]]; then
    echo "FAIL: line $((i + 1)) is '${got[$i]:-}', want '${expected[$i]}'"
    exit 1
  fi
done
if ! [[ "${got[4]:-}" =~ ^epoll_loop:\ saw\ SIGUSR1\ x1,\ SIGTERM\ x1\ and\ [1-9][0-9]*\ socket\ messages$ ]]; then
  echo "FAIL: summary is '${got[4]:-}'"
  exit 1
fi
echo PASS
