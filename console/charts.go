package console

import (
	"fmt"
	"strings"

	"github.com/passcodebot/passcodebot/internal/htmlw"
)

// Charts are drawn on the server as SVG: readable without JavaScript, labelled
// for screen readers (role="img", <title>, <desc>), and each page puts the same
// numbers in a table next to the chart. Colours are presentation attributes,
// so the strict Content-Security-Policy (no inline styles) holds.

var palette = map[string]string{
	"completed": "#2e7d32", "not_shown": "#f9a825", "failed": "#c62828", "refused": "#ef6c00", "limit": "#6a1b9a",
	"wrong_person": "#ad1457", "abandoned": "#78909c", "no_devices": "#8d6e63", "backend_error": "#283593", "other": "#bdbdbd",
}

func esc(s string) string { return htmlw.Escape(s) }

// Segment is one value of a stacked bar.
type Segment struct {
	Key   string
	Label string
	N     int
}

// stackedBars draws one bar per label, stacked by segment.
func stackedBars(id, title, desc string, labels []string, bars [][]Segment, legend []Segment) htmlw.Markup {
	const w, h, left, bottom, top = 720, 260, 40, 40, 10
	// The legend wraps onto as many rows as it needs.
	legendRows, lx := 1, left
	for _, s := range legend {
		lw := 14 + textWidth(s.Label, 11) + 16
		if lx+lw > w && lx > left {
			legendRows, lx = legendRows+1, left
		}
		lx += lw
	}
	max := 1
	for _, b := range bars {
		t := 0
		for _, s := range b {
			t += s.N
		}
		max = maxInt(max, t)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, id, w, h+10+18*legendRows, id, id)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	plotH := float64(h - bottom - top)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text>`, left-4, top+4, max)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>`, left-4, h-bottom)
	n := maxInt(len(bars), 1)
	slot := float64(w-left) / float64(n)
	bw := slot * 0.7
	every := maxInt(1, n/12)
	for i, b := range bars {
		x := float64(left) + float64(i)*slot + (slot-bw)/2
		y := float64(h - bottom)
		for _, s := range b {
			if s.N == 0 {
				continue
			}
			bh := plotH * float64(s.N) / float64(max)
			y -= bh
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
				x, y, bw, bh, palette[s.Key], esc(labels[i]), esc(s.Label), s.N)
		}
		if i%every == 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+14, esc(labels[i]))
		}
	}
	lx, ly := left, h+4
	for _, s := range legend {
		lw := 14 + textWidth(s.Label, 11) + 16
		if lx+lw > w && lx > left {
			lx, ly = left, ly+18
		}
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`,
			lx, ly, palette[s.Key], lx+14, ly+9, esc(s.Label))
		lx += lw
	}
	sb.WriteString(`</svg>`)
	return htmlw.Markup(sb.String())
}

// hbars draws one horizontal bar per label.
func hbars(id, title, desc string, items []Segment, color string) htmlw.Markup {
	const rowH = 24
	left := 60
	for _, it := range items {
		left = maxInt(left, textWidth(it.Label, 12)+12)
	}
	left = min(left, 420)
	w := left + 330
	h := maxInt(1, len(items))*rowH + 10
	max := 1
	for _, it := range items {
		max = maxInt(max, it.N)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart small" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, id, w, h, id, id)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	for i, it := range items {
		y := 5 + i*rowH
		bw := float64(w-left-50) * float64(it.N) / float64(max)
		c := color
		if p, ok := palette[it.Key]; ok && color == "" {
			c = p
		}
		if c == "" {
			c = "#1565c0"
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, left-6, y+15, esc(it.Label))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, y+3, bw, rowH-8, c)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="12">%d</text>`, float64(left)+bw+4, y+15, it.N)
	}
	sb.WriteString(`</svg>`)
	return htmlw.Markup(sb.String())
}

// columns draws one column per label (values in seconds), with a unit.
func columns(id, title, desc string, labels []string, secs []float64, unit string) htmlw.Markup {
	const w, h, left, bottom, top = 720, 200, 40, 30, 10
	max := 1.0
	for _, v := range secs {
		if v > max {
			max = v
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, id, w, h, id, id)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="11" text-anchor="end">%.0f%s</text>`, left-4, top+4, max, esc(unit))
	n := maxInt(len(secs), 1)
	slot := float64(w-left) / float64(n)
	bw := slot * 0.6
	every := maxInt(1, n/12)
	plotH := float64(h - bottom - top)
	for i, v := range secs {
		x := float64(left) + float64(i)*slot + (slot-bw)/2
		bh := plotH * v / max
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1565c0"><title>%s: %.0f%s</title></rect>`,
			x, float64(h-bottom)-bh, bw, bh, esc(labels[i]), v, esc(unit))
		if i%every == 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+14, esc(labels[i]))
		}
	}
	sb.WriteString(`</svg>`)
	return htmlw.Markup(sb.String())
}

// textWidth estimates the width of s in pixels at a font size: wide for
// Japanese, narrow for Latin letters.
func textWidth(s string, size int) int {
	w := 0
	for _, r := range s {
		if r >= 0x2E80 {
			w += size
		} else {
			w += size * 6 / 10
		}
	}
	return w
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
