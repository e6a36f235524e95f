package isr

import (
	"context"
	"errors"
	"time"
)

// ErrBudgetSpent is returned by Budget.Acquire when no slot is free for the
// caller: every slot is held, or urgent callers wait for one.
var ErrBudgetSpent = errors.New("isr: regeneration budget spent")

// DefaultRegenBudget is the regeneration budget isrcache runs with when
// ISR_REGEN_BUDGET is not set.
const DefaultRegenBudget = 32

// Budget bounds the regenerations running at once across every replica, so
// that a wave of stale pages cannot flood the origin. A slot is a lease: a
// holder that dies frees its slot when the lease expires.
//
// On-demand revalidations go first: an urgent caller waits for a slot, and
// while one waits, no other caller gets one. A stale page whose
// regeneration finds no slot keeps being served as STALE, and the next
// visit after a short backoff tries again.
type Budget interface {
	// Acquire takes a slot for at most ttl. A caller that is not urgent
	// gets ErrBudgetSpent at once when no slot is free for it; an urgent
	// caller waits, ahead of the others, until a slot is free or ctx is
	// done (then it returns ctx's error).
	Acquire(ctx context.Context, urgent bool, ttl time.Duration) (Lease, error)
}

// A Lease is a held slot of a Budget.
type Lease interface {
	// Release frees the slot. Releasing twice, or after the lease
	// expired, is harmless.
	Release(ctx context.Context) error
}

// regenBudget acquires a regeneration slot when the Handler has a Budget;
// release frees it (a no-op without a Budget). An urgent caller waits for
// the slot for at most WaitTimeout.
func (h *Handler) regenBudget(ctx context.Context, urgent bool) (release func(), err error) {
	if h.opts.Budget == nil {
		return func() {}, nil
	}
	if urgent {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.opts.WaitTimeout)
		defer cancel()
	}
	l, err := h.opts.Budget.Acquire(ctx, urgent, h.opts.LockTTL)
	if err != nil {
		return nil, err
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = l.Release(rctx) // an unreleased lease expires after LockTTL
	}, nil
}
