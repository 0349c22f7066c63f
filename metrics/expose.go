package metrics

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The Prometheus text exposition format (version 0.0.4), written by hand: the
// bot's handful of counters, one histogram and two gauges need no client
// library, and github.com/prometheus/client_golang with its protobuf
// dependency was 2.5 MB of the 22 MB binary and as much of its idle resident
// set (bench/load, issue 17).

// contentType is what Prometheus expects of a text exposition.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// family is one metric name: its help, type and series.
type family interface {
	write(w *bufio.Writer)
}

// labelSet is a series' label values, in the order of its family's names.
type labelSet []string

func (ls labelSet) key() string { return strings.Join(ls, "\xff") }

// labelsText renders {a="x",b="y"} with the names sorted, as Prometheus does;
// extra is appended last (a histogram's le).
func labelsText(names []string, values labelSet, extra ...string) string {
	if len(names) == 0 && len(extra) == 0 {
		return ""
	}
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	var b strings.Builder
	b.WriteByte('{')
	for n, i := range idx {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(names[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(extra[i] + `="` + escapeLabel(extra[i+1]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func header(w *bufio.Writer, name, help, typ string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, helpEscaper.Replace(help), name, typ)
}

func number(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// counterVec is a counter with labels.
type counterVec struct {
	name, help string
	labels     []string
	// mu guards series; a series, once made, is only read: every commit
	// counts under its labels, so the lookup takes the read lock (one
	// mutex for all was contended at 1,000 people at once, issue 17).
	mu     sync.RWMutex
	series map[string]*counter
}

type counter struct {
	values labelSet
	n      atomic.Uint64
}

// Inc adds one.
func (c *counter) Inc() { c.n.Add(1) }

func newCounterVec(name, help string, labels ...string) *counterVec {
	return &counterVec{name: name, help: help, labels: labels, series: map[string]*counter{}}
}

// WithLabelValues is the series of these label values (one per label name).
func (v *counterVec) WithLabelValues(values ...string) *counter {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", v.name, len(v.labels), len(values)))
	}
	k := labelSet(values).key()
	v.mu.RLock()
	c := v.series[k]
	v.mu.RUnlock()
	if c != nil {
		return c
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	c = v.series[k]
	if c == nil {
		c = &counter{values: slices.Clone(values)}
		v.series[k] = c
	}
	return c
}

func (v *counterVec) write(w *bufio.Writer) {
	header(w, v.name, v.help, "counter")
	v.mu.RLock()
	all := make([]*counter, 0, len(v.series))
	for _, c := range v.series {
		all = append(all, c)
	}
	v.mu.RUnlock()
	slices.SortFunc(all, func(a, b *counter) int { return strings.Compare(a.values.key(), b.values.key()) })
	for _, c := range all {
		fmt.Fprintf(w, "%s%s %d\n", v.name, labelsText(v.labels, c.values), c.n.Load())
	}
}

// histogramVec is a histogram with labels and fixed upper bounds.
type histogramVec struct {
	name, help string
	labels     []string
	bounds     []float64
	mu         sync.Mutex
	series     map[string]*histogram
}

type histogram struct {
	values labelSet
	mu     sync.Mutex
	counts []uint64 // per bound, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogramVec(name, help string, bounds []float64, labels ...string) *histogramVec {
	return &histogramVec{name: name, help: help, labels: labels, bounds: bounds, series: map[string]*histogram{}}
}

// exponentialBuckets is count bounds from start, each factor times the one before.
func exponentialBuckets(start, factor float64, count int) []float64 {
	b := make([]float64, count)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

func (v *histogramVec) WithLabelValues(values ...string) *histogram {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", v.name, len(v.labels), len(values)))
	}
	k := labelSet(values).key()
	v.mu.Lock()
	defer v.mu.Unlock()
	h := v.series[k]
	if h == nil {
		h = &histogram{values: slices.Clone(values), counts: make([]uint64, len(v.bounds)+1)}
		v.series[k] = h
	}
	return h
}

func (v *histogramVec) observe(h *histogram, x float64) {
	i, _ := slices.BinarySearch(v.bounds, x) // the first bound >= x: le is inclusive
	h.mu.Lock()
	h.counts[i]++
	h.sum += x
	h.n++
	h.mu.Unlock()
}

func (v *histogramVec) write(w *bufio.Writer) {
	header(w, v.name, v.help, "histogram")
	v.mu.Lock()
	all := make([]*histogram, 0, len(v.series))
	for _, h := range v.series {
		all = append(all, h)
	}
	v.mu.Unlock()
	slices.SortFunc(all, func(a, b *histogram) int { return strings.Compare(a.values.key(), b.values.key()) })
	for _, h := range all {
		h.mu.Lock()
		counts, sum, n := slices.Clone(h.counts), h.sum, h.n
		h.mu.Unlock()
		var cum uint64
		for i, b := range v.bounds {
			cum += counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", v.name, labelsText(v.labels, h.values, "le", number(b)), cum)
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", v.name, labelsText(v.labels, h.values, "le", "+Inf"), n)
		fmt.Fprintf(w, "%s_sum%s %s\n", v.name, labelsText(v.labels, h.values), number(sum))
		fmt.Fprintf(w, "%s_count%s %d\n", v.name, labelsText(v.labels, h.values), n)
	}
}

// gaugeFunc is a gauge read when scraped.
type gaugeFunc struct {
	name, help string
	read       func() float64
}

func (g gaugeFunc) write(w *bufio.Writer) {
	header(w, g.name, g.help, "gauge")
	fmt.Fprintf(w, "%s %s\n", g.name, number(g.read()))
}

// counterFunc is a counter kept elsewhere, read when scraped.
type counterFunc struct {
	name, help string
	read       func() int64
}

func (c counterFunc) write(w *bufio.Writer) {
	header(w, c.name, c.help, "counter")
	fmt.Fprintf(w, "%s %d\n", c.name, c.read())
}

// runtimeFamilies are the Go runtime's and the process's usual metrics, under
// the names client_golang's Go and process collectors give them.
type runtimeFamilies struct{}

func (runtimeFamilies) write(w *bufio.Writer) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge := func(name, help string, v float64) {
		header(w, name, help, "gauge")
		fmt.Fprintf(w, "%s %s\n", name, number(v))
	}
	count := func(name, help string, v float64) {
		header(w, name, help, "counter")
		fmt.Fprintf(w, "%s %s\n", name, number(v))
	}
	gauge("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	gauge("go_threads", "Number of OS threads created.", float64(pprof.Lookup("threadcreate").Count()))
	header(w, "go_info", "Information about the Go environment.", "gauge")
	fmt.Fprintf(w, "go_info{version=%q} 1\n", runtime.Version())
	gauge("go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use.", float64(ms.HeapAlloc))
	count("go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already.", float64(ms.TotalAlloc))
	gauge("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", float64(ms.HeapInuse))
	gauge("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used.", float64(ms.HeapIdle))
	gauge("go_memstats_heap_released_bytes", "Number of heap bytes released to OS.", float64(ms.HeapReleased))
	gauge("go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator.", float64(ms.StackInuse))
	gauge("go_memstats_sys_bytes", "Number of bytes obtained from system.", float64(ms.Sys))
	gauge("go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", float64(ms.NextGC))
	gauge("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", float64(ms.LastGC)/1e9)
	count("go_gc_cycles_total", "Number of completed GC cycles.", float64(ms.NumGC))
	p, err := readProc()
	if err != nil {
		return
	}
	count("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", p.cpu)
	gauge("process_resident_memory_bytes", "Resident memory size in bytes.", p.rss)
	gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", p.vsize)
	gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", p.start)
	if p.fds >= 0 {
		gauge("process_open_fds", "Number of open file descriptors.", p.fds)
	}
}

type procStats struct {
	cpu, rss, vsize, start, fds float64
}

// userHZ is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const userHZ = 100

// readProc reads the process's figures from /proc (Linux; elsewhere it fails
// and the process metrics are left out).
func readProc() (procStats, error) {
	var p procStats
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return p, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return p, fmt.Errorf("metrics: /proc/self/stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
	if len(f) < 22 {
		return p, fmt.Errorf("metrics: /proc/self/stat: %d fields", len(f))
	}
	num := func(k int) float64 { v, _ := strconv.ParseFloat(f[k-3], 64); return v }
	p.cpu = (num(14) + num(15)) / userHZ
	p.vsize = num(23)
	p.rss = num(24) * float64(os.Getpagesize())
	if boot, err := bootTime(); err == nil {
		p.start = boot + num(22)/userHZ
	}
	p.fds = -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		p.fds = float64(len(ents))
	}
	return p, nil
}

func bootTime() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metrics: no btime in /proc/stat")
}

// handler serves the families, in order, as one text exposition.
func handler(families []family) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		bw := bufio.NewWriter(w)
		for _, f := range families {
			f.write(bw)
		}
		_ = bw.Flush()
	})
}
