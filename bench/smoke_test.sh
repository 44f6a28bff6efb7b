#!/bin/bash
# Runs bench/ harnesses in --smoke mode (a few iterations each) and checks
# that they speak the protocol of harness.h: every stdout line is
#   system=S backend=B mode=M [placement=P] key=number ...
# every expected mode printed a line for every expected placement (modes
# that send no signal, churn and memory, have none), and in the placement
# probe a handler never ran on a receiving thread that blocks the signal.
# Never checks timings.
# Arguments: BINARY=MODE,MODE,...@PLACEMENT,PLACEMENT per harness.
set -euo pipefail

line_re='^system=[a-z]+ backend=[A-Za-z0-9._+-]+ mode=[a-z_]+( placement=(kernel|forced|blocked))?( [a-z0-9_]+=-?[0-9]+(\.[0-9]+)?)+$'
status=0
fail() {
  echo "FAIL: $*"
  status=1
}
for spec in "$@"; do
  binary="${spec%%=*}"
  rest="${spec#*=}"
  modes="${rest%@*}"
  placements="${rest#*@}"
  name="$(basename "$binary")"
  out="${TEST_TMPDIR:-/tmp}/$name.out"
  echo "== $name --smoke (PORTSIG_SIGQUEUE=${PORTSIG_SIGQUEUE:-unset} PORTSIG_SPIN_BEFORE_SLEEP=${PORTSIG_SPIN_BEFORE_SLEEP:-unset})"
  if ! timeout 120 "$binary" --smoke >"$out"; then
    fail "$name exited non-zero"
    cat "$out"
    continue
  fi
  cat "$out"
  if bad=$(grep -Ev "$line_re" "$out"); then
    fail "$name printed lines outside the protocol:"
    echo "$bad"
  fi
  IFS=, read -ra wanted <<<"$modes"
  IFS=, read -ra wanted_placements <<<"$placements"
  for mode in "${wanted[@]}"; do
    if ! grep -q " mode=$mode " "$out"; then
      fail "$name printed no mode=$mode line"
      continue
    fi
    [[ $mode == churn || $mode == memory ]] && continue
    for placement in "${wanted_placements[@]}"; do
      if ! grep -q " mode=$mode placement=$placement " "$out"; then
        fail "$name printed no mode=$mode line for placement=$placement"
      fi
    done
  done
  # A mode that takes latency samples must report percentiles, and every
  # signal sent must have reached a consumer.
  if grep -E " mode=(latency|sparse|fanout_other) " "$out" | grep -qv " p99_ns="; then
    fail "$name latency line without p99_ns"
  fi
  if grep -E " mode=(latency|sparse|fanout_other|fanout_loop|fanout_threads) " "$out" |
    grep -qv " timeouts=0\( \|$\)"; then
    fail "$name: a signal did not reach its consumer (timeouts)"
  fi
  if grep " mode=storm " "$out" | grep -qv " final_lost=0 "; then
    fail "$name: the storm's last signal was lost"
  fi
  # Forced placement means the receiving thread blocks the signal: a
  # handler there would mean the harness measured the other placement.
  if grep " mode=placement placement=forced " "$out" | grep -qv " on_receiver=0 "; then
    fail "$name: with placement=forced a handler ran on the receiving thread"
  fi
done
if [[ $status == 0 ]]; then echo PASS; fi
exit "$status"
