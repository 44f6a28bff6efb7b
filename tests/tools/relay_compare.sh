#!/usr/bin/env bash
# relay_compare.sh [SIGWATCH]: issue 15's comparison of `sigwatch --relay`
# with the two relays containers run as PID 1, tini (also `tini -g`) and
# dumb-init. Runs each scenario against each relay, prints a table, and
# fails if sigwatch fails any row: BEHIND where tini, tini -g or dumb-init
# passed it, FAIL where none did (every row is something a container init
# must do). The other relays' failures are shown, not judged.
#
# Rows: exit status, death by a signal, 127/126 for a missing or
# non-executable command, no "--" before a command with options, stdin to
# EOF; HUP INT QUIT USR1 USR2 WINCH ALRM
# PWR URG RTMIN+3 forwarded with the relay alive after; TERM reaching a
# grandchild; TERM then INT not SIGKILLing; a second TERM SIGKILLing a
# command that ignores TERM; under GNU timeout (TERM twice at once) the
# command finishing its shutdown; 10,000 USR1 in a burst; nothing on stderr;
# TSTP/TTIN/TTOU to the relay stopping the command and the relay, CONT
# resuming both; as PID 1 (unshare --pid) no zombie left and TSTP/CONT;
# under `script` (a terminal, no job control above): the command reads the
# terminal, the shell reads it after the relay exits, Ctrl-Z does not leave
# the command stopped.
#
# tini and dumb-init are Debian packages (./bazelw installs them when this
# test is asked for; `apt-get install tini dumb-init`). Without them this
# script fails and says so: it never skips silently.
#
# Needs root for the PID 1 rows (unshare --pid). Each scenario is bounded
# (timeouts, bounded polls); a relay that hangs fails its row.
set -uo pipefail

SIGWATCH="${1:-sigwatch}"
SIGWATCH="$(command -v "$SIGWATCH" || echo "$SIGWATCH")"
[[ "$SIGWATCH" == /* ]] || SIGWATCH="$PWD/$SIGWATCH"

missing=()
for tool in tini dumb-init script unshare; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[[ -x "$SIGWATCH" ]] || missing+=("$SIGWATCH")
if ((${#missing[@]})); then
  echo "relay_compare: FAILED: cannot compare, missing: ${missing[*]}" >&2
  echo "relay_compare: install them: apt-get install -y tini dumb-init" \
    "util-linux bsdutils (./bazelw does it for this test)" >&2
  exit 1
fi
if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
  echo "relay_compare: FAILED: cannot run the PID 1 rows:" \
    "unshare --pid --fork --mount-proc fails here (it needs root)" >&2
  exit 1
fi

RELAYS=(sigwatch tini "tini -g" dumb-init)
declare -A RELAY_CMD=(
  [sigwatch]="$SIGWATCH --relay --"
  [tini]="tini --"
  ["tini -g"]="tini -g --"
  [dumb-init]="dumb-init"
)

WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/relay_compare.XXXXXX")"
# Every process a relay's scenarios start inherits RELAY_COMPARE_RUN (set
# per relay below), so what a hung relay left behind (a stopped command,
# say) is found and killed after its row.
# kill_leftovers VALUE: kills every process whose RELAY_COMPARE_RUN matches
# VALUE (a grep pattern for the whole value).
kill_leftovers() {
  local f p
  for f in $(grep -lzx "RELAY_COMPARE_RUN=$1" /proc/[0-9]*/environ \
    2>/dev/null); do
    p="${f#/proc/}"
    p="${p%/environ}"
    [[ "$p" != "$$" ]] && kill -KILL "$p" 2>/dev/null
  done
}
cleanup() {
  kill_leftovers "$WORK/.*"
  [[ -n "${RELAY_COMPARE_KEEP:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT
# Patience for anything to happen; nothing is asserted on how long it took.
PATIENCE="${RELAY_COMPARE_PATIENCE:-8}"

# The state letter of a process (R, S, T, Z, ...), or - if there is none.
state() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || {
    echo -
    return
  }
  s="${s##*) }"
  echo "${s%% *}"
}
alive() { [[ "$(state "$1")" != [-Z] ]]; }
stopped() { [[ "$(state "$1")" == T ]]; }
running() { alive "$1" && ! stopped "$1"; }
both_stopped() { stopped "$1" && stopped "$2"; }
# await CMD...: polls until CMD succeeds, for up to $PATIENCE seconds of
# wall-clock time (a count of polls would stretch with the machine's load:
# under load 20 an 8-second wait took two minutes).
await() {
  local end=$((SECONDS + PATIENCE))
  while ((SECONDS <= end)); do
    "$@" && return 0
    sleep 0.02
  done
  return 1
}
first_child() {
  local c
  c="$(cat "/proc/$1/task/$1/children" 2>/dev/null)"
  echo "${c%% *}"
}
has_child() { [[ -n "$(first_child "$1")" ]]; }

# A bash script that waits for signals in builtins only (a `sleep` would be
# killed by the signals forwarded to its group). Its traps are set by the
# lines given; it touches $D/ready once they are, and exits 0 once $D/quit
# exists. All in a function, so bash has parsed everything before any trap
# can run (bash 5.2 can fail to parse a line a trap interrupted).
waiter() {
  cat <<EOF
export D='$D'
$*
main() {
  exec 8<> <(:); touch "\$D/ready"
  while [[ ! -e "\$D/quit" ]]; do read -r -t 0.05 -u 8; done; exit 0
}
main
EOF
}

# start RELAY SCRIPT [nowait]: runs bash SCRIPT under RELAY in the
# background with INT and QUIT at their default (a non-interactive shell's
# background jobs ignore them), stdout in $D/out, stderr in $D/err; sets R
# to the relay's pid. Waits for $D/ready unless told not to.
start() {
  local relay="$1" script="$2" wait="${3:-}"
  printf '%s\n' "$script" >"$D/script.sh"
  # shellcheck disable=SC2086
  env --default-signal=INT,QUIT ${RELAY_CMD[$relay]} bash "$D/script.sh" \
    </dev/null >"$D/out" 2>"$D/err" &
  R=$!
  [[ -n "$wait" ]] || await test -e "$D/ready"
}

# finish: sets RC to the relay's exit status once it exits (within
# $PATIENCE), else kills it and its command's group and sets RC to "hung".
# Not in a subshell: only this shell can wait for the relay.
finish() {
  local end=$((SECONDS + PATIENCE))
  while ((SECONDS <= end)); do
    alive "$R" || break
    sleep 0.02
  done
  if alive "$R"; then
    local c
    c="$(first_child "$R")"
    [[ -n "$c" ]] && kill -KILL -- "-$c" "$c" 2>/dev/null
    kill -KILL "$R" 2>/dev/null
    wait "$R" 2>/dev/null
    RC=hung
    return
  fi
  wait "$R"
  RC=$?
}

# Each scenario: sc_NAME RELAY, with $D a fresh directory; prints the
# cell's text and returns 0 if the relay did what a container needs.

sc_exit_status() {
  start "$1" 'exit 3' nowait
  local rc
  finish
  rc="$RC"
  echo "exit=$rc"
  [[ "$rc" == 3 ]]
}

sc_signal_death() {
  start "$1" 'kill -USR2 $$' nowait
  local rc
  finish
  rc="$RC"
  echo "exit=$rc"
  [[ "$rc" == $((128 + 12)) ]]
}

sc_not_found() {
  local rc
  # shellcheck disable=SC2086
  timeout "$PATIENCE" ${RELAY_CMD[$1]} "$D/no-such-command" \
    >/dev/null 2>&1 </dev/null
  rc=$?
  echo "exit=$rc"
  [[ "$rc" == 127 ]]
}

sc_not_executable() {
  local rc
  printf '#!/bin/sh\nexit 0\n' >"$D/not-executable"
  chmod 644 "$D/not-executable"
  # shellcheck disable=SC2086
  timeout "$PATIENCE" ${RELAY_CMD[$1]} "$D/not-executable" \
    >/dev/null 2>&1 </dev/null
  rc=$?
  echo "exit=$rc"
  [[ "$rc" == 126 ]]
}

sc_no_double_dash() {
  # ENTRYPOINT ["relay"] with CMD ["bash", "-c", "..."]: no "--" before a
  # command that has options of its own.
  local rc
  # shellcheck disable=SC2086
  timeout "$PATIENCE" ${RELAY_CMD[$1]%--} bash -c 'exit 3' \
    >/dev/null 2>&1 </dev/null
  rc=$?
  echo "exit=$rc"
  [[ "$rc" == 3 ]]
}

sc_stdin_eof() {
  local out rc
  # shellcheck disable=SC2086
  out="$(printf 'a\nb\n' | timeout "$PATIENCE" ${RELAY_CMD[$1]} \
    sh -c 'cat; echo eof' 2>/dev/null)"
  rc=$?
  echo "exit=$rc $(tr '\n' ' ' <<<"$out")"
  [[ "$rc" == 0 && "$out" == $'a\nb\neof' ]]
}

# A signal sent to the relay reaches the command, and the relay outlives it.
forward() {
  local relay="$1" sig="$2"
  start "$relay" "$(waiter "trap 'echo got >> \"\$D/got\"' $sig")"
  kill "-$sig" "$R"
  local got=no
  await test -e "$D/got" && got=yes
  local survived=no
  alive "$R" && survived=yes
  touch "$D/quit"
  local rc
  finish
  rc="$RC"
  echo "got=$got relay=$([[ $survived == yes ]] && echo alive || echo dead)"
  [[ $got == yes && $survived == yes && $rc == 0 ]]
}
for sig in HUP INT QUIT USR1 USR2 WINCH ALRM PWR URG RTMIN+3; do
  eval "sc_forward_${sig//+/_}() { forward \"\$1\" $sig; }"
done

sc_grandchild_forwarding() {
  # The command's child, in its group, gets TERM too.
  start "$1" "$(waiter "trap : TERM
bash -c 'trap \"touch \$D/gc; exit 0\" TERM; exec 8<> <(:); touch \$D/gc_ready; while :; do read -r -t 0.05 -u 8; done' &
until [[ -e \$D/gc_ready ]]; do read -r -t 0.02 <> <(:); done")"
  kill -TERM "$R"
  local got=no
  await test -e "$D/gc" && got=yes
  local c
  c="$(first_child "$R")"
  [[ -n "$c" ]] && kill -KILL -- "-$c" 2>/dev/null
  finish
  echo "grandchild=$got"
  [[ $got == yes ]]
}

sc_term_then_int() {
  # A supervisor's TERM then INT to a command shutting down is not a user's
  # Ctrl-C twice: it must not be SIGKILLed.
  start "$1" "$(waiter "trap 'echo term >> \"\$D/got\"' TERM; trap 'touch \"\$D/quit\"' INT")"
  kill -TERM "$R"
  await test -e "$D/got"
  kill -INT "$R"
  local rc
  finish
  rc="$RC"
  echo "exit=$rc"
  [[ "$rc" == 0 ]]
}

sc_term_twice_kills() {
  # A command that ignores TERM: a second TERM within --grace SIGKILLs it
  # (sigwatch's own feature; the others keep waiting).
  start "$1" "$(waiter "trap 'echo term >> \"\$D/got\"' TERM")"
  kill -TERM "$R"
  await test -e "$D/got"
  # A person repeating the TERM: later than the 100ms within which sigwatch
  # takes a repeat for the same request sent twice (see under_timeout).
  sleep 0.3
  kill -TERM "$R"
  local rc
  finish
  rc="$RC"
  echo "exit=$rc"
  [[ "$rc" == 137 ]]
}

sc_under_timeout() {
  # GNU timeout sends TERM to the relay and then to its own process group,
  # which holds the relay: two TERMs at once, one request. A command that
  # handles TERM by finishing its work must be allowed to finish.
  local script
  # Half a second of shutdown work, then done. (Not `read -t`: a `read -t`
  # in a trap that interrupted the loop's `read -t` can block for ever.)
  script="$(waiter "trap 'sleep 0.5; touch \"\$D/quit\"' TERM")"
  printf '%s\n' "$script" >"$D/script.sh"
  # shellcheck disable=SC2086
  timeout -k "$PATIENCE" -s TERM 2 env --default-signal=INT,QUIT ${RELAY_CMD[$1]} \
    bash "$D/script.sh" </dev/null >"$D/out" 2>"$D/err"
  local rc=$?
  echo "exit=$rc"
  # 124: timeout's own status once its command exited after the TERM.
  [[ $rc == 124 && -e "$D/quit" ]]
}

sc_burst_10000() {
  start "$1" "$(waiter "n=0; trap 'n=\$((n+1))' USR1; trap 'echo \$n > \"\$D/n\"; exit 0' TERM")"
  local i
  for ((i = 0; i < 10000; i++)); do kill -USR1 "$R" 2>/dev/null || break; done
  local survived=no
  alive "$R" && survived=yes
  kill -TERM "$R"
  local rc
  finish
  rc="$RC"
  echo "sent=$i seen=$(cat "$D/n" 2>/dev/null || echo -) exit=$rc"
  [[ $i == 10000 && $survived == yes && $rc == 0 && -s "$D/n" ]]
}

sc_stderr_quiet() {
  start "$1" 'exit 0' nowait
  finish
  local lines
  lines="$(wc -l <"$D/err")"
  echo "lines=$lines"
  [[ "$lines" == 0 ]]
}

# SIG sent to the relay stops the command and then the relay; CONT resumes
# both (dumb-init's semantics).
stop_cont() {
  local relay="$1" sig="$2"
  start "$relay" "$(waiter)"
  local c
  c="$(first_child "$R")"
  kill "-$sig" "$R"
  local cmd_stopped=no relay_stopped=no
  # One wait for both: a relay that stops neither costs one $PATIENCE, not
  # two.
  await both_stopped "$c" "$R"
  stopped "$c" && cmd_stopped=yes
  stopped "$R" && relay_stopped=yes
  kill -CONT "$R"
  local resumed=no
  await running "$R" && await running "$c" && resumed=yes
  touch "$D/quit"
  local rc
  finish
  rc="$RC"
  echo "command=$cmd_stopped relay=$relay_stopped resumed=$resumed"
  [[ $cmd_stopped == yes && $relay_stopped == yes && $resumed == yes &&
    $rc == 0 ]]
}
sc_tstp_cont() { stop_cont "$1" TSTP; }
sc_ttin_cont() { stop_cont "$1" TTIN; }
sc_ttou_cont() { stop_cont "$1" TTOU; }

# pid1 RELAY SCRIPT: runs bash SCRIPT under RELAY as PID 1 of a new PID
# namespace, in the background; sets U to unshare's pid.
pid1() {
  local relay="$1" script="$2"
  printf '%s\n' "$script" >"$D/script.sh"
  # shellcheck disable=SC2086
  env --default-signal=INT,QUIT unshare --pid --fork --mount-proc \
    ${RELAY_CMD[$relay]} bash "$D/script.sh" </dev/null >"$D/out" \
    2>"$D/err" &
  U=$!
}

sc_pid1_zombies() {
  # Five orphans, each ending once its parent has exited: as PID 1 the
  # relay adopts and must reap them. Each orphan is a cat reading a FIFO;
  # it ends at EOF, once a writer has come and gone after it opened the
  # FIFO. The script opens and closes it (read-write: on Linux that never
  # blocks) on every poll, so an orphan that opens it late ends too, rather
  # than staying alive until the poll gives up (it did, in most runs: ten
  # seconds for every relay, with one orphan never ended).
  pid1 "$1" "D='$D'
st() { S=''; local s; read -r s < /proc/\$1/stat 2>/dev/null || return 0; s=\${s##*) }; S=\${s%% *}; }
main() {
  cd \"\$D\" && mkfifo fifo
  for i in 1 2 3 4 5; do ( cat fifo > /dev/null & echo \$! >> orphans ); done
  mapfile -t orphans < orphans
  exec 8<> <(:)
  end=\$((SECONDS + $PATIENCE))
  while ((SECONDS <= end)); do
    : 1<> fifo
    A=0; Z=0
    for p in \${orphans[@]}; do st \$p; [[ \$S == Z ]] && Z=\$((Z+1)); [[ -n \$S && \$S != Z ]] && A=\$((A+1)); done
    [[ \$A == 0 && \$Z == 0 ]] && break
    read -r -t 0.01 -u 8
  done
  echo zombies=\$Z
}
main"
  # Twice the patience: the script itself waits up to $PATIENCE.
  local end=$((SECONDS + 2 * PATIENCE))
  while ((SECONDS <= end)); do
    alive "$U" || break
    sleep 0.02
  done
  if alive "$U"; then kill -KILL "$U"; fi
  wait "$U"
  local out
  out="$(cat "$D/out")"
  echo "${out:-no output: $(head -c 200 "$D/err")}"
  [[ "$out" == zombies=0 ]]
}

sc_pid1_tstp_cont() {
  # As PID 1 the relay cannot stop itself; the command must still stop and
  # resume.
  pid1 "$1" "$(waiter)"
  await has_child "$U"
  R="$(first_child "$U")"
  await test -e "$D/ready"
  local c
  c="$(first_child "$R")"
  kill -TSTP "$R"
  local cmd_stopped=no
  await stopped "$c" && cmd_stopped=yes
  kill -CONT "$R"
  local resumed=no
  await running "$c" && resumed=yes
  touch "$D/quit"
  local end=$((SECONDS + PATIENCE))
  while ((SECONDS <= end)); do
    alive "$U" || break
    sleep 0.02
  done
  if alive "$U"; then
    kill -KILL "$R" "$U"
    resumed="$resumed(hung)"
  fi
  wait "$U"
  echo "command=$cmd_stopped resumed=$resumed"
  [[ $cmd_stopped == yes && $resumed == yes ]]
}

# at_terminal RELAY CMD INPUT...: runs CMD (a shell command line) under
# `script`, on a new terminal whose session leader is sh; types each INPUT
# once the previous one is consumed... (typed all at once: the terminal
# buffers it). Waits for $D/ready before typing. Prints what the terminal
# showed.
at_terminal() {
  local relay="$1" cmd="$2"
  shift 2
  mkfifo "$D/keys"
  timeout -k 2 "$PATIENCE" script -qec "$cmd" /dev/null <"$D/keys" \
    >"$D/tty" 2>&1 &
  local s=$!
  {
    await test -e "$D/ready"
    printf '%b' "$@"
    # Keeps the terminal open until the session ends.
    while kill -0 "$s" 2>/dev/null; do sleep 0.05; done
  } >"$D/keys"
  wait "$s"
  tr -d '\r' <"$D/tty"
}

sc_terminal_read() {
  # The command reads the terminal (it must own its foreground).
  local out
  out="$(at_terminal "$1" "${RELAY_CMD[$1]} bash -c 'touch $D/ready; read -r l; echo got:\$l'" 'hello\n')"
  echo "$(grep -c got:hello <<<"$out" | sed 's/^1$/read/; s/^0$/hung/')"
  grep -q got:hello <<<"$out"
}

sc_terminal_given_back() {
  # After the relay exits, the shell that ran it reads the terminal.
  local out
  out="$(at_terminal "$1" "${RELAY_CMD[$1]} true; touch $D/ready; read -r l; echo after:\$l" 'back\n')"
  grep -q after:back <<<"$out" && echo "read" || echo "not read"
  grep -q after:back <<<"$out"
}

sc_terminal_ctrl_z() {
  # Ctrl-Z at a terminal with no job control above the relay: the command
  # must not stay stopped for ever.
  local out
  out="$(at_terminal "$1" "${RELAY_CMD[$1]} bash -c 'touch $D/ready; read -r l; echo got:\$l'" '\x1a' 'hello\n')"
  grep -q got:hello <<<"$out" && echo "read" || echo "stuck"
  grep -q got:hello <<<"$out"
}

ROWS=(
  exit_status signal_death not_found not_executable no_double_dash stdin_eof
  forward_HUP forward_INT forward_QUIT forward_USR1 forward_USR2
  forward_WINCH forward_ALRM forward_PWR forward_URG forward_RTMIN_3
  grandchild_forwarding term_then_int term_twice_kills under_timeout
  burst_10000
  stderr_quiet tstp_cont ttin_cont ttou_cont pid1_zombies pid1_tstp_cont
  terminal_read terminal_given_back terminal_ctrl_z
)

# RELAY_COMPARE_ROWS="row row ...": only those (for debugging a row).
if [[ -n "${RELAY_COMPARE_ROWS:-}" ]]; then
  read -ra ROWS <<<"$RELAY_COMPARE_ROWS"
fi

# Under Bazel's test sharding (shard_count in tests/tools/BUILD) each shard
# takes every TEST_TOTAL_SHARDS-th row, so that the rows' waiting overlaps
# and each shard has a timeout of its own: one run of every row took over
# 15 minutes on a machine under load 20.
if [[ -n "${TEST_TOTAL_SHARDS:-}" ]]; then
  [[ -n "${TEST_SHARD_STATUS_FILE:-}" ]] && touch "$TEST_SHARD_STATUS_FILE"
  shard_rows=()
  for i in "${!ROWS[@]}"; do
    ((i % TEST_TOTAL_SHARDS == TEST_SHARD_INDEX)) && shard_rows+=("${ROWS[$i]}")
  done
  ROWS=("${shard_rows[@]}")
fi

# run_relay RELAY: every row against RELAY, one after another; each row's
# cell in $D/cell and its exit status in $D/pass.
run_relay() {
  local relay="$1" row rc
  export RELAY_COMPARE_RUN="$WORK/relay.${relay// /_}"
  for row in "${ROWS[@]}"; do
    D="$WORK/$row.${relay// /_}"
    mkdir -p "$D"
    # In this shell, not a subshell, so the scenario can wait for what it
    # starts.
    "sc_$row" "$relay" >"$D/cell" 2>>"$WORK/harness.${relay// /_}.err"
    rc=$?
    echo "$rc" >"$D/pass"
    # Progress, so that a log cut short by a timeout says where it was.
    echo "relay_compare: ${SECONDS}s: $row, $relay: exit $rc" >&2
    kill_leftovers "$RELAY_COMPARE_RUN"
  done
}

# The relays run at the same time, each in its own background shell: a row
# is mostly waiting (for a signal to arrive, or for $PATIENCE to pass where
# a relay does not do what the row asks), and one relay after another took
# about 55 s per shard, three quarters of it tini's and tini -g's patience.
# No scenario signals anything but the processes it started itself.
for relay in "${RELAYS[@]}"; do
  run_relay "$relay" &
done
wait

declare -A CELL PASS
for row in "${ROWS[@]}"; do
  for relay in "${RELAYS[@]}"; do
    D="$WORK/$row.${relay// /_}"
    PASS[$row,$relay]="$(cat "$D/pass" 2>/dev/null || echo 1)"
    CELL[$row,$relay]="$(tr '\n' ' ' <"$D/cell" 2>/dev/null)"
  done
done

verdict=0
fmt='%-22s %-8s | %-38s | %-38s | %-38s | %-38s\n'
# shellcheck disable=SC2059
printf "$fmt" scenario verdict "${RELAYS[@]}"
for row in "${ROWS[@]}"; do
  line=()
  for relay in "${RELAYS[@]}"; do
    mark="ok  "
    ((PASS[$row,$relay] == 0)) || mark="FAIL"
    line+=("$mark ${CELL[$row,$relay]}")
  done
  # BEHIND: sigwatch failed where tini or dumb-init did not. FAIL: sigwatch
  # failed where they did too; also a failure, since every row is something
  # a container init must do, and a harness broken for all would pass
  # otherwise.
  v=ok
  if ((PASS[$row,sigwatch] != 0)); then
    v=FAIL
    for relay in "${RELAYS[@]:1}"; do
      ((PASS[$row,$relay] == 0)) && v=BEHIND
    done
    verdict=1
  fi
  # shellcheck disable=SC2059
  printf "$fmt" "$row" "$v" "${line[@]}"
done
if ((verdict)); then
  echo "relay_compare: FAILED: sigwatch failed a row (BEHIND: where tini" \
    "or dumb-init did not)" >&2
else
  echo "relay_compare: PASSED: sigwatch passed every row, so it is nowhere" \
    "behind tini, tini -g or dumb-init"
fi
exit "$verdict"
