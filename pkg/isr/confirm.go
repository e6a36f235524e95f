package isr

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ErrNoConfirm is returned by Handler.Confirm when the backend cannot
// confirm that replicas applied its events (it is not a [Confirmer]).
var ErrNoConfirm = errors.New("isr: the backend cannot confirm delivery to replicas")

// A Confirmer is a Backend whose replicas register themselves and can
// confirm that they applied the events published so far. isrredis and
// isrmem are Confirmers; an isrbreaker.Breaker is one when the backend it
// guards is.
type Confirmer interface {
	// Confirm waits until every live replica has applied every event
	// published before the call (so dropped the pages they name from its
	// hot cache), or ctx is done, and reports which replicas confirmed.
	// Replicas that stop listening leave the live set after a bounded
	// time. It returns an error only if the confirmation could not be
	// asked for at all (the store is unreachable).
	Confirm(ctx context.Context) (Confirmation, error)
}

// A Confirmation lists the replicas that confirmed having applied a set of
// events, and the live ones that did not in time.
type Confirmation struct {
	// Acked are the replicas that confirmed, sorted.
	Acked []string
	// Missing are the live replicas that did not confirm, sorted. Empty
	// means every live replica confirmed.
	Missing []string
	// Took is how long the confirmation took.
	Took time.Duration
}

// Complete reports whether every live replica confirmed.
func (c Confirmation) Complete() bool { return len(c.Missing) == 0 }

// NewConfirmation returns the Confirmation of the replicas live when it was
// asked for and those that acked, which may include replicas that were not
// live yet. Backends use it to build Confirm's answer.
func NewConfirmation(live, acked []string, took time.Duration) Confirmation {
	c := Confirmation{Acked: slices.Clone(acked), Took: took}
	slices.Sort(c.Acked)
	c.Acked = slices.Compact(c.Acked)
	for _, r := range live {
		if _, found := slices.BinarySearch(c.Acked, r); !found {
			c.Missing = append(c.Missing, r)
		}
	}
	slices.Sort(c.Missing)
	c.Missing = slices.Compact(c.Missing)
	return c
}

// Confirm waits, at most timeout, until every live replica of the cluster
// has applied the events published so far, such as the invalidations of a
// revalidation that just returned: then no replica serves the old pages
// from its hot cache. It returns ErrNoConfirm if the backend is not a
// Confirmer. The outcome goes to the Observer if it is a ConfirmObserver.
func (h *Handler) Confirm(ctx context.Context, timeout time.Duration) (Confirmation, error) {
	c, ok := h.opts.Backend.(Confirmer)
	if !ok {
		return Confirmation{}, ErrNoConfirm
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	conf, err := c.Confirm(ctx)
	outcome := ConfirmComplete
	switch {
	case err != nil:
		outcome = ConfirmFailed
	case !conf.Complete():
		outcome = ConfirmPartial
	}
	if o, ok := h.opts.Observer.(ConfirmObserver); ok {
		o.Confirmed(outcome, time.Since(start))
	}
	return conf, err
}
