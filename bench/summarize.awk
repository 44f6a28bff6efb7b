# Reads bench/run.sh's raw results (protocol lines of harness.h, each
# prefixed with run=K; '#' lines are comments) and prints a Markdown table:
# the median over runs of each figure, per system, with its ratio to
# portsig/posix (system ÷ portsig/posix, whichever way is better).
# mawk-compatible (Debian's default awk).

function column_of(sys, backend) {
  return sys == "portsig" ? "portsig/" backend : sys
}

# The row a line's figures belong to: mode plus what distinguishes its
# lines (churn's others, fanout's channels, fanout_other's waiters).
function row_of(mode) {
  if (mode == "churn") return "churn others=" f["others"]
  if (mode == "fanout") return "fanout channels=" f["channels"]
  if (mode == "fanout_epoll") return "fanout_epoll channels=" f["channels"]
  if (mode == "fanout_other") return "fanout_other waiters=" f["waiters"]
  return mode
}

function add_unique(list_name, value,    i) {
  if (list_name == "row") {
    if (value in row_seen) return
    row_seen[value] = 1
    rows[++nrows] = value
  } else {
    if (value in col_seen) return
    col_seen[value] = 1
    cols[++ncols] = value
  }
}

function median(key,    n, i, j, v, t) {
  n = count[key]
  for (i = 1; i <= n; i++) v[i] = vals[key, i] + 0
  for (i = 2; i <= n; i++) {
    t = v[i]
    for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
    v[j + 1] = t
  }
  if (n % 2) return v[(n + 1) / 2]
  return (v[n / 2] + v[n / 2 + 1]) / 2
}

function sum(key,    i, s) {
  s = 0
  for (i = 1; i <= count[key]; i++) s += vals[key, i]
  return s
}

function human(field, x) {
  if (field ~ /_ns$/) {
    x /= 1000
    if (x >= 1000) return sprintf("%.2f ms", x / 1000)
    if (x >= 100) return sprintf("%.0f µs", x)
    return sprintf("%.1f µs", x)
  }
  if (field ~ /_per_s$/) {
    if (x >= 1e6) return sprintf("%.2fM/s", x / 1e6)
    if (x >= 1e3) return sprintf("%.0fk/s", x / 1e3)
    return sprintf("%.0f/s", x)
  }
  if (field == "footprint_bytes") return sprintf("%.1f MiB", x / 1048576)
  if (field ~ /_bytes$/) return sprintf("%.0f B", x)
  return sprintf("%d", x)
}

# The figures shown for each mode, in order, and their labels.
BEGIN {
  fields["latency"] = "p50_ns p90_ns p99_ns max_ns recv_cpu_ns_per_signal"
  fields["storm"] = "kills_per_s deliveries_per_s final_lost"
  fields["churn"] = "pairs_per_s"
  fields["fanout"] = "first_p50_ns all_p50_ns all_p99_ns timeouts"
  fields["fanout_epoll"] = fields["fanout"]
  fields["fanout_other"] = "p50_ns p99_ns"
  fields["memory"] = "heap_per_channel_bytes rss_per_channel_bytes footprint_bytes fds_after"
  # Columns in this order when present, then any others.
  split("portsig/posix portsig/note portsig/posix+spin50us sigwaitinfo signalfd sigaction go libuv asio", order, " ")
}

/^#/ || NF == 0 { next }

{
  delete f
  for (i = 1; i <= NF; i++) {
    eq = index($i, "=")
    if (eq) f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
  }
  if (!("mode" in f)) next
  col = column_of(f["system"], f["backend"])
  version[col] = f["backend"]
  add_unique("col", col)
  row = row_of(f["mode"])
  row_mode[row] = f["mode"]
  add_unique("row", row)
  n = split(fields[f["mode"]], names, " ")
  for (i = 1; i <= n; i++) {
    if (!(names[i] in f)) continue
    # -1: no sample (e.g. every fan-out rep timed out).
    if (names[i] ~ /_ns$/ && f[names[i]] + 0 < 0) continue
    key = row SUBSEP names[i] SUBSEP col
    vals[key, ++count[key]] = f[names[i]]
    has[row SUBSEP names[i]] = 1
  }
}

END {
  # Columns: the preferred order first.
  nshow = 0
  for (i = 1; i in order; i++) if (order[i] in col_seen) show[++nshow] = order[i]
  for (i = 1; i <= ncols; i++) {
    known = 0
    for (j = 1; j in order; j++) if (order[j] == cols[i]) known = 1
    if (!known) show[++nshow] = cols[i]
  }
  header = "| figure |"
  rule = "|---|"
  for (i = 1; i <= nshow; i++) {
    header = header " " show[i] " |"
    rule = rule "---|"
  }
  print header
  print rule
  base = "portsig/posix"
  for (r = 1; r <= nrows; r++) {
    row = rows[r]
    n = split(fields[row_mode[row]], names, " ")
    for (k = 1; k <= n; k++) {
      field = names[k]
      if (!((row SUBSEP field) in has)) continue
      if (field == "timeouts") {
        # Only worth a row when something timed out.
        any = 0
        for (i = 1; i <= nshow; i++) {
          key = row SUBSEP field SUBSEP show[i]
          if (key in count && sum(key) > 0) any = 1
        }
        if (!any) continue
      }
      line = "| " row " " field " |"
      bkey = row SUBSEP field SUBSEP base
      bval = (bkey in count) ? median(bkey) : ""
      for (i = 1; i <= nshow; i++) {
        key = row SUBSEP field SUBSEP show[i]
        if (!(key in count)) {
          line = line " – |"
          continue
        }
        if (field == "final_lost" || field == "timeouts") {
          line = line " " sum(key) " in " count[key] " runs |"
          continue
        }
        v = median(key)
        cell = human(field, v)
        if (show[i] != base && bval != "" && bval + 0 != 0 && field != "fds_after") {
          cell = cell sprintf(" (×%.2f)", v / bval)
        }
        line = line " " cell " |"
      }
      print line
    }
  }
  printf "\nVersions:"
  for (i = 1; i <= nshow; i++) printf " %s=%s", show[i], version[show[i]]
  printf "\n"
}
