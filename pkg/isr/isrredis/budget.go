package isrredis

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

//go:embed lua/budget.lua
var budgetLua string

// Budget waiting: an urgent caller asks again every budgetPoll (doubling up
// to budgetPollMax), and its waiting mark lasts budgetMark, so that a
// caller that gave up stops keeping the others out soon after.
const (
	budgetPoll    = 10 * time.Millisecond
	budgetPollMax = 100 * time.Millisecond
	budgetMark    = time.Second
)

// Budget is the Redis implementation of [isr.Budget]: a semaphore shared by
// every replica, held in two sorted sets of one hash slot
// (<prefix>:{budget}:held, <prefix>:{budget}:wait) and changed by one
// script per call. Each slot is a lease that expires, so a replica that dies
// holding slots frees them after the lease's TTL. Create one with
// [NewBudget].
type Budget struct {
	client      redis.UniversalClient
	limit       int
	held, wait  string
	acquire     *redis.Script
	poll, pollM time.Duration
}

var _ isr.Budget = (*Budget)(nil)

// NewBudget returns a budget of limit slots (at least 1) on client, under
// prefix (empty means DefaultPrefix). Every replica must use the same limit
// and prefix. It makes no Redis call.
func NewBudget(client redis.UniversalClient, prefix string, limit int) *Budget {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Budget{
		client:  client,
		limit:   max(limit, 1),
		held:    prefix + ":{budget}:held",
		wait:    prefix + ":{budget}:wait",
		acquire: redis.NewScript(budgetLua),
		poll:    budgetPoll, pollM: budgetPollMax,
	}
}

// Acquire takes a slot for ttl; see [isr.Budget]. An urgent caller asks
// Redis again every 10ms to 100ms until it gets one.
func (b *Budget) Acquire(ctx context.Context, urgent bool, ttl time.Duration) (isr.Lease, error) {
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("isrredis: budget: ttl %v is under 1ms", ttl)
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	flag := "0"
	if urgent {
		flag = "1"
	}
	poll := b.poll
	for {
		n, err := b.acquire.Run(ctx, b.client, []string{b.held, b.wait},
			b.limit, id, ms(ttl), flag, ms(budgetMark)).Int()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("isrredis: budget: %w", ctx.Err())
		case err != nil:
			return nil, fmt.Errorf("isrredis: budget: %w", err)
		case n == 1:
			return &lease{b: b, id: id}, nil
		case !urgent:
			return nil, isr.ErrBudgetSpent
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = b.client.ZRem(rctx, b.wait, id).Err() // else the mark expires
			cancel()
			return nil, fmt.Errorf("isrredis: budget: %w", ctx.Err())
		case <-t.C:
		}
		poll = min(2*poll, b.pollM)
	}
}

// Held returns the number of unexpired leases, by Redis's clock.
func (b *Budget) Held(ctx context.Context) (int64, error) {
	t, err := b.client.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("isrredis: budget: %w", err)
	}
	return b.client.ZCount(ctx, b.held, fmt.Sprint(t.UnixMilli()+1), "+inf").Result()
}

type lease struct {
	b  *Budget
	id string
}

// Release frees the slot.
func (l *lease) Release(ctx context.Context) error {
	if err := l.b.client.ZRem(ctx, l.b.held, l.id).Err(); err != nil {
		return fmt.Errorf("isrredis: budget release: %w", err)
	}
	return nil
}
