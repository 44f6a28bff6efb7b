#!/bin/bash
# Runs bench/ harnesses in --smoke mode (a few iterations each) and checks
# that they speak the protocol of harness.h: every stdout line is
#   system=S backend=B mode=M key=number ...
# and every expected mode printed at least one line. Never checks timings.
# Arguments: BINARY=MODE,MODE,... per harness.
set -euo pipefail

line_re='^system=[a-z]+ backend=[A-Za-z0-9._-]+ mode=[a-z_]+( [a-z0-9_]+=-?[0-9]+(\.[0-9]+)?)+$'
status=0
for spec in "$@"; do
  binary="${spec%%=*}"
  modes="${spec#*=}"
  name="$(basename "$binary")"
  out="${TEST_TMPDIR:-/tmp}/$name.out"
  echo "== $name --smoke (PORTSIG_SIGQUEUE=${PORTSIG_SIGQUEUE:-unset})"
  if ! timeout 120 "$binary" --smoke >"$out"; then
    echo "FAIL: $name exited non-zero"
    cat "$out"
    status=1
    continue
  fi
  cat "$out"
  if bad=$(grep -Ev "$line_re" "$out"); then
    echo "FAIL: $name printed lines outside the protocol:"
    echo "$bad"
    status=1
  fi
  IFS=, read -ra wanted <<<"$modes"
  for mode in "${wanted[@]}"; do
    if ! grep -q " mode=$mode " "$out"; then
      echo "FAIL: $name printed no mode=$mode line"
      status=1
    fi
  done
  # A mode that takes latency samples must report percentiles.
  if grep " mode=latency " "$out" | grep -qv " p99_ns="; then
    echo "FAIL: $name latency line without p99_ns"
    status=1
  fi
done
if [[ $status == 0 ]]; then echo PASS; fi
exit "$status"
