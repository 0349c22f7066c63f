package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Latencies summarises a set of durations.
type Latencies struct {
	N                  int
	P50, P95, P99, Max time.Duration
}

// Summarize computes the nearest-rank percentiles of ds (which it sorts).
func Summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	slices.Sort(ds)
	return Latencies{N: len(ds), P50: Percentile(ds, 0.50), P95: Percentile(ds, 0.95), P99: Percentile(ds, 0.99), Max: ds[len(ds)-1]}
}

// Percentile is the nearest-rank q-quantile of sorted ds.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// samples collects durations by kind from many goroutines.
type samples struct {
	mu sync.Mutex
	by map[string][]time.Duration
}

func (s *samples) add(kind string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string][]time.Duration{}
	}
	s.by[kind] = append(s.by[kind], d)
}

// summary summarises the kinds named, together.
func (s *samples) summary(kinds ...string) Latencies {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []time.Duration
	for _, k := range kinds {
		all = append(all, s.by[k]...)
	}
	return Summarize(all)
}

// errorLog counts errors and keeps the first few.
type errorLog struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (e *errorLog) add(format string, a ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 5 {
		e.first = append(e.first, fmt.Sprintf(format, a...))
	}
}

func (e *errorLog) get() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, slices.Clone(e.first)
}

// Memory is a process's resident set, from /proc/<pid>/status.
type Memory struct {
	RSS  int64 // VmRSS, bytes
	Peak int64 // VmHWM, the peak resident set, bytes
	// RSS split: anonymous memory (heap, stacks, the runtime's and C-style
	// allocations) and file-backed pages (the binary's code and data).
	Anon, File int64
}

// ReadMemory reads VmRSS and VmHWM of a process (Linux).
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	return ParseStatus(f)
}

// ParseStatus reads VmRSS and VmHWM from a /proc/<pid>/status file.
func ParseStatus(r io.Reader) (Memory, error) {
	var m Memory
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("%s: unexpected %q", k, v)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", k, err)
		}
		*dst = n * 1024
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if m.RSS == 0 || m.Peak == 0 {
		return m, fmt.Errorf("no VmRSS/VmHWM in status")
	}
	return m, nil
}

// ReadHeap asks the bot's profiler for a heap profile after a garbage
// collection (/debug/pprof/heap?gc=1&debug=1) and returns its HeapAlloc: the
// bytes of live heap objects.
func ReadHeap(client *http.Client, admin string) (uint64, error) {
	resp, err := client.Get("http://" + admin + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("heap profile: %s (is http.pprof on?)", resp.Status)
	}
	return ParseHeapAlloc(resp.Body)
}

// ParseHeapAlloc finds "# HeapAlloc = N" in a debug=1 heap profile.
func ParseHeapAlloc(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no HeapAlloc line in the heap profile")
}

// Durable is the durable writes a bot asked for per completed reset and the
// syncs to disk they took (concurrent writes share one): passcodebot's from
// its /metrics (SQLite's writer), the floor's from its GET /durable.
type Durable struct{ Writes, Syncs float64 }

// Allocs is the heap a bot allocated per completed reset (Go's TotalAlloc),
// in KiB, and the garbage collections it ran per reset: what its GC pays for.
type Allocs struct{ KiB, GCs float64 }

// totals are a bot's running counters; ok is false when they could not be read.
type totals struct {
	writes, syncs, alloc, gcs float64
	ok                        bool
}

// readTotals reads passcodebot's counters from its admin listener's /metrics,
// or with floor the floor's from GET /durable on its sign-in server.
func readTotals(client *http.Client, addr string, floor bool) totals {
	url := "http://" + addr + "/metrics"
	if floor {
		url = "http://" + addr + "/durable"
	}
	resp, err := client.Get(url)
	if err != nil {
		return totals{}
	}
	defer resp.Body.Close()
	var c totals
	if floor {
		if _, err := fmt.Fscan(resp.Body, &c.writes, &c.syncs, &c.alloc, &c.gcs); err != nil {
			return totals{}
		}
		c.ok = true
		return c
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return totals{}
	}
	for _, m := range []struct {
		series string
		v      *float64
	}{
		{"passcodebot_store_writes_total", &c.writes}, {"passcodebot_store_commits_total", &c.syncs},
		{"go_memstats_alloc_bytes_total", &c.alloc}, {"go_gc_cycles_total", &c.gcs},
	} {
		if *m.v, err = ParseMetric(bytes.NewReader(b), m.series); err != nil {
			return totals{}
		}
	}
	c.ok = true
	return c
}

// countsPerReset is the writes, syncs and allocations between two readings per
// completed reset; zero when either could not be read.
func countsPerReset(before, after totals, n int) (Durable, Allocs) {
	if !before.ok || !after.ok || n == 0 {
		return Durable{}, Allocs{}
	}
	f := func(a, b float64) float64 { return (b - a) / float64(n) }
	return Durable{f(before.writes, after.writes), f(before.syncs, after.syncs)},
		Allocs{f(before.alloc, after.alloc) / 1024, f(before.gcs, after.gcs)}
}

// ReadMetric reads one series' value from a Prometheus text exposition.
func ReadMetric(client *http.Client, admin, series string) (float64, error) {
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return ParseMetric(resp.Body, series)
}

// ParseMetric finds series (name with labels, as printed) in a Prometheus text exposition.
func ParseMetric(r io.Reader, series string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no series %s", series)
}

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// ReadCPU returns the CPU time (user and system) a process has used; pid 0 is this process.
func ReadCPU(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return ParseStatCPU(string(b))
}

// ParseStatCPU reads utime and stime from a /proc/<pid>/stat line.
func ParseStatCPU(stat string) (time.Duration, error) {
	// The command name may hold spaces and parentheses: fields count from the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return time.Duration(u+s) * clockTick, nil
}

// cpuMeter measures the CPU a process and this driver use over a span.
type cpuMeter struct {
	pid         int
	proc, drive time.Duration
}

func startCPU(pid int) cpuMeter {
	p, _ := ReadCPU(pid)
	d, _ := ReadCPU(0)
	return cpuMeter{pid: pid, proc: p, drive: d}
}

// stop returns the CPU the process and the driver (with the fakes) used since start.
func (m cpuMeter) stop() (proc, driver time.Duration) {
	p, _ := ReadCPU(m.pid)
	d, _ := ReadCPU(0)
	return p - m.proc, d - m.drive
}
