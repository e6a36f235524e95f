// Package history checks a recorded history of an isrcache cluster against
// its coherence promises. A test records what its clients saw (every read
// of a page from a replica, every revalidation it asked for), what the
// origin rendered and when it injected faults; [Check] then reports the
// violations of each invariant and the figures of the run.
//
// Versions are the origin's: each change of a page at the origin gives it
// the next version (1, 2, ...), which the body carries. The cache never
// sees them; the checker reads them out of the bodies.
package history

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// A Read is one GET of a page from one replica, as its client saw it.
type Read struct {
	Replica    string
	Path       string
	Start, End time.Time
	Status     int    // 0 if the request failed
	Version    int    // the version in the body; 0 if none
	State      string // X-ISR-Cache
	Err        string // the transport error, if any
}

// A Revalidation is one POST /api/revalidate of one path, eager.
type Revalidation struct {
	Replica    string
	Path       string
	Version    int // the origin's version of the page when the call was sent
	Start, End time.Time
	// OK is true when the call answered 200 with the page regenerated:
	// only then does the cluster promise to serve Version or newer.
	OK bool
	// Acked are the replicas that confirmed dropping the old page (wait=
	// all), nil without wait=all. Unacked replicas get the relaxed bound.
	Acked []string
}

// A Fault is an injected fault, from Start until it was lifted at End.
type Fault struct {
	Name       string
	Start, End time.Time
	// Replica is the replica the fault took down (a kill), if any: its
	// reads during the fault cannot be answered and are not counted.
	Replica string
}

// History is everything a run recorded.
type History struct {
	Reads         []Read
	Revalidations []Revalidation
	Faults        []Fault
	// Renders is the number of origin renders of the run; Paths the number
	// of pages, each rendered once before any revalidation.
	Renders, Paths int
	// Final are reads of every page on every replica once the run was
	// over, the faults lifted and the bounds past.
	Final []Read
}

// Bounds are the promises checked.
type Bounds struct {
	// Strict bounds how long after a revalidation's answer a replica may
	// still serve an older version, outside fault windows. A replica that
	// confirmed a wait=all revalidation before its answer gets no time.
	Strict time.Duration
	// Relaxed is the bound inside fault windows, and for replicas that
	// did not confirm a wait=all revalidation: the hot cache's maximum
	// age plus a second.
	Relaxed time.Duration
	// Recovery extends every fault window past the fault's end, for the
	// cluster to notice it is over (circuit breakers close, subscriptions
	// come back).
	Recovery time.Duration
	// MaxRendersPerRevalidation bounds the origin renders per
	// revalidation, beyond each page's first render.
	MaxRendersPerRevalidation float64
}

// Report is the outcome of Check: figures, and violations by invariant.
type Report struct {
	Reads, Revalidations, OKRevalidations, Renders int
	RendersPerRevalidation                         float64
	// Lag is the distribution, over successful revalidations and
	// replicas, of the time from the revalidation's answer to the start
	// of the last read of that replica that still served an older version
	// (0 when none did): how long propagation took, as clients saw it.
	LagP50, LagP99, LagMax time.Duration
	// InFault counts the reads that started inside a fault window.
	InFault int

	Monotonic       []string // a replica served a version older than one it had served
	ReadYourRevalid []string // an older version served past the bound after a revalidation
	LostUpdates     []string // the final state lacks a revalidated or served version
	FailedReads     []string // a read that did not answer 200 with a version
	TooManyRenders  []string
}

// OK reports whether every invariant held.
func (r *Report) OK() bool {
	return len(r.Monotonic)+len(r.ReadYourRevalid)+len(r.LostUpdates)+len(r.FailedReads)+len(r.TooManyRenders) == 0
}

// Violations returns every violation, prefixed by its invariant.
func (r *Report) Violations() []string {
	var out []string
	for _, v := range []struct {
		name string
		list []string
	}{
		{"monotonic reads", r.Monotonic}, {"read your revalidation", r.ReadYourRevalid},
		{"lost update", r.LostUpdates}, {"failed read", r.FailedReads}, {"renders", r.TooManyRenders},
	} {
		for _, s := range v.list {
			out = append(out, v.name+": "+s)
		}
	}
	return out
}

// String summarises the figures and the number of violations.
func (r *Report) String() string {
	return fmt.Sprintf("%d reads (%d in fault windows), %d revalidations (%d ok), %d renders (%.3f per revalidation); "+
		"lag p50 %v p99 %v max %v; violations: monotonic %d, read-your-revalidation %d, lost update %d, failed reads %d, renders %d",
		r.Reads, r.InFault, r.Revalidations, r.OKRevalidations, r.Renders, r.RendersPerRevalidation,
		r.LagP50, r.LagP99, r.LagMax, len(r.Monotonic), len(r.ReadYourRevalid), len(r.LostUpdates),
		len(r.FailedReads), len(r.TooManyRenders))
}

// maxListed bounds the violations listed per invariant; the rest are
// counted in a last line.
const maxListed = 20

// Check checks h against b.
func Check(h History, b Bounds) *Report {
	r := &Report{Reads: len(h.Reads), Revalidations: len(h.Revalidations), Renders: h.Renders}
	w := windows{faults: h.Faults, recovery: b.Recovery}
	for _, rd := range h.Reads {
		if w.inside(rd.Start) {
			r.InFault++
		}
	}
	checkFailed(r, h, w)
	checkMonotonic(r, h.Reads)
	checkReadYourRevalidation(r, h, b, w)
	checkFinal(r, h)
	for _, rv := range h.Revalidations {
		if rv.OK {
			r.OKRevalidations++
		}
	}
	if r.Revalidations > 0 {
		r.RendersPerRevalidation = float64(h.Renders-h.Paths) / float64(r.Revalidations)
		if r.RendersPerRevalidation > b.MaxRendersPerRevalidation {
			r.TooManyRenders = append(r.TooManyRenders, fmt.Sprintf("%d renders beyond the %d first ones for %d revalidations: %.3f per revalidation, bound %.2f",
				h.Renders-h.Paths, h.Paths, r.Revalidations, r.RendersPerRevalidation, b.MaxRendersPerRevalidation))
		}
	}
	for _, l := range []*[]string{&r.Monotonic, &r.ReadYourRevalid, &r.LostUpdates, &r.FailedReads} {
		if n := len(*l); n > maxListed {
			*l = append((*l)[:maxListed], fmt.Sprintf("... and %d more", n-maxListed))
		}
	}
	return r
}

// windows are the fault windows of a run.
type windows struct {
	faults   []Fault
	recovery time.Duration
}

// inside reports whether t falls in a fault window (extended by recovery).
func (w windows) inside(t time.Time) bool {
	for _, f := range w.faults {
		if !t.Before(f.Start) && !t.After(f.End.Add(w.recovery)) {
			return true
		}
	}
	return false
}

// down reports whether replica was down (killed) at t.
func (w windows) down(replica string, start, end time.Time) bool {
	for _, f := range w.faults {
		if f.Replica == replica && !end.Before(f.Start) && !start.After(f.End.Add(w.recovery)) {
			return true
		}
	}
	return false
}

func checkFailed(r *Report, h History, w windows) {
	for _, rd := range append(slices.Clone(h.Reads), h.Final...) {
		if rd.Status == 200 && rd.Version > 0 && rd.Err == "" {
			continue
		}
		if w.down(rd.Replica, rd.Start, rd.End) {
			continue
		}
		r.FailedReads = append(r.FailedReads, fmt.Sprintf("%s %s at %s: status %d %s, version %d, error %q",
			rd.Replica, rd.Path, clock(rd.Start), rd.Status, rd.State, rd.Version, rd.Err))
	}
}

// checkMonotonic checks, per replica and path, that a read never returns a
// version older than a read that ended before it started.
func checkMonotonic(r *Report, reads []Read) {
	groups := map[[2]string][]Read{}
	for _, rd := range reads {
		if rd.Version > 0 {
			k := [2]string{rd.Replica, rd.Path}
			groups[k] = append(groups[k], rd)
		}
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		byStart := groups[k]
		byEnd := slices.Clone(byStart)
		sort.Slice(byStart, func(i, j int) bool { return byStart[i].Start.Before(byStart[j].Start) })
		sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].End.Before(byEnd[j].End) })
		var seen *Read // the newest version among the reads ended so far
		e := 0
		for i := range byStart {
			rd := &byStart[i]
			for ; e < len(byEnd) && byEnd[e].End.Before(rd.Start); e++ {
				if seen == nil || byEnd[e].Version > seen.Version {
					seen = &byEnd[e]
				}
			}
			if seen != nil && rd.Version < seen.Version {
				r.Monotonic = append(r.Monotonic, fmt.Sprintf("%s %s: v%d (%s) at %s, then v%d (%s) at %s",
					k[0], k[1], seen.Version, seen.State, clock(seen.Start), rd.Version, rd.State, clock(rd.Start)))
			}
		}
	}
}

// checkReadYourRevalidation checks that after a successful revalidation of
// version v answered at E, no read of the path that starts later than E +
// bound returns a version below v, and measures the lag of those within.
func checkReadYourRevalidation(r *Report, h History, b Bounds, w windows) {
	byPath := map[string][]Read{}
	replicas := map[string]bool{}
	for _, rd := range h.Reads {
		replicas[rd.Replica] = true
		if rd.Version > 0 {
			byPath[rd.Path] = append(byPath[rd.Path], rd)
		}
	}
	var lags []time.Duration
	for _, rv := range h.Revalidations {
		if !rv.OK {
			continue
		}
		last := map[string]time.Duration{} // per replica: lag of its last older read
		for _, rd := range byPath[rv.Path] {
			if rd.Version >= rv.Version || !rd.Start.After(rv.End) {
				continue
			}
			lag := rd.Start.Sub(rv.End)
			last[rd.Replica] = max(last[rd.Replica], lag)
			bound := b.Strict
			switch {
			case w.inside(rd.Start) || w.inside(rv.Start) || w.inside(rv.End):
				bound = b.Relaxed
			case rv.Acked != nil && !slices.Contains(rv.Acked, rd.Replica):
				bound = b.Relaxed
			case rv.Acked != nil:
				bound = 0 // it confirmed before the answer: nothing older after it
			}
			if lag > bound {
				r.ReadYourRevalid = append(r.ReadYourRevalid, fmt.Sprintf("%s %s: v%d (%s) at %s, %v after the revalidation to v%d on %s answered (bound %v)",
					rd.Replica, rd.Path, rd.Version, rd.State, clock(rd.Start), lag.Round(time.Microsecond), rv.Version, rv.Replica, bound))
			}
		}
		for rep := range replicas {
			lags = append(lags, last[rep])
		}
	}
	if len(lags) > 0 {
		slices.Sort(lags)
		r.LagP50, r.LagP99, r.LagMax = lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1]
	}
}

// checkFinal checks that, once the run is over, every replica serves each
// page at a version at least that of its last successful revalidation and
// of every version ever served.
func checkFinal(r *Report, h History) {
	want := map[string]int{}
	for _, rv := range h.Revalidations {
		if rv.OK {
			want[rv.Path] = max(want[rv.Path], rv.Version)
		}
	}
	for _, rd := range h.Reads {
		want[rd.Path] = max(want[rd.Path], rd.Version)
	}
	for _, rd := range h.Final {
		if rd.Version > 0 && rd.Version < want[rd.Path] {
			r.LostUpdates = append(r.LostUpdates, fmt.Sprintf("%s %s serves v%d (%s) at the end, after v%d was revalidated or served",
				rd.Replica, rd.Path, rd.Version, rd.State, want[rd.Path]))
		}
	}
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05.000000") }
