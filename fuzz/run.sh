#!/usr/bin/env bash
# Builds fuzz/model_fuzz.cc as a libFuzzer binary with clang-14 (outside
# Bazel, whose toolchain here is gcc) and runs it on one backend.
#
#   fuzz/run.sh [posix|note] [seconds] [--update-corpus]
#
# New inputs go to a scratch directory; with --update-corpus, libFuzzer's
# merge adds those that reach new coverage to fuzz/corpus (which
# //fuzz:model_replay_test replays in every `bazel test //...`).
# -timeout=0: libFuzzer's timeout is a SIGALRM timer, which a channel that
# asked for every signal would rightly receive. Crashes go to $out/.
# Needs clang-14 and libclang-rt-14-dev (installed if missing, as ./bazelw
# does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

backend="${1:-posix}"
seconds="${2:-60}"
update="${3:-}"

for p in clang-14 libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    sudo_cmd=()
    if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$p"
  fi
done

out="${TMPDIR:-/tmp}/portsig-fuzz"
mkdir -p "$out/new"
absl_libs=$(grep -oE '"-labsl_[a-z_]+"' third_party/system/BUILD.system | tr -d '"' | tr '\n' ' ')
# portsig itself gets coverage instrumentation; Abseil is Debian's.
clang++-14 -std=c++17 -g -O1 -I. \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  fuzz/model_fuzz.cc os_signal/*.cc runtime/*.cc platform/*.cc \
  $absl_libs -lpthread -o "$out/model_fuzz"

echo "fuzz/run.sh: $backend backend, ${seconds}s"
PORTSIG_SIGQUEUE="$backend" "$out/model_fuzz" -max_total_time="$seconds" \
  -max_len=256 -timeout=0 -artifact_prefix="$out/" -handle_usr1=0 -handle_usr2=0 -print_final_stats=1 \
  "$out/new" fuzz/corpus

if [[ "$update" == "--update-corpus" ]]; then
  PORTSIG_SIGQUEUE="$backend" "$out/model_fuzz" -merge=1 -max_len=256 \
    -handle_usr1=0 -handle_usr2=0 fuzz/corpus "$out/new"
fi
