package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// plainInterval is the longest time between two plain progress lines.
const plainInterval = 5 * time.Second

// A progress shows how far a prerender is. It is used from one goroutine.
type progress interface {
	// done counts one finished request.
	done(failed bool)
	// finish ends the display.
	finish()
}

// newProgress returns a progress bar on w when w is a terminal, else a
// progress that prints a plain line every tenth of total, or every
// plainInterval, whichever comes first.
func newProgress(w io.Writer, total int) progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{bar: progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("prerender"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)}
	}
	return &plainProgress{w: w, total: total, step: max(1, total/10), last: time.Now()}
}

// barProgress draws a progress bar.
type barProgress struct {
	bar *progressbar.ProgressBar
}

func (p *barProgress) done(bool) { _ = p.bar.Add(1) }
func (p *barProgress) finish()   { _ = p.bar.Finish() }

// plainProgress prints lines such as "prerender: 30/300 (10%), 0 failed".
type plainProgress struct {
	w                     io.Writer
	total, step, n, fails int
	last                  time.Time
}

func (p *plainProgress) done(failed bool) {
	p.n++
	if failed {
		p.fails++
	}
	if p.n%p.step == 0 || p.n == p.total || time.Since(p.last) >= plainInterval {
		p.last = time.Now()
		fmt.Fprintf(p.w, "prerender: %d/%d (%d%%), %d failed\n", p.n, p.total, p.n*100/p.total, p.fails)
	}
}

func (p *plainProgress) finish() {}
