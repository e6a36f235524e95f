package isr

import (
	"context"
	"errors"
	"sync"
)

// errWrittenMeanwhile is returned by lockWait when, while it waited for
// the lock, a fresh page was stored: a regeneration that began after the
// caller's revalidation has done the caller's work.
var errWrittenMeanwhile = errors.New("isr: a fresh page was written while waiting")

// eagerCalls coalesces the eager regenerations of each page in this
// process. A revalidation that finds none running starts one. One that
// finds a regeneration running cannot use it (it may have rendered before
// the revalidation), so it joins the one queued to run right after it,
// queuing it if need be: however many revalidations arrive while a
// regeneration runs, they cause exactly one more, and every caller gets
// the result of a regeneration that started after it was accepted.
type eagerCalls struct {
	mu sync.Mutex
	m  map[string]*eagerSlot // by page key
}

// eagerSlot is the running regeneration of a page and the one queued.
type eagerSlot struct {
	running, next *eagerCall
}

// eagerCall is one eager regeneration, shared by its callers.
type eagerCall struct {
	key    string
	rl     *rule
	joined int // callers that wait for it without running it
	done   chan struct{}
	res    RegenOutcome
	err    error
}

// join returns the call that the caller must wait for, and whether the
// caller must run it.
func (c *eagerCalls) join(page, key string, rl *rule) (call *eagerCall, run bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*eagerSlot{}
	}
	s := c.m[page]
	switch {
	case s == nil:
		call = &eagerCall{key: key, rl: rl, done: make(chan struct{})}
		c.m[page] = &eagerSlot{running: call}
		return call, true
	case s.next == nil:
		s.next = &eagerCall{key: key, rl: rl, done: make(chan struct{})}
	}
	s.next.joined++
	return s.next, false
}

// finish ends page's running call and returns the queued one, now
// running, or nil.
func (c *eagerCalls) finish(page string) *eagerCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.m[page]
	s.running, s.next = s.next, nil
	if s.running == nil {
		delete(c.m, page)
	}
	return s.running
}

// regenerateEager regenerates key's page for an eager revalidation that
// has already marked it stale, sharing the regeneration with concurrent
// revalidations of the page in this process (see eagerCalls), and returns
// the result of one that started after this call.
func (h *Handler) regenerateEager(ctx context.Context, key string, rl *rule) (Result, error) {
	page := BaseKey(key)
	call, run := h.eagers.join(page, key, rl)
	if run {
		h.runEager(context.WithoutCancel(ctx), page, call)
	}
	select {
	case <-call.done:
		return call.res.result(), call.err
	case <-ctx.Done():
		return ResultFailed, ctx.Err()
	}
}

// runEager runs call and hands its result to its callers, then starts the
// call queued behind it, if any, in a goroutine of its own.
func (h *Handler) runEager(ctx context.Context, page string, call *eagerCall) {
	call.res, call.err = h.regenerate(ctx, call.key, call.rl, true)
	next := h.eagers.finish(page)
	close(call.done)
	if next != nil {
		go h.runEager(ctx, page, next)
	}
}
