#!/usr/bin/env python3
"""Tables from bench/run.sh's raw results, in Markdown.

  python3 bench/summarize.py RAW [SAMPLES_DIR]

RAW holds harness.h's protocol lines, each prefixed by run.sh with
run=K column=SYSTEM ('#' lines are comments). Every figure is the median over
runs. Prints, in order: the headline table (one row per system, portsig's
default configuration first, the spin budget as its own row with its CPU
cost), issue 14's targets with met / NOT met and the figures they were
judged on, where a plain handler ran (the placement probe), a text CDF of
the latency samples in SAMPLES_DIR, and every figure.

Standard library only (Debian's python3).
"""

import collections
import glob
import os
import statistics
import sys

# run.sh's systems, in the order the tables show them.
COLUMNS = [
    "portsig-posix", "portsig-note", "portsig-spin", "portsig-generic",
    "libuv", "asio", "go",
    "sigwaitinfo", "signalfd", "sigaction", "probe"
]
NAMES = {
    "portsig-posix": "**portsig, default** (posix)",
    "portsig-note": "portsig, note backend",
    "portsig-spin": "portsig, spin budget 50 µs (knob)",
    "portsig-generic": "portsig, generic POSIX platform (posix)",
    "libuv": "libuv",
    "asio": "Asio",
    "go": "Go",
    "sigwaitinfo": "sigwaitinfo floor",
    "signalfd": "signalfd floor",
    "sigaction": "raw sigaction pair",
    "probe": "placement probe",
}
PEERS = ["libuv", "asio", "go"]
FLOORS = ["sigwaitinfo", "signalfd"]
PLACEMENTS = ["kernel", "forced"]
# The keys that tell a mode's lines apart, besides placement.
DISTINCT = ["channels", "others", "waiters", "gap_us"]
# Go's goroutine-per-channel fan-out stands in both fan-out rows.
MODE_ALIASES = {"fanout_goroutines": "fanout_threads"}


def parse(path):
  """{(column, mode, placement, distinct): {field: [value per run]}}."""
  figures = collections.defaultdict(lambda: collections.defaultdict(list))
  versions = {}
  for text in open(path, encoding="utf-8"):
    text = text.strip()
    if not text or text.startswith("#"):
      continue
    fields = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
    if "mode" not in fields or "column" not in fields:
      continue
    column = fields["column"]
    if fields["system"] == "sigaction":
      column = "sigaction"
    versions[column] = fields["backend"]
    mode = MODE_ALIASES.get(fields["mode"], fields["mode"])
    placement = fields.get("placement", "-")
    distinct = tuple((k, fields[k]) for k in DISTINCT if k in fields)
    key = (column, mode, placement, distinct)
    for name, value in fields.items():
      if name in ("run", "column", "system", "backend", "mode", "placement"):
        continue
      try:
        figures[key][name].append(float(value))
      except ValueError:
        pass
  return figures, versions


class Figures:
  """Medians over runs, looked up by what they are."""

  def __init__(self, figures):
    self.figures = figures

  def columns(self):
    """The systems this run measured."""
    return {key[0] for key in self.figures}

  def values(self, column, mode, field, placement="-", **distinct):
    d = tuple((k, str(distinct[k])) for k in DISTINCT if k in distinct)
    for p in ([placement, "blocked"] if placement != "-" else ["-"]):
      got = self.figures.get((column, mode, p, d), {}).get(field)
      if got:
        # A -1 is "no sample" (every rep of a fan-out timed out).
        return [v for v in got if not (field.endswith("_ns") and v < 0)]
    return []

  def median(self, *args, **kwargs):
    values = self.values(*args, **kwargs)
    return statistics.median(values) if values else None

  def total(self, *args, **kwargs):
    values = self.values(*args, **kwargs)
    return sum(values) if values else None


def us(ns):
  if ns is None:
    return "–"
  x = ns / 1000
  if x >= 1000:
    return f"{x / 1000:.2f} ms"
  if x >= 100:
    return f"{x:.0f} µs"
  return f"{x:.1f} µs"


def rate(r):
  if r is None:
    return "–"
  if r >= 1e6:
    return f"{r / 1e6:.2f}M/s"
  if r >= 1e3:
    return f"{r / 1e3:.0f}k/s"
  return f"{r:.0f}/s"


def human(field, x):
  if x is None:
    return "–"
  if field.endswith("_ns") or field.endswith("_ns_per_signal") or \
      field.endswith("_ns_per_delivery"):
    return us(x)
  if field.endswith("_per_s"):
    return rate(x)
  if field == "footprint_bytes" or field == "rss_bytes":
    return f"{x / 1048576:.1f} MiB"
  if field.endswith("_bytes"):
    return f"{x:.0f} B"
  if x == int(x):
    return f"{int(x)}"
  return f"{x:.1f}"


def headline(f):
  out = []
  out.append("### Headline (medians of the runs)\n")
  out.append(
      "Latency: from just before `kill(getpid(), SIGUSR1)` on the sender "
      "thread to the consumer's own clock reading once it has the signal. "
      "*kernel*: nobody blocks the signal and the kernel picks the thread "
      "that runs the handler; *forced*: the receiving thread blocks it, so "
      "a handler runs on another thread. The floors block it everywhere "
      "and run no handler: one figure serves both placements. CPU: every "
      "thread's but the sender's, per signal (back-to-back signals; "
      "`sparse`: 200 µs apart, longer than any spin budget).\n")
  header = [
      "system", "latency p50 / p99, kernel", "latency p50 / p99, forced",
      "CPU per signal, kernel / forced", "CPU per signal, sparse (kernel)",
      "storm deliveries/s, kernel / forced",
      "fan-out to 1,000 on one loop, all have it, p50 kernel / forced",
      "1,000 channels, a thread each (Go: goroutine each), p50 kernel / forced",
      "Notify+Stop pairs/s, 1,000 others / idle"
  ]
  out.append("| " + " | ".join(header) + " |")
  out.append("|" + "---|" * len(header))
  order = ["portsig-posix", "portsig-note", "libuv", "asio", "go",
           "sigwaitinfo", "signalfd", "portsig-spin", "portsig-generic"]
  for c in order:
    if c not in f.columns():
      continue
    cells = [NAMES[c]]
    for p in PLACEMENTS:
      cells.append(f"{us(f.median(c, 'latency', 'p50_ns', p))} / "
                   f"{us(f.median(c, 'latency', 'p99_ns', p))}")
    cells.append(
        " / ".join(us(f.median(c, "latency", "recv_cpu_ns_per_signal", p))
                   for p in PLACEMENTS))
    cells.append(us(f.median(c, "sparse", "recv_cpu_ns_per_signal", "kernel",
                             gap_us=200)))
    cells.append(" / ".join(
        rate(f.median(c, "storm", "deliveries_per_s", p)) for p in PLACEMENTS))
    loop_mode = "fanout_threads" if c == "go" else "fanout_loop"
    cells.append(" / ".join(
        us(f.median(c, loop_mode, "all_p50_ns", p, channels=1000))
        for p in PLACEMENTS) + (" (goroutine each)" if c == "go" else ""))
    cells.append(" / ".join(
        us(f.median(c, "fanout_threads", "all_p50_ns", p, channels=1000))
        for p in PLACEMENTS))
    cells.append(
        f"{rate(f.median(c, 'churn', 'pairs_per_s', others=1000))} / "
        f"{rate(f.median(c, 'churn', 'pairs_per_s', others=0))}")
    out.append("| " + " | ".join(cells) + " |")
  raw = f.median("sigaction", "churn", "pairs_per_s", others=0)
  if raw is not None:
    out.append(
        f"\nFloor for a subscribe+unsubscribe pair: `sigaction` install and "
        f"restore, {rate(raw)}.")
  return out


def verdict(ok):
  if ok is None:
    return "not measured"
  return "**met**" if ok else "**NOT met**"


def targets(f):
  out = ["### Issue 14's targets, portsig default configuration, this run\n"]
  out.append("| target | placement | figures | verdict |")
  out.append("|---|---|---|---|")
  me = "portsig-posix"

  def peers_of(mode, field, p, **kw):
    return {c: f.median(c, mode, field, p, **kw) for c in PEERS}

  for pct in ("p50", "p99"):
    for p in PLACEMENTS:
      mine = f.median(me, "latency", f"{pct}_ns", p)
      peers = peers_of("latency", f"{pct}_ns", p)
      known = [v for v in peers.values() if v is not None]
      ok = None if mine is None or not known else all(mine < v for v in known)
      figs = f"portsig {us(mine)}; " + ", ".join(
          f"{c} {us(v)}" for c, v in peers.items())
      out.append(f"| latency {pct} below each of libuv, Asio, Go | {p} | "
                 f"{figs} | {verdict(ok)} |")
  for p in PLACEMENTS:
    mine = f.median(me, "storm", "deliveries_per_s", p)
    peers = peers_of("storm", "deliveries_per_s", p)
    known = {c: v for c, v in peers.items() if v is not None}
    best = max(known.values()) if known else None
    ok = None if mine is None or best is None else mine >= 1.5 * best
    figs = (f"portsig {rate(mine)}; 1.5× best peer = "
            f"{rate(1.5 * best) if best else '–'} (" + ", ".join(
                f"{c} {rate(v)}" for c, v in peers.items()) + ")")
    out.append(f"| storm deliveries/s ≥ 1.5× the best of libuv, Asio, Go | "
               f"{p} | {figs} | {verdict(ok)} |")
  for p in PLACEMENTS:
    mine = f.median(me, "fanout_loop", "all_p50_ns", p, channels=1000)
    asio = f.median("asio", "fanout_loop", "all_p50_ns", p, channels=1000)
    ok = None if mine is None or asio is None else mine <= asio / 2
    out.append(
        f"| fan-out to 1,000 on one event loop, all-received p50 ≤ ½ Asio's "
        f"| {p} | portsig {us(mine)} (one ChannelGroup, one epoll); Asio "
        f"{us(asio)}, half is {us(asio / 2 if asio else None)} | "
        f"{verdict(ok)} |")
  for p in PLACEMENTS:
    mine = f.median(me, "fanout_threads", "all_p50_ns", p, channels=1000)
    go = f.median("go", "fanout_threads", "all_p50_ns", p, channels=1000)
    out.append(f"| (no target) 1,000 channels, a receiving thread each | {p} "
               f"| portsig {us(mine)}; Go, goroutine each, {us(go)} | "
               f"reported |")
  for others, label in ((1000, "with 1,000 other subscribers"), (0, "idle")):
    mine = f.median(me, "churn", "pairs_per_s", others=others)
    asio = f.median("asio", "churn", "pairs_per_s", others=others)
    ok = None if mine is None or asio is None else mine >= asio
    out.append(f"| Notify+Stop pairs/s {label} ≥ Asio's | – | portsig "
               f"{rate(mine)}; Asio {rate(asio)} | {verdict(ok)} |")
  for p in PLACEMENTS:
    spin = f.median("portsig-spin", "latency", "p50_ns", p)
    floors = {c: f.median(c, "latency", "p50_ns", p) for c in FLOORS}
    known = [v for v in floors.values() if v is not None]
    best = min(known) if known else None
    ok = None if spin is None or best is None else spin <= 1.1 * best
    cpu = f.median("portsig-spin", "latency", "recv_cpu_ns_per_signal", p)
    cpu_default = f.median(me, "latency", "recv_cpu_ns_per_signal", p)
    out.append(
        f"| with the spin budget (50 µs): latency p50 ≤ 1.1× the best floor "
        f"| {p} | spin {us(spin)}; " + ", ".join(
            f"{c} {us(v)}" for c, v in floors.items()) +
        f"; CPU per signal {us(cpu)} (default {us(cpu_default)}) | "
        f"{verdict(ok)} |")
  return out


def issue7_targets(f):
  """Issue 7's targets, which the earlier BENCHMARKS.md judged under the old
  protocol, judged again under this one (those issue 14 restates are in the
  table above)."""
  out = ["### Issue 7's targets, judged again under this protocol\n"]
  out.append("| target | placement | figures | verdict |")
  out.append("|---|---|---|---|")
  me = "portsig-posix"
  for p in PLACEMENTS:
    mine = f.median(me, "latency", "p99_ns", p)
    floor = f.median("sigwaitinfo", "latency", "p99_ns", p)
    ok = None if mine is None or floor is None else mine <= 1.1 * floor
    out.append(f"| latency p99 ≤ 1.1× sigwaitinfo's | {p} | portsig "
               f"{us(mine)}; sigwaitinfo {us(floor)} | {verdict(ok)} |")
  for p in PLACEMENTS:
    mine = f.median(me, "storm", "deliveries_per_s", p)
    floor = f.median("sigwaitinfo", "storm", "deliveries_per_s", p)
    ok = None if mine is None or floor is None else mine >= 0.5 * floor
    out.append(f"| storm deliveries/s ≥ 0.5× sigwaitinfo's | {p} | portsig "
               f"{rate(mine)}; sigwaitinfo {rate(floor)} | {verdict(ok)} |")
  lost, runs = 0, 0
  for (column, mode, _, _), fields in f.figures.items():
    if mode == "storm" and column.startswith("portsig"):
      lost += sum(fields.get("final_lost", []))
      runs += len(fields.get("final_lost", []))
  out.append(f"| storm: the last signal is never lost | both | portsig (all "
             f"three rows): {lost:.0f} lost in {runs} storms | "
             f"{verdict(lost == 0 if runs else None)} |")
  mine = f.median(me, "churn", "pairs_per_s", others=1000)
  go = f.median("go", "churn", "pairs_per_s", others=1000)
  ok = None if mine is None or go is None else mine >= go
  out.append(f"| Notify+Stop pairs/s with 1,000 others ≥ Go's | – | portsig "
             f"{rate(mine)}; Go {rate(go)} | {verdict(ok)} |")
  for p in PLACEMENTS:
    mine = f.median(me, "fanout_loop", "all_p50_ns", p, channels=1000)
    asio = f.median("asio", "fanout_loop", "all_p50_ns", p, channels=1000)
    ok = None if mine is None or asio is None else mine <= asio
    out.append(f"| fan-out to 1,000 consumers, time until all have it ≤ "
               f"Asio's | {p} | portsig {us(mine)}; Asio {us(asio)} | "
               f"{verdict(ok)} |")
  for p in PLACEMENTS:
    idle = f.median(me, "fanout_other", "p50_ns", p, waiters=0)
    busy = f.median(me, "fanout_other", "p50_ns", p, waiters=10000)
    ok = None if idle is None or busy is None else busy <= 1.25 * idle
    out.append(f"| SIGUSR2 latency flat in SIGUSR1 channels (p50 with 10,000 "
               f"≤ 1.25× with none) | {p} | {us(idle)} → {us(busy)} | "
               f"{verdict(ok)} |")
  fds = f.median(me, "memory", "fds_after", channels=10000)
  heap = f.median(me, "memory", "heap_per_channel_bytes", channels=10000)
  out.append(f"| 10,000 channels under a 1,024 descriptor limit | – | "
             f"{human('fds', fds)} descriptors open, "
             f"{human('heap_per_channel_bytes', heap)} heap per channel | "
             f"{verdict(None if fds is None else fds < 1024)} |")
  return out


def placement_probe(f):
  out = ["### Where a plain handler ran (placement probe)\n"]
  out.append("A `SA_SIGINFO` handler on SIGUSR1 records its thread while the "
             "main thread sleeps in a condition variable wait and another "
             "thread sends, one "
             "signal at a time (`portsig_harness --mode=placement`, no "
             "library involved); totals over the runs.\n")
  out.append("| placement | probes | on the receiving thread | on the sender "
             "| elsewhere |")
  out.append("|---|---|---|---|---|")
  for p in PLACEMENTS:
    t = {k: f.total("probe", "placement", k, p)
         for k in ("probes", "on_receiver", "on_sender", "elsewhere")}
    if t["probes"] is None:
      continue
    out.append(f"| {p} | {t['probes']:.0f} | {t['on_receiver']:.0f} | "
               f"{t['on_sender']:.0f} | {t['elsewhere']:.0f} |")
  return out


def text_cdf(samples_dir):
  out = []
  if not samples_dir or not os.path.isdir(samples_dir):
    return out
  qs = [0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 0.999]
  rows = []
  for p in PLACEMENTS + ["blocked"]:
    for c in COLUMNS:
      files = sorted(glob.glob(os.path.join(samples_dir, f"{c}.run*.{p}.ns")))
      values = []
      for name in files:
        with open(name, encoding="utf-8") as fh:
          values.extend(int(v) for v in fh if v.strip())
      if not values:
        continue
      values.sort()
      cells = [us(values[min(len(values) - 1, int(q * len(values)))])
               for q in qs]
      rows.append(f"| {NAMES[c]} | {p} | {len(values)} | " + " | ".join(cells) +
                  " |")
  if not rows:
    return out
  out.append("### Latency CDF as text (every sample of every run)\n")
  out.append("| system | placement | samples | " +
             " | ".join(f"{q * 100:g}%" for q in qs) + " |")
  out.append("|---|---|---|" + "---|" * len(qs))
  out.extend(rows)
  return out


def everything(figures, versions):
  out = ["### Every figure (medians of the runs)\n"]
  fields_of = collections.OrderedDict()
  for (column, mode, placement, distinct), fields in figures.items():
    row = (mode, placement, distinct)
    fields_of.setdefault(row, [])
    for name in fields:
      if name not in fields_of[row] and name not in DISTINCT and name not in (
          "n", "seconds", "kills", "deliveries", "pairs", "rss_bytes",
          "fds_before"):
        fields_of[row].append(name)
  columns = [c for c in COLUMNS if c in versions]
  out.append("| figure | " + " | ".join(columns) + " |")
  out.append("|---|" + "---|" * len(columns))
  f = Figures(figures)
  mode_order = ["placement", "latency", "sparse", "storm", "churn",
                "fanout_loop", "fanout_threads", "fanout_other", "memory"]

  def sort_key(row):
    mode, placement, distinct = row
    return (mode_order.index(mode) if mode in mode_order else 99, placement,
            tuple((k, float(v)) for k, v in distinct))

  for row in sorted(fields_of, key=sort_key):
    mode, placement, distinct = row
    label = " ".join([mode] + ([placement] if placement != "-" else []) +
                     [f"{k}={v}" for k, v in distinct])
    for name in fields_of[row]:
      cells = []
      for c in columns:
        values = figures.get((c, mode, placement, distinct), {}).get(name)
        if not values:
          cells.append("–")
        elif name in ("final_lost", "timeouts", "probes", "on_receiver",
                      "on_sender", "elsewhere"):
          cells.append(f"{sum(values):.0f} in {len(values)}")
        else:
          cells.append(human(name, statistics.median(values)))
      if name == "timeouts" and all(x in ("–", ) or x.startswith("0 in")
                                    for x in cells):
        continue
      out.append(f"| {label} {name} | " + " | ".join(cells) + " |")
  out.append("\nVersions: " + ", ".join(f"{c}={versions[c]}" for c in columns))
  return out


def main(argv):
  if len(argv) < 2:
    sys.exit(__doc__)
  figures, versions = parse(argv[1])
  f = Figures(figures)
  samples_dir = argv[2] if len(argv) > 2 else None
  sections = [headline(f), targets(f), issue7_targets(f), placement_probe(f),
              text_cdf(samples_dir), everything(figures, versions)]
  print("\n\n".join("\n".join(s) for s in sections if s))


if __name__ == "__main__":
  main(sys.argv)
