#!/usr/bin/env bash
# Issue 14's comparison: builds every harness in bench/ (C++ with Bazel -c
# opt, Go with Debian's go), runs the suite several times under the protocol
# of bench/harness.h (a delivery counts when consuming code has it; the main
# thread receives and does not block the signal; another thread sends; both
# placements of the handler), and prints the headline table, issue 14's
# targets (met / NOT met) and every figure: medians over runs, with machine
# facts and load averages. Draws the latency CDF with gnuplot; a text CDF is
# always in the tables.
#
#   bench/run.sh            # full: 3 runs, 20,000 latency samples each
#   bench/run.sh --quick    # 1 run, fewer samples, into bench/results-quick
#
# Options: --runs=N, --modes=latency,storm,... (default: placement, latency,
# sparse, storm, churn, fanout_loop, fanout_threads, fanout_other, memory),
# --placements=kernel,forced (default both), --systems=portsig-posix,
# portsig-note,portsig-spin,sigwaitinfo,signalfd,go,libuv,asio (default
# all; portsig-spin is posix with PORTSIG_SPIN_BEFORE_SLEEP=50us; also
# portsig-generic, not in the default: the posix backend built on the
# generic POSIX platform layer, --//platform:os=posix),
# --out=DIR (default bench/results, or bench/results-quick with --quick),
# --no-install (fail instead of installing packages).
#
# Installs what is missing from Debian's archive (golang-go, libuv1-dev,
# libasio-dev, gnuplot-nox; ./bazelw installs its own), running apt-get
# update first only when something is missing. Every mode of every system
# runs in a fresh process, once per placement; systems are interleaved
# within each mode and placement, so that load drifting over the run hits
# all of them alike.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=0
runs=""
out=""
install=1
modes_csv="placement,latency,sparse,storm,churn,fanout_loop,fanout_threads,fanout_other,memory"
placements_csv="kernel,forced"
systems_csv="portsig-posix,portsig-note,portsig-spin,sigwaitinfo,signalfd,go,libuv,asio"
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --runs=*) runs="${arg#*=}" ;;
    --out=*) out="${arg#*=}" ;;
    --modes=*) modes_csv="${arg#*=}" ;;
    --placements=*) placements_csv="${arg#*=}" ;;
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
IFS=, read -ra placements <<<"$placements_csv"

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
  if ! command -v python3 >/dev/null; then missing+=(python3); fi
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
bin="$(cd "$bin" && pwd)" # Absolute: the Go build runs from bench/go.
rm -f "$out"/samples/*.ns "$out"/samples/*.cdf
log "building the C++ harnesses (bazel -c opt)"
./bazelw build -c opt //bench:cc_harnesses >&2
for h in portsig sigwaitinfo signalfd libuv asio; do
  cp -f "bazel-bin/bench/${h}_harness" "$bin/${h}_harness"
done
if [[ ",$systems_csv," == *,portsig-generic,* ]]; then
  log "building portsig's harness on the generic POSIX platform layer"
  ./bazelw build -c opt --//platform:os=posix //bench:portsig_harness >&2
  cp -f bazel-bin/bench/portsig_harness "$bin/portsig_generic_harness"
  # The same output path holds either build: put the Linux one back.
  ./bazelw build -c opt //bench:portsig_harness >&2
fi
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
  # Local changes outside what this script writes (results, the chart).
  echo "- portsig: $(git log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!bench/results' ':!bench/results-quick' ':!bench/latency_cdf.png' 2>/dev/null || echo ' (with local changes)')"
  echo "- command: \`bench/run.sh${*:+ $*}\`"
} >"$machine"

# --- Runs -------------------------------------------------------------------
# system_cmd SYSTEM: the harness command line (env included) for SYSTEM.
system_cmd() {
  case "$1" in
    portsig-posix) echo "env PORTSIG_SIGQUEUE=posix $bin/portsig_harness" ;;
    portsig-note) echo "env PORTSIG_SIGQUEUE=note $bin/portsig_harness" ;;
    portsig-spin) echo "env PORTSIG_SIGQUEUE=posix PORTSIG_SPIN_BEFORE_SLEEP=50us $bin/portsig_harness" ;;
    portsig-generic) echo "env PORTSIG_SIGQUEUE=posix $bin/portsig_generic_harness" ;;
    probe) echo "$bin/portsig_harness" ;;
    go) echo "$bin/go_harness" ;;
    *) echo "$bin/${1}_harness" ;;
  esac
}
# harness_mode SYSTEM MODE: the harness's name for MODE, or nothing if
# SYSTEM does not have it. The placement probe (a plain handler, no
# library) runs as a system of its own.
harness_mode() {
  case "$1:$2" in
    probe:placement) echo placement ;;
    *:placement | probe:*) ;;
    sigwaitinfo:latency | sigwaitinfo:sparse | sigwaitinfo:storm | sigwaitinfo:churn) echo "$2" ;;
    signalfd:latency | signalfd:sparse | signalfd:storm) echo "$2" ;;
    sigwaitinfo:* | signalfd:*) ;;
    go:fanout_threads) echo fanout_goroutines ;;
    go:fanout_loop) ;;
    libuv:fanout_threads | asio:fanout_threads) ;;
    *) echo "$2" ;;
  esac
}
# placements_of SYSTEM MODE: the --placement values to run, one process
# each; "-" for none (modes that send no signal, and the floors, where every
# thread blocks the signal and no handler runs).
placements_of() {
  case "$1:$2" in
    *:churn | *:memory | sigwaitinfo:* | signalfd:*) echo - ;;
    *) echo "${placements[@]}" ;;
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
    for placement in "${placements[@]}" -; do
      for system in probe "${systems[@]}"; do
        hmode="$(harness_mode "$system" "$mode")"
        [[ -n $hmode ]] || continue
        wanted=" $(placements_of "$system" "$mode") "
        [[ $wanted == *" $placement "* ]] || continue
        log "run $run/$runs: $system $mode ${placement#-}"
        flags=("${harness_flags[@]}" "--mode=$hmode")
        [[ $placement == - ]] || flags+=("--placement=$placement")
        if [[ $mode == latency ]]; then
          flags+=("--samples=$out/samples/$system.run$run")
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
        # The column is named by run.sh's system (portsig-spin's lines say
        # backend=posix+spin50us), so the summary needs no guessing.
        sed "s/^/run=$run column=$system /" "$out/last.txt" >>"$raw"
        if ((rc != 0)); then
          log "FAILED: $system $mode $placement (exit $rc)"
          echo "# run=$run FAILED system=$system mode=$mode placement=$placement exit=$rc" >>"$raw"
        fi
      done
    done
  done
  end_load="$(load_average)"
  echo "# run=$run end $(date -u +%H:%M:%S) load: $end_load" >>"$raw"
  loads+=("run $run: $start_load → $end_load")
done
rm -f "$out/last.txt"
{
  echo "- load average (1, 5, 15 min) at start → end of each run:"
  for l in "${loads[@]}"; do echo "  - $l"; done
} >>"$machine"

# --- Tables -----------------------------------------------------------------
table="$out/table.md"
python3 bench/summarize.py "$raw" "$out/samples" >"$table"

# --- Latency CDF ------------------------------------------------------------
if ((quick)) || [[ $out != bench/results ]]; then
  chart="$out/latency_cdf.png"
else
  chart="bench/latency_cdf.png"
fi
# cdf_plot PLACEMENT: gnuplot's plot clause for that placement's samples
# (the floors, placement "blocked", are drawn in every panel).
cdf_plot() {
  local placement="$1" system f files plot=()
  for system in "${systems[@]}"; do
    files=()
    for f in "$out"/samples/"$system".run*."$placement".ns \
      "$out"/samples/"$system".run*.blocked.ns; do
      if [[ -s $f ]]; then files+=("$f"); fi
    done
    ((${#files[@]})) || continue
    # Every sample of every run, as (µs, fraction below): thinned to ~2,000
    # points, all of the top 1% kept so the tail shows.
    sort -n "${files[@]}" | awk -v total="$(cat "${files[@]}" | wc -l)" '
      { i = NR; step = int(total / 2000); if (step < 1) step = 1
        if (i % step == 0 || i > total * 0.99 || i == 1)
          printf "%.3f %.6f\n", $1 / 1000, i / total }' \
      >"$out/samples/$system.$placement.cdf"
    plot+=("'$out/samples/$system.$placement.cdf' using 1:2 with lines lw 2 title '$system'")
  done
  ((${#plot[@]})) || return 0
  local joined
  joined="$(printf '%s, ' "${plot[@]}")"
  echo "${joined%, }"
}
if command -v gnuplot >/dev/null && [[ " ${modes[*]} " == *" latency "* ]]; then
  panels=()
  for placement in "${placements[@]}"; do
    clause="$(cdf_plot "$placement")"
    if [[ -n $clause ]]; then
      panels+=("set title 'handler placement: $placement'" "plot $clause")
    fi
  done
  if ((${#panels[@]})); then
    count=$((${#panels[@]} / 2))
    gnuplot <<GNUPLOT
set terminal pngcairo size 1000,$((420 * count + 60)) font ",11"
set output '$chart'
set multiplot layout $count,1 title "kill(getpid(), SIGUSR1) from another thread until the consumer has it ($(nproc) cores, load $(load_average | cut -d, -f1))"
set xlabel "latency (µs, log scale)"
set ylabel "fraction of signals"
set logscale x
set xrange [1:10000]
set yrange [0:1]
set grid xtics mxtics ytics
set key bottom right
$(printf '%s\n' "${panels[@]}")
unset multiplot
GNUPLOT
    log "chart: $chart"
  fi
fi

echo
echo "## Machine"
echo
cat "$machine"
echo
cat "$table"
echo
log "raw lines: $raw; tables: $table"
