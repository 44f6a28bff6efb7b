#!/bin/bash
# Builds and runs the consumer workspace, which depends on portsig as an
# external repository (@portsig//os_signal), and checks its output. Proves
# that portsig works from another workspace. Run from anywhere; exits
# non-zero on failure. Uses $BAZEL if set (e.g. ./bazelw), else bazel.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
bazel="${BAZEL:-bazel}"

"$bazel" build //:consumer
binary="$("$bazel" info bazel-bin 2>/dev/null)/consumer"
output="$("$binary")"
echo "$output"
if [[ "$output" != "consumer received SIGUSR1" ]]; then
  echo "run.sh: FAIL: want \"consumer received SIGUSR1\"" >&2
  exit 1
fi
echo "run.sh: PASS"
