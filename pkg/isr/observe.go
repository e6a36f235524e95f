package isr

import "time"

// A RegenOutcome is how one regeneration attempt ended, as reported to
// Observer.Regeneration.
type RegenOutcome string

// Outcomes of a regeneration attempt.
const (
	RegenWritten RegenOutcome = "written" // rendered and stored
	RegenFenced  RegenOutcome = "fenced"  // rendered, but a newer page was stored meanwhile
	RegenFailed  RegenOutcome = "failed"  // the origin failed or the lock could not be had; the old page is kept
	RegenBusy    RegenOutcome = "busy"    // another replica holds the lock and renders
	RegenFresh   RegenOutcome = "fresh"   // another replica had regenerated the page already
	// RegenDeferred: the regeneration budget was spent; the page stays
	// stale and a later visit tries again.
	RegenDeferred RegenOutcome = "deferred"
)

// result is what the outcome of an eager regeneration tells the caller of
// Revalidate: the page was regenerated (here or by another holder since
// the revalidation), or it failed.
func (o RegenOutcome) result() Result {
	switch o {
	case RegenWritten, RegenFenced, RegenFresh:
		return ResultRegenerated
	}
	return ResultFailed
}

// Outcomes of Handler.Confirm, as reported to Observer.Confirmed.
const (
	ConfirmComplete = "complete" // every live replica confirmed
	ConfirmPartial  = "partial"  // the time ran out before some did
	ConfirmFailed   = "failed"   // the confirmation could not be asked for
)

// A FlushReason is why the hot cache was emptied, as counted in
// Stats.L1Flushes.
type FlushReason string

// Reasons the hot cache is flushed.
const (
	FlushReset FlushReason = "reset" // the bus (re)subscribed: events may have been lost
	FlushGap   FlushReason = "gap"   // a gap in the events' sequence numbers
)

// Observer receives what the engine does, for metrics. Its methods are
// called on the request and regeneration paths: they must be fast and safe
// for concurrent use.
type Observer interface {
	// Regeneration reports one regeneration attempt (stale or eager) and
	// how long it took.
	Regeneration(outcome RegenOutcome, d time.Duration)
	// LockWait reports how long a cold-miss fill waited for a page that
	// another replica held the lock for.
	LockWait(d time.Duration)
}

// A ConfirmObserver is an Observer that also receives the outcome of each
// Handler.Confirm call (a revalidation with wait=all) and how long it took.
type ConfirmObserver interface {
	Confirmed(outcome string, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Regeneration(RegenOutcome, time.Duration) {}
func (nopObserver) LockWait(time.Duration)                   {}

// Stats is a snapshot of the hot cache.
type Stats struct {
	L1Entries int
	L1Bytes   int64
	// L1Flushes counts flushes by reason (FlushReset, FlushGap).
	L1Flushes map[FlushReason]int
}
