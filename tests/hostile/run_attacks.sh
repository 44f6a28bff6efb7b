#!/bin/bash
# run_attacks.sh [scenario...]: runs each scenario of //tests/hostile:attack
# (every one but the helper modes by default) on both backends, each under
# a watchdog of T seconds (default 60), and prints its exit status and the
# end of its output. Builds the program first.
cd "$(dirname "$0")/../.." || exit 1
./bazelw build //tests/hostile:attack >/dev/null 2>&1 || {
  echo "build failed"; exit 1; }
bin=$(mktemp /tmp/hostile_attack.XXXXXX)
cp bazel-bin/tests/hostile/attack "$bin" && chmod 755 "$bin"
names=("$@")
[ ${#names[@]} -eq 0 ] &&
  names=($("$bin" | grep -v -e report_mask -e blocked_child))
for n in "${names[@]}"; do
  for b in posix note; do
    log=/tmp/hostile_${n}_$b.log
    start=$(date +%s.%N)
    PORTSIG_SIGQUEUE=$b timeout -s KILL "${T:-60}" "$bin" "$n" >"$log" 2>&1
    rc=$?
    printf "%-30s %-6s rc=%-4s %5.1fs %s\n" "$n" "$b" "$rc" \
      "$(echo "$(date +%s.%N) - $start" | bc)" \
      "$(tail -c 200 "$log" | tr '\n' '|')"
  done
done
rm -f "$bin"
