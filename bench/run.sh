#!/usr/bin/env bash
# Issue 7's comparison: builds every harness in bench/ (C++ with Bazel -c opt,
# Go with Debian's go), runs the suite several times, and prints a table of
# medians with each system's ratio to portsig/posix, plus machine facts and
# load averages. Draws the latency CDF with gnuplot.
#
#   bench/run.sh            # full: 3 runs, ~20,000 latency samples each
#   bench/run.sh --quick    # smoke run of the runner: 1 run, fewer samples
#
# Options: --runs=N, --modes=latency,storm,... (default: memory, latency,
# storm, churn, fanout, fanout_epoll (portsig only), fanout_other),
# --systems=portsig-posix,portsig-note,portsig-spin,sigwaitinfo,signalfd,go,
# libuv,asio (default all; portsig-spin is posix with PORTSIG_SPIN_BEFORE_SLEEP=50us),
# --out=DIR (default bench/results, or bench/results-quick
# with --quick), --no-install (fail instead of installing packages).
#
# Installs what is missing from Debian's archive (golang-go, libuv1-dev,
# libasio-dev, gnuplot-nox; ./bazelw installs its own), running apt-get
# update first only when something is missing. Every mode of every system
# runs in a fresh process; systems are interleaved within each mode so that
# load drifting over the run hits all of them alike.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=0
runs=""
out=""
install=1
modes_csv="memory,latency,storm,churn,fanout,fanout_epoll,fanout_other"
systems_csv="portsig-posix,portsig-note,portsig-spin,sigwaitinfo,signalfd,go,libuv,asio"
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --runs=*) runs="${arg#*=}" ;;
    --out=*) out="${arg#*=}" ;;
    --modes=*) modes_csv="${arg#*=}" ;;
    --systems=*) systems_csv="${arg#*=}" ;;
    --no-install) install=0 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done
if ((quick)); then
  runs="${runs:-1}"
  out="${out:-bench/results-quick}"
  harness_flags=(--quick)
else
  runs="${runs:-3}"
  out="${out:-bench/results}"
  harness_flags=()
fi
IFS=, read -ra modes <<<"$modes_csv"
IFS=, read -ra systems <<<"$systems_csv"

log() { echo "run.sh: $*" >&2; }

# --- Packages ---------------------------------------------------------------
ensure_packages() {
  local missing=() p
  for p in golang-go libuv1-dev libasio-dev; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
      missing+=("$p")
    fi
  done
  if ! command -v gnuplot >/dev/null; then missing+=(gnuplot-nox); fi
  ((${#missing[@]})) || return 0
  if ((!install)); then
    log "missing packages: ${missing[*]} (and --no-install given)"
    exit 1
  fi
  log "installing ${missing[*]}"
  local sudo_cmd=()
  if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" \
    apt-get install -y -qq "${missing[@]}" >&2
}
ensure_packages

# --- Build ------------------------------------------------------------------
bin="$out/bin"
mkdir -p "$bin" "$out/samples"
bin="$(cd "$bin" && pwd)"  # Absolute: the Go build runs from bench/go.
rm -f "$out"/samples/*.ns
log "building the C++ harnesses (bazel -c opt)"
./bazelw build -c opt //bench:cc_harnesses >&2
for h in portsig sigwaitinfo signalfd libuv asio; do
  cp -f "bazel-bin/bench/${h}_harness" "$bin/${h}_harness"
done
log "building the Go harness"
(
  cd bench/go
  export GO111MODULE=off GOFLAGS=
  if [[ -z "${HOME:-}" ]]; then export GOCACHE="$bin/gocache"; fi
  go build -o "$bin/go_harness" harness.go
)

# --- Machine facts ------------------------------------------------------------
load_average() { uptime | sed -E 's/.*load average: //'; }
machine="$out/machine.md"
{
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- cores: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))"
  echo "- kernel: $(uname -sr)"
  echo "- compiler: $(g++ --version | head -n 1)"
  echo "- peers: $(go version | awk '{print $3}'), libuv $(dpkg-query -W -f='${Version}' libuv1-dev), Asio $(dpkg-query -W -f='${Version}' libasio-dev)"
  echo "- command: \`bench/run.sh${*:+ $*}\`"
} >"$machine"

# --- Runs -------------------------------------------------------------------
# system_cmd SYSTEM: the harness command line (env included) for SYSTEM.
system_cmd() {
  case "$1" in
    portsig-posix) echo "env PORTSIG_SIGQUEUE=posix $bin/portsig_harness" ;;
    portsig-note) echo "env PORTSIG_SIGQUEUE=note $bin/portsig_harness" ;;
    portsig-spin) echo "env PORTSIG_SIGQUEUE=posix PORTSIG_SPIN_BEFORE_SLEEP=50us $bin/portsig_harness" ;;
    go) echo "$bin/go_harness" ;;
    *) echo "$bin/${1}_harness" ;;
  esac
}
# supports SYSTEM MODE
supports() {
  case "$1" in
    sigwaitinfo) [[ $2 == latency || $2 == storm || $2 == churn ]] ;;
    signalfd) [[ $2 == latency || $2 == storm ]] ;;
    portsig-*) true ;;
    *) [[ $2 != fanout_epoll ]] ;;
  esac
}

raw="$out/raw.txt"
: >"$raw"
echo "# bench/run.sh${*:+ $*}" >>"$raw"
sed 's/^/# /' "$machine" >>"$raw"
loads=()
for ((run = 1; run <= runs; run++)); do
  start_load="$(load_average)"
  echo "# run=$run start $(date -u +%H:%M:%S) load: $start_load" >>"$raw"
  for mode in "${modes[@]}"; do
    for system in "${systems[@]}"; do
      supports "$system" "$mode" || continue
      log "run $run/$runs: $system $mode"
      flags=("${harness_flags[@]}" "--mode=$mode")
      if [[ $mode == latency ]]; then
        flags+=("--samples=$out/samples/$system.run$run.ns")
      fi
      limit=()
      if [[ $mode == memory ]]; then
        # Issue 7: 10,000 channels must fit under the common 1,024 fd limit.
        limit=(prlimit --nofile=1024 --)
      fi
      rc=0
      # shellcheck disable=SC2046
      timeout 600 "${limit[@]}" $(system_cmd "$system") "${flags[@]}" \
        >"$out/last.txt" || rc=$?
      sed "s/^/run=$run /" "$out/last.txt" >>"$raw"
      if ((rc != 0)); then
        log "FAILED: $system $mode (exit $rc)"
        echo "# run=$run FAILED system=$system mode=$mode exit=$rc" >>"$raw"
      fi
    done
  done
  end_load="$(load_average)"
  echo "# run=$run end $(date -u +%H:%M:%S) load: $end_load" >>"$raw"
  loads+=("run $run: $start_load → $end_load")
done
rm -f "$out/last.txt"

# --- Table ------------------------------------------------------------------
table="$out/table.md"
awk -f bench/summarize.awk "$raw" >"$table"
{
  echo "- load average (1, 5, 15 min) at start → end of each run:"
  for l in "${loads[@]}"; do echo "  - $l"; done
} >>"$machine"

# --- Latency CDF ------------------------------------------------------------
if ((quick)) || [[ $out != bench/results ]]; then
  chart="$out/latency_cdf.png"
else
  chart="bench/latency_cdf.png"
fi
plot=()
for system in "${systems[@]}"; do
  files=("$out"/samples/"$system".run*.ns)
  [[ -e ${files[0]} ]] || continue
  # Every sample of every run, as (µs, fraction below): thinned to ~2,000
  # points, all of the top 1% kept so the tail shows.
  sort -n "${files[@]}" | awk -v total="$(cat "${files[@]}" | wc -l)" '
    { i = NR; step = int(total / 2000); if (step < 1) step = 1
      if (i % step == 0 || i > total * 0.99 || i == 1)
        printf "%.3f %.6f\n", $1 / 1000, i / total }' \
    >"$out/samples/$system.cdf"
  plot+=("'$out/samples/$system.cdf' using 1:2 with lines lw 2 title '$system'")
done
if ((${#plot[@]})); then
  joined="$(printf '%s, ' "${plot[@]}")"
  gnuplot <<EOF
set terminal pngcairo size 1000,620 font ",11"
set output '$chart'
set title "kill(getpid(), SIGUSR1) to consumer: latency CDF ($(nproc) cores, load $(load_average | cut -d, -f1))"
set xlabel "latency (µs, log scale)"
set ylabel "fraction of signals"
set logscale x
set xrange [1:10000]
set yrange [0:1]
set grid xtics mxtics ytics
set key bottom right
plot ${joined%, }
EOF
  log "chart: $chart"
fi

echo
echo "## Machine"
echo
cat "$machine"
echo
echo "## Medians of $runs run(s); (×r) = system ÷ portsig/posix"
echo
cat "$table"
echo
log "raw lines: $raw; table: $table"
