package isrmem

import (
	"context"
	"sync"

	"github.com/isrcache/isrcache/pkg/isr"
)

// listenerQueue is the most events a listener can fall behind by. Past it,
// its backlog is replaced by one Reset.
const listenerQueue = 1024

// A listener is one Listen call's queue of undelivered events.
type listener struct {
	mu    sync.Mutex
	queue []isr.Event
	wake  chan struct{} // capacity 1: signalled when queue becomes non-empty
}

// push appends ev to the queue without blocking. If the queue is full, its
// events are dropped and replaced by a Reset carrying ev's Seq, so that the
// next event delivered after it is numbered consecutively.
func (l *listener) push(ev isr.Event) {
	l.mu.Lock()
	if len(l.queue) >= listenerQueue {
		clear(l.queue)
		l.queue = append(l.queue[:0], isr.Event{Kind: isr.EventReset, Seq: ev.Seq})
	} else {
		l.queue = append(l.queue, ev)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take returns the queued events and empties the queue.
func (l *listener) take() []isr.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.queue
	l.queue = nil
	return evs
}

// publish numbers an event and queues it for every listener. b.mu must be
// held, so that events are numbered and queued in the order of the changes.
func (b *Backend) publish(kind isr.EventKind, key string, gen int64) {
	b.seq++
	ev := isr.Event{Seq: b.seq, Kind: kind, Key: key, Gen: gen}
	for l := range b.listeners {
		l.push(ev)
	}
}

// Listen calls fn for every event of this Backend, from the calling
// goroutine, until ctx is done; then it returns nil. The first event is a
// Reset, whose Seq is the last event's (zero if none): the next event is
// numbered one more.
//
// Delivery never blocks a writer: each Listen call has a queue of up to
// 1024 events. A listener that falls further behind (fn too slow) loses
// its backlog, and gets one Reset in its place.
func (b *Backend) Listen(ctx context.Context, fn func(isr.Event)) error {
	if ctx.Err() != nil {
		return nil
	}
	l := &listener{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	b.listeners[l] = struct{}{}
	l.push(isr.Event{Kind: isr.EventReset, Seq: b.seq})
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.listeners, l)
		b.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.wake:
		}
		for _, ev := range l.take() {
			if ctx.Err() != nil {
				return nil
			}
			fn(ev)
		}
	}
}
