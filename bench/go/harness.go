// Go's os/signal under the bench/ protocol (bench/harness.h, mirrored here:
// the same flags, modes and output lines). Consumers are goroutines ranging
// over a channel passed to signal.Notify. Built by bench/run.sh with
// Debian's golang-go: GO111MODULE=off go build -o OUT harness.go
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var epoch = time.Now()

// nowNs is monotonic nanoseconds since start.
func nowNs() int64 { return int64(time.Since(epoch)) }

type options struct {
	mode                      string
	latencyIters, latencyWarm int
	stormSeconds, timeoutSecs float64
	churnSeconds              float64
	churnOthers               int
	fanoutSizes               []int
	fanoutReps, fanoutRepsBig int
	otherWaiters              int
	otherIters, otherWarm     int
	memoryChannels            int
	samples                   string
}

func parseOptions() options {
	o := options{mode: "all", latencyIters: 20000, latencyWarm: 1000,
		stormSeconds: 1, timeoutSecs: 1, churnSeconds: 0.5, churnOthers: 1000,
		fanoutSizes: []int{1, 10, 100, 1000, 10000}, fanoutReps: 200,
		fanoutRepsBig: 50, otherWaiters: 10000, otherIters: 2000, otherWarm: 200,
		memoryChannels: 10000}
	mode := flag.String("mode", "all", "all|latency|storm|churn|fanout|fanout_other|memory")
	quick := flag.Bool("quick", false, "fewer iterations")
	smoke := flag.Bool("smoke", false, "tiny run for tests")
	samples := flag.String("samples", "", "file for raw latency samples (ns)")
	iters := flag.Int("iters", -1, "latency iterations")
	warmup := flag.Int("warmup", -1, "latency warm-up iterations")
	fanout := flag.String("fanout", "", "fan-out sizes, comma separated")
	channels := flag.Int("channels", -1, "channels for memory mode")
	churnOthers := flag.Int("churn_others", -1, "other channels in churn's second half")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "bad argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	o.mode = *mode
	o.samples = *samples
	if *quick {
		o.latencyIters, o.latencyWarm = 2000, 200
		o.stormSeconds, o.churnSeconds = 0.25, 0.1
		o.fanoutSizes = []int{1, 100, 1000, 10000}
		o.fanoutReps, o.fanoutRepsBig = 20, 5
		o.otherIters, o.otherWarm = 300, 30
	}
	if *smoke {
		o.latencyIters, o.latencyWarm = 20, 2
		o.stormSeconds, o.churnSeconds, o.churnOthers = 0.02, 0.01, 10
		o.fanoutSizes = []int{1, 10}
		o.fanoutReps, o.fanoutRepsBig = 3, 1
		o.otherWaiters, o.otherIters, o.otherWarm = 20, 10, 2
		o.memoryChannels = 50
	}
	if *iters >= 0 {
		o.latencyIters = *iters
	}
	if *warmup >= 0 {
		o.latencyWarm = *warmup
	}
	if *churnOthers >= 0 {
		o.churnOthers = *churnOthers
	}
	if *channels >= 0 {
		o.memoryChannels = *channels
	}
	if *fanout != "" {
		o.fanoutSizes = nil
		for _, f := range strings.Split(*fanout, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 {
				fmt.Fprintf(os.Stderr, "bad --fanout %q\n", *fanout)
				os.Exit(2)
			}
			o.fanoutSizes = append(o.fanoutSizes, n)
		}
	}
	switch o.mode {
	case "all", "latency", "storm", "churn", "fanout", "fanout_other", "memory":
	default:
		fmt.Fprintf(os.Stderr, "mode %q not supported\n", o.mode)
		os.Exit(2)
	}
	return o
}

func (o *options) wants(mode string) bool { return o.mode == "all" || o.mode == mode }

// line is one protocol line.
type line struct{ text string }

func newLine(mode string) *line {
	return &line{"system=go backend=" + runtime.Version() + " mode=" + mode}
}
func (l *line) i(k string, v int64) *line   { l.text += fmt.Sprintf(" %s=%d", k, v); return l }
func (l *line) f(k string, v float64) *line { l.text += fmt.Sprintf(" %s=%.1f", k, v); return l }
func (l *line) print()                      { fmt.Println(l.text) }

func percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return -1
	}
	rank := int(q*float64(len(sorted)) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func (l *line) percentiles(prefix string, v []int64) *line {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	max := int64(-1)
	if len(s) > 0 {
		max = s[len(s)-1]
	}
	return l.i(prefix+"p50_ns", percentile(s, 0.5)).i(prefix+"p90_ns", percentile(s, 0.9)).
		i(prefix+"p99_ns", percentile(s, 0.99)).i(prefix+"max_ns", max)
}

// sink is what consumers bump once per delivery.
type sink struct {
	count  uint64
	lastNs int64
}

func (s *sink) bump() {
	atomic.StoreInt64(&s.lastNs, nowNs())
	atomic.AddUint64(&s.count, 1)
}

var pid = os.Getpid()

func send(sig syscall.Signal) { syscall.Kill(pid, sig) }

// consume starts a goroutine bumping s for each value on c, until c closes.
func consume(c chan os.Signal, s *sink) {
	go func() {
		for range c {
			s.bump()
		}
	}()
}

func subscribe(n int, sig os.Signal) []chan os.Signal {
	cs := make([]chan os.Signal, n)
	for i := range cs {
		cs[i] = make(chan os.Signal, 1)
		signal.Notify(cs[i], sig)
	}
	return cs
}

func unsubscribe(cs []chan os.Signal) {
	for _, c := range cs {
		signal.Stop(c)
		close(c)
	}
}

func timeoutNs(o *options) int64 { return int64(o.timeoutSecs * 1e9) }

func runLatency(o *options, s *sink, mode string, sig syscall.Signal, iters, warm int,
	dump bool, extraKey string, extra int64) {
	samples := make([]int64, 0, iters)
	timeouts := int64(0)
	for i := 0; i < warm+iters; i++ {
		base := atomic.LoadUint64(&s.count)
		t0 := nowNs()
		send(sig)
		timedOut := false
		for spins := uint32(1); atomic.LoadUint64(&s.count) == base; spins++ {
			if spins&1023 == 0 && nowNs()-t0 > timeoutNs(o) {
				timedOut = true
				break
			}
		}
		t1 := nowNs()
		if timedOut {
			timeouts++
		} else if i >= warm {
			samples = append(samples, t1-t0)
		}
	}
	if dump && o.samples != "" {
		var b strings.Builder
		for _, v := range samples {
			b.WriteString(strconv.FormatInt(v, 10))
			b.WriteByte('\n')
		}
		os.WriteFile(o.samples, []byte(b.String()), 0o644)
	}
	l := newLine(mode)
	if extraKey != "" {
		l.i(extraKey, extra)
	}
	l.i("n", int64(len(samples))).percentiles("", samples).i("timeouts", timeouts).print()
}

func runStorm(o *options, s *sink) {
	startCount := atomic.LoadUint64(&s.count)
	start := nowNs()
	end := start + int64(o.stormSeconds*1e9)
	kills := int64(0)
	var now int64
	for {
		for j := 0; j < 64; j++ {
			send(syscall.SIGUSR1)
		}
		kills += 64
		now = nowNs()
		if now >= end {
			break
		}
	}
	// The last kill, timed from just before it (see harness.h).
	lastKill := nowNs()
	send(syscall.SIGUSR1)
	kills++
	endCount := atomic.LoadUint64(&s.count)
	seconds := float64(now-start) / 1e9
	lost, wait := int64(1), int64(-1)
	for t := nowNs(); t-lastKill < timeoutNs(o); t = nowNs() {
		if atomic.LoadInt64(&s.lastNs) > lastKill {
			lost, wait = 0, t-lastKill
			break
		}
	}
	d := int64(endCount - startCount)
	newLine("storm").f("seconds", seconds).i("kills", kills).f("kills_per_s", float64(kills)/seconds).
		i("deliveries", d).f("deliveries_per_s", float64(d)/seconds).
		i("final_lost", lost).i("final_wait_ns", wait).print()
}

func runChurn(o *options, others int) {
	bg := subscribe(others, syscall.SIGUSR1)
	c := make(chan os.Signal, 1)
	pair := func() {
		signal.Notify(c, syscall.SIGUSR1)
		signal.Stop(c)
	}
	for i := 0; i < 16; i++ {
		pair()
	}
	start := nowNs()
	pairs := int64(0)
	var now int64
	for {
		for j := 0; j < 16; j++ {
			pair()
		}
		pairs += 16
		now = nowNs()
		if now-start >= int64(o.churnSeconds*1e9) {
			break
		}
	}
	unsubscribe(bg)
	seconds := float64(now-start) / 1e9
	newLine("churn").i("others", int64(others)).i("pairs", pairs).
		f("pairs_per_s", float64(pairs)/seconds).print()
}

func runFanout(o *options, n int) {
	s := &sink{}
	cs := subscribe(n, syscall.SIGUSR1)
	for _, c := range cs {
		consume(c, s)
	}
	reps := o.fanoutReps
	if n > 1000 {
		reps = o.fanoutRepsBig
	}
	var firsts, alls []int64
	timeouts := int64(0)
	for rep := 0; rep < 2+reps; rep++ {
		base := atomic.LoadUint64(&s.count)
		t0 := nowNs()
		send(syscall.SIGUSR1)
		first, all := int64(-1), int64(-1)
		for {
			got := int64(atomic.LoadUint64(&s.count) - base)
			t := nowNs()
			if first < 0 && got > 0 {
				first = t - t0
			}
			if got >= int64(n) {
				all = t - t0
				break
			}
			if t-t0 > timeoutNs(o) {
				break
			}
		}
		if all < 0 {
			timeouts++
			if timeouts >= 3 {
				break
			}
			continue
		}
		if rep >= 2 {
			firsts = append(firsts, first)
			alls = append(alls, all)
		}
	}
	unsubscribe(cs)
	newLine("fanout").i("channels", int64(n)).i("n", int64(len(alls))).
		percentiles("first_", firsts).percentiles("all_", alls).i("timeouts", timeouts).print()
}

type memory struct{ rss, heap, fds int64 }

func snapshot() memory {
	var m memory
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = int64(ms.HeapAlloc)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			m.rss = pages * int64(os.Getpagesize())
		}
	}
	if d, err := os.ReadDir("/proc/self/fd"); err == nil {
		m.fds = int64(len(d)) - 1 // The directory's own descriptor.
	}
	return m
}

func runMemory(o *options, atStart memory) {
	first := subscribe(1, syscall.SIGUSR1)
	before := snapshot()
	cs := subscribe(o.memoryChannels, syscall.SIGUSR1)
	after := snapshot()
	n := float64(o.memoryChannels)
	newLine("memory").i("channels", int64(o.memoryChannels)).
		f("heap_per_channel_bytes", float64(after.heap-before.heap)/n).
		f("rss_per_channel_bytes", float64(after.rss-before.rss)/n).
		i("footprint_bytes", after.rss-atStart.rss).i("rss_bytes", after.rss).
		i("fds_before", atStart.fds).i("fds_after", after.fds).print()
	unsubscribe(cs)
	unsubscribe(first)
}

func main() {
	atStart := snapshot()
	o := parseOptions()
	// The sender is one OS thread, as in the C++ harnesses.
	runtime.LockOSThread()
	if o.wants("memory") {
		runMemory(&o, atStart)
	}
	if o.wants("latency") {
		s := &sink{}
		cs := subscribe(1, syscall.SIGUSR1)
		consume(cs[0], s)
		runLatency(&o, s, "latency", syscall.SIGUSR1, o.latencyIters, o.latencyWarm, true, "", 0)
		unsubscribe(cs)
	}
	if o.wants("storm") {
		s := &sink{}
		cs := subscribe(1, syscall.SIGUSR1)
		consume(cs[0], s)
		runStorm(&o, s)
		unsubscribe(cs)
	}
	if o.wants("churn") {
		runChurn(&o, 0)
		runChurn(&o, o.churnOthers)
	}
	if o.wants("fanout") {
		for _, n := range o.fanoutSizes {
			runFanout(&o, n)
		}
	}
	if o.wants("fanout_other") {
		for _, waiters := range []int{0, o.otherWaiters} {
			bg := subscribe(waiters, syscall.SIGUSR1)
			s := &sink{}
			cs := subscribe(1, syscall.SIGUSR2)
			consume(cs[0], s)
			runLatency(&o, s, "fanout_other", syscall.SIGUSR2, o.otherIters, o.otherWarm, false,
				"waiters", int64(waiters))
			unsubscribe(cs)
			unsubscribe(bg)
		}
	}
}
