package isrredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

// Listen subscribes to the event channel and calls fn for each event, from
// the calling goroutine, until ctx is done; then it returns nil. The first
// event is a Reset once the subscription is confirmed; another Reset
// follows every reconnection and every failed delivery probe. fn must not
// block.
//
// Every ProbeInterval, Listen reads the event counter of every shard: if
// one was ahead of the shard's last delivered event at the previous poll
// and still is, or went back, events were lost. It also publishes a probe message to itself; if
// the probe does not come back within two intervals, the subscription is
// silent. Either way Listen closes the subscription, subscribes again and
// sends a Reset. While Redis is unreachable it retries every interval.
func (b *Backend) Listen(ctx context.Context, fn func(isr.Event)) error {
	if fn == nil {
		return errors.New("isrredis: listen: nil fn")
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	l := newListener(b, fn, hex.EncodeToString(id[:]))
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.probeInterval)
		defer cancel()
		b.leave(ctx, b.name)
	}()
	for ctx.Err() == nil {
		// Registered while it tries to subscribe too: a replica cut off
		// from the events but not from Redis stays listed, and shows as
		// not confirming (see Confirm).
		l.heartbeat(ctx)
		if l.session(ctx) {
			continue // the probe failed: subscribe again at once
		}
		t := time.NewTimer(b.probeInterval)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// listener is the state of one Listen call, owned by its goroutine.
type listener struct {
	b  *Backend
	fn func(isr.Event)
	id string // tells this listener's probes from other listeners'

	last         []uint64 // per shard: seq of the last event delivered, or the baseline
	needBaseline bool     // last must be read from Redis at the next poll
	pending      []uint64 // per shard: Redis's seq at the previous poll if ahead of last; 0 = none

	ticks   uint64    // probe ticks in this session
	probeN  int64     // number of the last probe sent
	waiting bool      // a probe is outstanding
	probeAt uint64    // tick at which it was sent
	sentAt  time.Time // local time at which it was sent
}

func newListener(b *Backend, fn func(isr.Event), id string) *listener {
	return &listener{b: b, fn: fn, id: id, last: make([]uint64, b.shards), pending: make([]uint64, b.shards)}
}

// session subscribes and delivers events until ctx is done, the
// subscription fails to confirm, or a probe fails. It reports whether the
// caller should subscribe again at once.
func (l *listener) session(ctx context.Context) (again bool) {
	b := l.b
	ps := b.client.Subscribe(ctx, b.channel())
	defer ps.Close()
	msg, err := ps.ReceiveTimeout(ctx, 2*b.probeInterval+time.Second)
	if err != nil {
		return false
	}
	if _, ok := msg.(*redis.Subscription); !ok {
		return false
	}
	l.ticks, l.waiting = 0, false
	l.reset(ctx)
	l.heartbeat(ctx)
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	ticker := time.NewTicker(b.probeInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case m, ok := <-ch:
			if !ok {
				return true
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					// go-redis reconnected and subscribed again: events
					// may have been lost in between.
					l.waiting = false
					l.reset(ctx)
				}
			case *redis.Message:
				l.handle(ctx, m.Payload)
			}
		case <-ticker.C:
			l.ticks++
			if !l.probe(ctx) {
				b.probeFailures.Add(1)
				return true
			}
		}
	}
}

// reset takes a new baseline of the event counters and delivers a Reset.
func (l *listener) reset(ctx context.Context) {
	l.needBaseline = true
	clear(l.pending)
	ctx, cancel := context.WithTimeout(ctx, l.b.probeInterval)
	defer cancel()
	if seqs, err := l.b.readSeqs(ctx); err == nil {
		copy(l.last, seqs)
		l.needBaseline = false
	}
	l.b.resets.Add(1)
	l.fn(isr.Event{Kind: isr.EventReset})
}

// handle parses and delivers one message.
func (l *listener) handle(ctx context.Context, payload string) {
	m, err := parseMessage(payload)
	if err != nil {
		l.b.malformed.Add(1)
		return
	}
	switch m.kind {
	case 'p':
		if m.key == l.id && m.gen == l.probeN && l.waiting {
			l.waiting = false
			if l.b.onApply != nil {
				l.b.onApply(time.Since(l.sentAt))
			}
		}
		return
	case 'b':
		// Every event published before the barrier has been applied.
		ctx, cancel := context.WithTimeout(ctx, l.b.probeInterval)
		defer cancel()
		ack := message{kind: 'a', gen: m.gen, key: l.b.name}.String()
		_ = l.b.client.Publish(ctx, l.b.channel(), ack).Err()
		return
	case 'a':
		l.b.acks.deliver(m.gen, m.key)
		return
	}
	if int(m.shard) < len(l.last) {
		l.last[m.shard] = m.seq
	}
	l.fn(m.event())
	l.b.messages.Add(1) // after fn: a reader of Stats sees applied events
}

// probe runs one delivery check and reports whether the subscription is
// healthy. Redis errors do not fail it: go-redis reconnects a broken
// subscription by itself, and a Reset follows.
func (l *listener) probe(ctx context.Context) bool {
	b := l.b
	ctx, cancel := context.WithTimeout(ctx, b.probeInterval)
	defer cancel()
	b.releaseOrphans(ctx)
	if seqs, err := b.readSeqs(ctx); err == nil && !l.checkSeqs(seqs) {
		return false
	}
	l.heartbeat(ctx)
	if l.waiting {
		return l.ticks-l.probeAt < 2
	}
	l.probeN++
	probe := message{kind: 'p', gen: l.probeN, key: l.id}.String()
	sent := time.Now()
	if err := b.client.Publish(ctx, b.channel(), probe).Err(); err == nil {
		l.waiting, l.probeAt, l.sentAt = true, l.ticks, sent
	}
	return true
}

// heartbeat keeps this replica in the live set; a failure is retried at
// the next probe.
func (l *listener) heartbeat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, l.b.probeInterval)
	defer cancel()
	_ = l.b.heartbeat(ctx, l.b.name)
}

// checkSeqs compares Redis's event counters with the events delivered, and
// reports false when events were lost: a shard's counter was ahead of its
// last delivered event at the previous poll and still is, or went back (a
// failover lost writes the listener had heard of, or the counter expired).
// A shard with no event since the previous poll never fails.
func (l *listener) checkSeqs(seqs []uint64) bool {
	if l.needBaseline {
		copy(l.last, seqs)
		clear(l.pending)
		l.needBaseline = false
		return true
	}
	for s, seq := range seqs {
		switch {
		case seq < l.last[s]:
			return false
		case l.pending[s] != 0 && l.last[s] < l.pending[s]:
			return false // events seen in Redis an interval ago never came
		case seq > l.last[s]:
			l.pending[s] = seq
		default:
			l.pending[s] = 0
		}
	}
	return true
}
