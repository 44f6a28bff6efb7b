#!/usr/bin/env bash
# Builds a fuzz target as a libFuzzer binary with clang-14 (outside Bazel,
# whose toolchain here is gcc) and runs it.
#
#   fuzz/run.sh [--target=model|signal_parse|sigwatch_flags] [posix|note]
#               [seconds] [--update-corpus]
#
# model (the default) is the model-based test of the public API, run on one
# backend; signal_parse (Signal::Parse) and sigwatch_flags (sigwatch's flag
# checks) are parsers, for which the backend makes no difference. Each has
# its corpus: fuzz/corpus, fuzz/signal_parse_corpus,
# fuzz/sigwatch_flags_corpus, which //fuzz:*_replay_test replays in every
# `bazel test //...`. New inputs go to a scratch directory; with
# --update-corpus, libFuzzer's merge adds those that reach new coverage to
# the target's corpus.
# -timeout=0: libFuzzer's timeout is a SIGALRM timer, which a channel that
# asked for every signal would rightly receive. Crashes go to $out/.
# Needs clang-14 and libclang-rt-14-dev (installed if missing, as ./bazelw
# does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target=model
if [[ "${1:-}" == --target=* ]]; then
  target="${1#--target=}"
  shift
fi
backend="${1:-posix}"
seconds="${2:-60}"
update="${3:-}"

case "$target" in
  model)
    sources=(fuzz/model_fuzz.cc os_signal/*.cc runtime/*.cc platform/*.cc)
    corpus=fuzz/corpus
    ;;
  signal_parse)
    sources=(fuzz/signal_parse_fuzz.cc os_signal/*.cc runtime/*.cc platform/*.cc)
    corpus=fuzz/signal_parse_corpus
    ;;
  sigwatch_flags)
    sources=(fuzz/sigwatch_flags_fuzz.cc tools/flag_checks.cc
             tools/signal_list.cc tools/reporter.cc
             os_signal/*.cc runtime/*.cc platform/*.cc)
    corpus=fuzz/sigwatch_flags_corpus
    ;;
  *)
    echo "fuzz/run.sh: unknown target \"$target\" (model, signal_parse, sigwatch_flags)" >&2
    exit 2
    ;;
esac

# The Linux platform layer: of each platform/NAME_linux.cc and NAME_posix.cc
# pair (one header, two layers; Bazel selects one), keep the Linux one, as
# CMakeLists.txt does.
kept=()
for source in "${sources[@]}"; do
  if [[ "$source" == platform/*_posix.cc &&
        -e "${source%_posix.cc}_linux.cc" ]]; then
    continue
  fi
  kept+=("$source")
done
sources=("${kept[@]}")

for p in clang-14 libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    sudo_cmd=()
    if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$p"
  fi
done

out="${TMPDIR:-/tmp}/portsig-fuzz/$target"
mkdir -p "$out/new"
absl_libs=$(grep -oE '"-labsl_[a-z_]+"' third_party/system/BUILD.system | tr -d '"' | tr '\n' ' ')
# portsig itself gets coverage instrumentation; Abseil is Debian's.
clang++-14 -std=c++17 -g -O1 -I. \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  "${sources[@]}" $absl_libs -lpthread -o "$out/fuzzer"

echo "fuzz/run.sh: $target, $backend backend, ${seconds}s"
PORTSIG_SIGQUEUE="$backend" "$out/fuzzer" -max_total_time="$seconds" \
  -max_len=256 -timeout=0 -artifact_prefix="$out/" -handle_usr1=0 -handle_usr2=0 -print_final_stats=1 \
  "$out/new" "$corpus"

if [[ "$update" == "--update-corpus" ]]; then
  PORTSIG_SIGQUEUE="$backend" "$out/fuzzer" -merge=1 -max_len=256 \
    -handle_usr1=0 -handle_usr2=0 "$corpus" "$out/new"
fi
