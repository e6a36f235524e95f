package isrmem

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// budgetPoll is how often a waiting urgent caller looks for expired leases
// (releases wake it at once).
const budgetPoll = 20 * time.Millisecond

// Budget is the in-memory [isr.Budget] of one process. Create one with
// [NewBudget]; it is safe for concurrent use.
type Budget struct {
	limit int
	now   func() time.Time

	mu      sync.Mutex
	held    map[uint64]time.Time // lease id → expiry
	next    uint64
	urgent  int           // urgent callers waiting
	changed chan struct{} // closed and replaced when a slot frees
}

var _ isr.Budget = (*Budget)(nil)

// NewBudget returns a budget of limit slots (at least 1). now is the clock
// leases expire by; nil means time.Now.
func NewBudget(limit int, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	return &Budget{limit: max(limit, 1), now: now, held: map[uint64]time.Time{}, changed: make(chan struct{})}
}

// Acquire takes a slot for ttl; see [isr.Budget].
func (b *Budget) Acquire(ctx context.Context, urgent bool, ttl time.Duration) (isr.Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("isrmem: budget: ttl %v is not positive", ttl)
	}
	waiting := false
	for {
		b.mu.Lock()
		now := b.now()
		for id, exp := range b.held {
			if !exp.After(now) {
				delete(b.held, id)
			}
		}
		others := b.urgent
		if waiting {
			others--
		}
		if len(b.held) < b.limit && (urgent || others == 0) {
			b.next++
			id := b.next
			b.held[id] = now.Add(ttl)
			if waiting {
				b.urgent--
			}
			b.mu.Unlock()
			return &memLease{b: b, id: id}, nil
		}
		if !urgent {
			b.mu.Unlock()
			return nil, isr.ErrBudgetSpent
		}
		if !waiting {
			waiting = true
			b.urgent++
		}
		ch := b.changed
		b.mu.Unlock()
		t := time.NewTimer(budgetPoll)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			b.mu.Lock()
			b.urgent--
			b.mu.Unlock()
			return nil, fmt.Errorf("isrmem: budget: %w", ctx.Err())
		}
		t.Stop()
	}
}

// Held returns the number of slots held now.
func (b *Budget) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, now := 0, b.now()
	for _, exp := range b.held {
		if exp.After(now) {
			n++
		}
	}
	return n
}

type memLease struct {
	b  *Budget
	id uint64
}

// Release frees the slot and wakes the waiting callers.
func (l *memLease) Release(context.Context) error {
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.held[l.id]; ok {
		delete(b.held, l.id)
		close(b.changed)
		b.changed = make(chan struct{})
	}
	return nil
}
