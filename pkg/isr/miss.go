package isr

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// fillResult is what a cold-miss fill hands to every visitor waiting on it
// in this process.
type fillResult struct {
	*rendered
	owner     *int // the visitor whose fill ran
	collapsed bool // the page was rendered by another replica
}

// serveMiss answers a key that is not stored. Visitors in this process
// share one fill; the fill renders under the cluster lock or waits for the
// replica that holds it.
func (h *Handler) serveMiss(w http.ResponseWriter, r *http.Request, key string, rl *rule, lookupErr error) {
	if retry, ok := failedFor(lookupErr); ok {
		serveFailed(w, r, lookupErr, retry) // the page backs off, cluster-wide
		return
	}
	if retry, ok := h.failed.left(key, h.opts.Now()); ok {
		serveFailed(w, r, errors.New("failed"), retry)
		return
	}
	me := new(int)
	fill := func() (any, error) { return h.fill(key, rl, me), nil }
	if isStoreError(lookupErr) {
		// The store just failed: don't ask it again (and wait for its
		// timeout again) for a lock or a token; render, unstored.
		h.storeTrouble("store read failed: rendering without storing", key, lookupErr)
		fill = func() (any, error) { return h.fillUnstored(key, rl, me), nil }
	}
	ch := h.fills.DoChan(key, fill)
	var res *fillResult
	select {
	case v := <-ch:
		res = v.Val.(*fillResult)
	case <-r.Context().Done():
		return
	}
	switch o := res.rendered; {
	case o.entry != nil && o.entry.Stale() && res.collapsed:
		h.writePage(w, r, o.entry, stateStale, "")
		h.startRegeneration(key, rl)
	case o.entry != nil:
		params := "fwd=uri-miss; stored"
		if res.collapsed {
			params = "fwd=uri-miss; collapsed"
		}
		h.writePage(w, r, o.entry, stateMiss, params)
	case o.resp != nil && o.why == reasonVary && !sameVaried(o.resp.Header, r):
		// The answer varies on a header this visitor sent otherwise than
		// the cache's request did: it gets its own from the origin.
		h.serveBypass(w, r, reasonVary)
	case o.resp != nil && (res.owner == me || shareable(o.why)):
		writeResponse(w, r, o.resp, "fwd=uri-miss; detail=not-stored-"+o.why)
	case o.resp != nil || errors.Is(o.err, ErrTooLarge):
		// Another visitor's private answer (it may carry a session): this
		// visitor gets its own from the origin.
		h.serveBypass(w, r, orString(o.why, reasonTooLarge))
	default:
		retry, ok := failedFor(o.err)
		if !ok {
			retry = h.opts.FailureBackoff
		}
		serveFailed(w, r, o.err, retry)
	}
}

// shareable reports whether an unstored response may be given to every
// visitor waiting on the same fill. An answer the origin marked private,
// no-store, no-cache or s-maxage=0, or that sets a cookie, is the visitor's
// own: the others get theirs. One that varies on what the key does not
// hold goes to the visitors it is right for (sameVaried).
func shareable(why string) bool {
	return why != reasonSetCookie && why != reasonPrivate && why != reasonNoStore
}

// fill produces the page for a cold key. Once per poll it looks at the
// store (another replica may have written the page) and tries the lock;
// the holder renders, the others wait for its write event. Past
// WaitTimeout the holder is presumed dead and this replica renders itself:
// the fenced write keeps that safe.
func (h *Handler) fill(key string, rl *rule, owner *int) *fillResult {
	ctx, cancel := context.WithTimeout(h.bg, h.opts.WaitTimeout+h.opts.RenderTimeout+time.Second)
	defer cancel()
	start := h.opts.Now()
	deadline := start.Add(h.opts.WaitTimeout)
	p := h.newPoll(key)
	waited := false
	defer func() {
		if waited {
			h.opts.Observer.LockWait(h.opts.Now().Sub(start))
		}
	}()
	// The visitor's lookup has just missed: the first round goes straight
	// to the lock (whose holder re-reads the store anyway).
	for first := true; ; first = false {
		p.arm()
		if !first {
			seen := h.hot.mark()
			e, err := h.opts.Backend.Get(ctx, key)
			if err == nil {
				h.hot.put(key, e, seen, h.opts.Now())
				return &fillResult{rendered: &rendered{entry: e}, owner: owner, collapsed: true}
			}
			if _, ok := failedFor(err); ok {
				// The holder's render failed: its error is ours too.
				return &fillResult{rendered: &rendered{err: err}, owner: owner, collapsed: true}
			}
			if isStoreError(err) {
				return &fillResult{rendered: h.renderCold(ctx, key, rl), owner: owner}
			}
		}
		seen := h.hot.mark()
		lock, e, token, err := tryLockToken(ctx, h.opts.Backend, key, h.opts.LockTTL)
		switch {
		case lock != nil:
			return h.fillLocked(ctx, key, rl, owner, lock, seen, e, token, err)
		case !errors.Is(err, ErrLocked) || !h.opts.Now().Before(deadline):
			h.opts.Logger.Warn("rendering without the lock", zap.String("key", key), zap.Error(err))
			return &fillResult{rendered: h.renderCold(ctx, key, rl), owner: owner}
		}
		waited = true
		if err := p.pause(ctx, time.Time{}); err != nil {
			return &fillResult{rendered: &rendered{err: err}, owner: owner}
		}
	}
}

// fillUnstored renders a cold key without the store, which is unreachable.
// A storable answer is kept (see locals): the next visitors get it, not a
// render each. A failed render backs the key off.
func (h *Handler) fillUnstored(key string, rl *rule, owner *int) *fillResult {
	ctx, cancel := context.WithTimeout(h.bg, h.opts.RenderTimeout+time.Second)
	defer cancel()
	tick := h.local.tick()
	resp, err := h.renderOrigin(ctx, key, false)
	if err != nil {
		h.coldFailed(ctx, key, err)
		return &fillResult{rendered: &rendered{err: err}, owner: owner}
	}
	why := unstorable(resp)
	if why == "" && !variantMismatch(key, resp) {
		h.keepLocal(key, h.pageOf(key, rl, resp, 0), tick)
		why = "store-unavailable"
	}
	return &fillResult{rendered: &rendered{resp: resp, why: orString(why, reasonMismatch)}, owner: owner}
}

// renderCold renders and stores a cold key. A render that got no answer
// (the origin unreachable, timed out, or cut the body short) is recorded
// for every replica to back off (see Store.Fail); an answer, even a 5xx,
// is passed on as the origin sent it.
func (h *Handler) renderCold(ctx context.Context, key string, rl *rule) *rendered {
	token, tokErr := h.opts.Backend.Token(ctx, key)
	return h.renderColdWith(ctx, key, rl, token, tokErr)
}

// renderColdWith is renderCold with the fencing token already taken.
func (h *Handler) renderColdWith(ctx context.Context, key string, rl *rule, token int64, tokErr error) *rendered {
	o := h.renderAndStoreWith(ctx, key, rl, false, token, tokErr)
	if o.err != nil && !errors.Is(o.err, ErrTooLarge) {
		h.coldFailed(ctx, key, o.err)
	}
	return o
}

// fillLocked renders a cold key under its lock with the fencing token
// taken with it (tokErr: taking it failed, so the page is not stored),
// unless e, read from the store under the lock after mark returned seen,
// shows that a replica stored the page between our last look and the lock,
// or tokErr that the last render of the key failed (a *FailedError).
func (h *Handler) fillLocked(ctx context.Context, key string, rl *rule, owner *int, lock Lock,
	seen uint64, e *Entry, token int64, tokErr error) *fillResult {
	defer h.releaseLater(key, lock)
	if e != nil {
		h.hot.put(key, e, seen, h.opts.Now())
		return &fillResult{rendered: &rendered{entry: e}, owner: owner, collapsed: true}
	}
	if _, ok := failedFor(tokErr); ok { // the last holder's render failed
		return &fillResult{rendered: &rendered{err: tokErr}, owner: owner, collapsed: true}
	}
	start := time.Now()
	o := h.renderColdWith(ctx, key, rl, token, tokErr)
	h.opts.Logger.Info("rendered", zap.String("key", key), zap.Duration("duration", time.Since(start)),
		zap.Bool("stored", o.entry != nil), zap.String("not_stored", o.why), zap.Error(o.err))
	return &fillResult{rendered: o, owner: owner}
}

// releaseLater releases a cold fill's lock in the background, so that the
// round trip is not on the visitors' path: the replicas waiting for the
// page are woken by its write event, not by the release. While the Handler
// shuts down it releases at once.
func (h *Handler) releaseLater(key string, l Lock) {
	if !h.track() {
		h.release(context.Background(), key, l)
		return
	}
	h.opts.Go(func() {
		defer h.running.Done()
		h.release(context.Background(), key, l)
	})
}
