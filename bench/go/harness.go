// Go's os/signal under the bench/ protocol (bench/harness.h, mirrored here:
// the same flags, modes, placements and output lines). The main goroutine
// is locked to the main thread (init below), which makes that thread the
// receiving thread of the protocol: it ranges over the channel passed to
// signal.Notify (latency, sparse, storm, fanout_other) or waits while a
// goroutine per channel does (fanout_goroutines, Go's figure beside
// portsig's fanout_threads and the loops' fanout_loop). The sender is
// another goroutine locked to its own thread. With --placement=forced the
// main thread blocks SIGUSR1 and SIGUSR2 (rt_sigprocmask on that thread),
// so that Go's handler runs on another thread. Built by bench/run.sh with
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
	"unsafe"
)

// The main goroutine runs on the main thread, the thread-group leader: the
// thread the kernel tries first for kill(getpid(), ...).
func init() { runtime.LockOSThread() }

var epoch = time.Now()

// nowNs is monotonic nanoseconds since start.
func nowNs() int64 { return int64(time.Since(epoch)) }

const (
	placementKernel = "kernel"
	placementForced = "forced"
)

type options struct {
	mode                      string
	placements                []string
	latencyIters, latencyWarm int
	sparseIters, sparseGapUs  int
	stormSeconds, timeoutSecs float64
	churnSeconds              float64
	churnOthers               int
	fanoutSizes               []int
	fanoutReps, fanoutWarm    int
	otherWaiters              int
	otherIters, otherWarm     int
	memoryChannels            int
	samples                   string
}

func parseOptions() options {
	o := options{mode: "all", placements: []string{placementKernel, placementForced},
		latencyIters: 20000, latencyWarm: 1000, sparseIters: 5000, sparseGapUs: 200,
		stormSeconds: 1, timeoutSecs: 1, churnSeconds: 0.5, churnOthers: 1000,
		fanoutSizes: []int{1000}, fanoutReps: 200, fanoutWarm: 5,
		otherWaiters: 10000, otherIters: 2000, otherWarm: 200, memoryChannels: 10000}
	mode := flag.String("mode", "all", "all|latency|sparse|storm|churn|fanout_goroutines|fanout_other|memory")
	placement := flag.String("placement", "both", "kernel|forced|both")
	quick := flag.Bool("quick", false, "fewer iterations")
	smoke := flag.Bool("smoke", false, "tiny run for tests")
	samples := flag.String("samples", "", "prefix for raw latency samples (ns): PREFIX.PLACEMENT.ns")
	iters := flag.Int("iters", -1, "latency iterations")
	warmup := flag.Int("warmup", -1, "latency warm-up iterations")
	gapUs := flag.Int("gap_us", -1, "sparse: gap between signals (µs)")
	fanout := flag.String("fanout", "", "fan-out sizes, comma separated")
	reps := flag.Int("reps", -1, "fan-out repetitions")
	channels := flag.Int("channels", -1, "channels for memory mode")
	churnOthers := flag.Int("churn_others", -1, "other channels in churn's second half")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "bad argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	o.mode = *mode
	o.samples = *samples
	switch *placement {
	case "kernel", "forced":
		o.placements = []string{*placement}
	case "both":
	default:
		fmt.Fprintf(os.Stderr, "bad --placement %q\n", *placement)
		os.Exit(2)
	}
	if *quick {
		o.latencyIters, o.latencyWarm, o.sparseIters = 2000, 200, 500
		o.stormSeconds, o.churnSeconds = 0.25, 0.1
		o.fanoutReps = 30
		o.otherIters, o.otherWarm = 300, 30
	}
	if *smoke {
		o.latencyIters, o.latencyWarm, o.sparseIters, o.sparseGapUs = 20, 2, 10, 50
		o.stormSeconds, o.churnSeconds, o.churnOthers = 0.02, 0.01, 10
		o.fanoutSizes = []int{10}
		o.fanoutReps, o.fanoutWarm = 3, 1
		o.otherWaiters, o.otherIters, o.otherWarm = 20, 10, 2
		o.memoryChannels = 50
		o.timeoutSecs = 10 // A hang detector, not a timing.
	}
	if *iters >= 0 {
		o.latencyIters = *iters
	}
	if *warmup >= 0 {
		o.latencyWarm = *warmup
	}
	if *gapUs >= 0 {
		o.sparseGapUs = *gapUs
	}
	if *reps >= 0 {
		o.fanoutReps = *reps
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
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "bad --fanout %q\n", *fanout)
				os.Exit(2)
			}
			o.fanoutSizes = append(o.fanoutSizes, n)
		}
	}
	switch o.mode {
	case "all", "latency", "sparse", "storm", "churn", "fanout_goroutines", "fanout_other", "memory":
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
func newPlacedLine(mode, placement string) *line {
	l := newLine(mode)
	l.text += " placement=" + placement
	return l
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

// sink is what consumers bump once per delivery they have.
type sink struct {
	count  uint64
	lastNs int64 // The latest time any bump took (a maximum).
}

func (s *sink) bump() {
	now := nowNs()
	for {
		seen := atomic.LoadInt64(&s.lastNs)
		if seen >= now || atomic.CompareAndSwapInt64(&s.lastNs, seen, now) {
			break
		}
	}
	atomic.AddUint64(&s.count, 1)
}

var pid = os.Getpid()

func send(sig syscall.Signal) { syscall.Kill(pid, sig) }

// The kernel's sigset_t as rt_sigprocmask takes it (8 bytes on Linux).
func userSignals() uint64 {
	return 1<<(uint(syscall.SIGUSR1)-1) | 1<<(uint(syscall.SIGUSR2)-1)
}

// sigprocmask changes the calling thread's mask (the goroutine must be
// locked to it) and returns the old one.
func sigprocmask(how int, set uint64) uint64 {
	var old uint64
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, uintptr(how),
		uintptr(unsafe.Pointer(&set)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	if errno != 0 {
		fmt.Fprintf(os.Stderr, "rt_sigprocmask: %v\n", errno)
		os.Exit(1)
	}
	return old
}

const (
	sigBlock   = 0
	sigUnblock = 1
	sigSetmask = 2
)

// clockNs reads a CPU clock (2: the process's, 3: the calling thread's).
func clockNs(clock uintptr) int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// othersCPU is the CPU time of every thread but the calling (sender) one.
type othersCPU struct{ process, self int64 }

func startOthersCPU() othersCPU { return othersCPU{clockNs(2), clockNs(3)} }
func (c othersCPU) elapsed() int64 {
	return (clockNs(2) - c.process) - (clockNs(3) - c.self)
}

// waitUntilAsleep waits until thread tid sleeps (see harness.cc).
func waitUntilAsleep(tid int, timeout int64) {
	path := fmt.Sprintf("/proc/self/task/%d/stat", tid)
	start := nowNs()
	for nowNs()-start < timeout {
		if b, err := os.ReadFile(path); err == nil {
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == 'S' {
				return
			}
		}
		runtime.Gosched()
	}
	fmt.Fprintln(os.Stderr, "runPlaced: the receiving thread never slept")
}

// runPlaced mirrors harness.h's RunPlaced: receive runs on the main thread
// (the main goroutine, locked to it), send and then stop on a sender
// goroutine locked to its own thread, once the main thread sleeps.
func runPlaced(placement string, receive, sendFn, stop func()) {
	if syscall.Gettid() != pid {
		fmt.Fprintln(os.Stderr, "runPlaced: not on the main thread")
		os.Exit(1)
	}
	var saved uint64
	if placement == placementForced {
		saved = sigprocmask(sigBlock, userSignals())
	} else {
		saved = sigprocmask(sigUnblock, userSignals())
	}
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		sigprocmask(sigUnblock, userSignals())
		waitUntilAsleep(pid, 10e9)
		sendFn()
		stop()
		close(done)
	}()
	receive()
	<-done
	sigprocmask(sigSetmask, saved)
}

// receiveWhile ranges over c on the main thread, bumping s, while sendFn
// runs on the sender.
func receiveWhile(placement string, c chan os.Signal, sig syscall.Signal, s *sink, sendFn func()) {
	var stop int32
	runPlaced(placement, func() {
		for range c {
			if atomic.LoadInt32(&stop) != 0 {
				return
			}
			s.bump()
		}
	}, sendFn, func() {
		atomic.StoreInt32(&stop, 1)
		send(sig)
	})
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

type latencySpec struct {
	mode        string
	sig         syscall.Signal
	iters, warm int
	gapUs       int
	dump        bool
	extraKey    string
	extra       int64
}

func runLatency(o *options, placement string, s *sink, spec latencySpec) {
	samples := make([]int64, 0, spec.iters)
	timeouts := int64(0)
	gap := int64(spec.gapUs) * 1000
	var cpu othersCPU
	previous := nowNs()
	for i := 0; i < spec.warm+spec.iters; i++ {
		if i == spec.warm {
			cpu = startOthersCPU()
		}
		for nowNs()-previous < gap {
		}
		base := atomic.LoadUint64(&s.count)
		t0 := nowNs()
		send(spec.sig)
		timedOut := false
		for spins := uint32(1); atomic.LoadUint64(&s.count) == base; spins++ {
			if spins&1023 == 0 && nowNs()-t0 > timeoutNs(o) {
				timedOut = true
				break
			}
		}
		previous = nowNs()
		if timedOut {
			timeouts++
		} else if i >= spec.warm {
			samples = append(samples, atomic.LoadInt64(&s.lastNs)-t0)
		}
	}
	othersCPU := cpu.elapsed()
	if spec.dump && o.samples != "" {
		var b strings.Builder
		for _, v := range samples {
			b.WriteString(strconv.FormatInt(v, 10))
			b.WriteByte('\n')
		}
		os.WriteFile(o.samples+"."+placement+".ns", []byte(b.String()), 0o644)
	}
	l := newPlacedLine(spec.mode, placement)
	if spec.extraKey != "" {
		l.i(spec.extraKey, spec.extra)
	}
	if spec.gapUs > 0 {
		l.i("gap_us", int64(spec.gapUs))
	}
	l.i("n", int64(len(samples))).percentiles("", samples).i("timeouts", timeouts)
	if spec.iters > 0 {
		l.i("recv_cpu_ns_per_signal", othersCPU/int64(spec.iters))
	}
	l.print()
}

func runStorm(o *options, placement string, s *sink) {
	cpu := startOthersCPU()
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
	endCount := atomic.LoadUint64(&s.count)
	othersCPU := cpu.elapsed()
	// The last kill, timed from just before it (see harness.h).
	lastKill := nowNs()
	send(syscall.SIGUSR1)
	seconds := float64(now-start) / 1e9
	lost, wait := int64(1), int64(-1)
	for t := nowNs(); t-lastKill < timeoutNs(o); t = nowNs() {
		if atomic.LoadInt64(&s.lastNs) > lastKill {
			lost, wait = 0, t-lastKill
			break
		}
	}
	d := int64(endCount - startCount)
	perDelivery := int64(-1)
	if d > 0 {
		perDelivery = othersCPU / d
	}
	newPlacedLine("storm", placement).f("seconds", seconds).i("kills", kills).
		f("kills_per_s", float64(kills)/seconds).
		i("deliveries", d).f("deliveries_per_s", float64(d)/seconds).
		i("recv_cpu_ns_per_delivery", perDelivery).
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

// runFanout: n goroutines, each ranging over its own channel, bump s; the
// main thread waits. Per rep, from the kill until all n have it.
func runFanout(o *options, placement string, n int) {
	s := &sink{}
	cs := subscribe(n, syscall.SIGUSR1)
	for _, c := range cs {
		go func(c chan os.Signal) {
			for range c {
				s.bump()
			}
		}(c)
	}
	var alls []int64
	timeouts := int64(0)
	quit := make(chan struct{})
	runPlaced(placement, func() { <-quit }, func() {
		for rep := 0; rep < o.fanoutWarm+o.fanoutReps; rep++ {
			base := atomic.LoadUint64(&s.count)
			t0 := nowNs()
			send(syscall.SIGUSR1)
			done := false
			for spins := uint32(1); ; spins++ {
				if atomic.LoadUint64(&s.count)-base >= uint64(n) {
					done = true
					break
				}
				if spins&1023 == 0 && nowNs()-t0 > timeoutNs(o) {
					break
				}
			}
			if !done {
				timeouts++
				if timeouts >= 3 {
					break
				}
				continue
			}
			if rep >= o.fanoutWarm {
				alls = append(alls, atomic.LoadInt64(&s.lastNs)-t0)
			}
		}
	}, func() { close(quit) })
	unsubscribe(cs)
	newPlacedLine("fanout_goroutines", placement).i("channels", int64(n)).i("n", int64(len(alls))).
		percentiles("all_", alls).i("timeouts", timeouts).print()
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

// latency, sparse, fanout_other: one channel received on the main thread,
// with `background` other channels waiting on SIGUSR1.
func latency(o *options, placement string, spec latencySpec, background int) {
	bg := subscribe(background, syscall.SIGUSR1)
	s := &sink{}
	cs := subscribe(1, spec.sig)
	receiveWhile(placement, cs[0], spec.sig, s, func() { runLatency(o, placement, s, spec) })
	unsubscribe(cs)
	unsubscribe(bg)
}

func main() {
	atStart := snapshot()
	o := parseOptions()
	if o.wants("memory") {
		runMemory(&o, atStart)
	}
	if o.wants("latency") {
		spec := latencySpec{mode: "latency", sig: syscall.SIGUSR1, iters: o.latencyIters,
			warm: o.latencyWarm, dump: true}
		for _, p := range o.placements {
			latency(&o, p, spec, 0)
		}
	}
	if o.wants("sparse") {
		spec := latencySpec{mode: "sparse", sig: syscall.SIGUSR1, iters: o.sparseIters,
			warm: o.sparseIters / 10, gapUs: o.sparseGapUs}
		for _, p := range o.placements {
			latency(&o, p, spec, 0)
		}
	}
	if o.wants("storm") {
		for _, p := range o.placements {
			s := &sink{}
			cs := subscribe(1, syscall.SIGUSR1)
			receiveWhile(p, cs[0], syscall.SIGUSR1, s, func() { runStorm(&o, p, s) })
			unsubscribe(cs)
		}
	}
	if o.wants("churn") {
		runChurn(&o, 0)
		runChurn(&o, o.churnOthers)
	}
	if o.wants("fanout_goroutines") {
		for _, p := range o.placements {
			for _, n := range o.fanoutSizes {
				runFanout(&o, p, n)
			}
		}
	}
	if o.wants("fanout_other") {
		for _, p := range o.placements {
			for _, waiters := range []int{0, o.otherWaiters} {
				spec := latencySpec{mode: "fanout_other", sig: syscall.SIGUSR2, iters: o.otherIters,
					warm: o.otherWarm, extraKey: "waiters", extra: int64(waiters)}
				latency(&o, p, spec, waiters)
			}
		}
	}
}
