package isrmem

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// listenerQueue is the most events a listener can fall behind by. Past it,
// its backlog is replaced by one Reset.
const listenerQueue = 1024

// A listener is one Listen call's queue of undelivered events.
type listener struct {
	name     string
	mu       sync.Mutex
	queue    []isr.Event
	barriers []func()      // called once the events queued before them are delivered
	wake     chan struct{} // capacity 1: signalled when queue becomes non-empty
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
	l.signal()
}

// barrier queues ack, to be called once every event queued so far is
// delivered.
func (l *listener) barrier(ack func()) {
	l.mu.Lock()
	l.barriers = append(l.barriers, ack)
	l.mu.Unlock()
	l.signal()
}

func (l *listener) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take returns the queued events and barriers and empties the queue.
func (l *listener) take() ([]isr.Event, []func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs, bs := l.queue, l.barriers
	l.queue, l.barriers = nil, nil
	return evs, bs
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
	b.mu.Lock()
	b.listenerID++
	l := &listener{name: fmt.Sprintf("listener-%d", b.listenerID), wake: make(chan struct{}, 1)}
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
		evs, barriers := l.take()
		for _, ev := range evs {
			if ctx.Err() != nil {
				return nil
			}
			fn(ev)
		}
		for _, ack := range barriers {
			ack()
		}
	}
}

// Confirm waits until every Listen call of this Backend has delivered the
// events published before the call, or ctx is done: see [isr.Confirmer].
// Each Listen call is a replica, named listener-1, listener-2, ... in the
// order they started.
func (b *Backend) Confirm(ctx context.Context) (isr.Confirmation, error) {
	start := time.Now()
	var (
		mu    sync.Mutex
		acked []string
		live  []string
		done  = make(chan struct{}, 1)
	)
	b.mu.Lock()
	for l := range b.listeners {
		live = append(live, l.name)
		l.barrier(func() {
			mu.Lock()
			acked = append(acked, l.name)
			mu.Unlock()
			select {
			case done <- struct{}{}:
			default:
			}
		})
	}
	b.mu.Unlock()
	names := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	}
	for !isr.NewConfirmation(live, names(), 0).Complete() {
		select {
		case <-done:
		case <-ctx.Done():
			return isr.NewConfirmation(live, names(), time.Since(start)), nil
		}
	}
	return isr.NewConfirmation(live, names(), time.Since(start)), nil
}
