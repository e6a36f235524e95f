package isr

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// startRegeneration regenerates key's page in the background, unless this
// process already does, the page is backing off after a failure, or the
// Handler is shutting down. The visitor who triggered it is not waited for.
func (h *Handler) startRegeneration(key string, rl *rule) {
	page := BaseKey(key)
	if h.backoff.active(page, h.opts.Now()) || !h.regens.start(page) {
		return
	}
	if !h.track() {
		h.regens.done(page)
		return
	}
	h.opts.Go(func() {
		defer h.running.Done()
		defer h.regens.done(page)
		_, _ = h.regenerate(h.bg, key, rl, false)
	})
}

// regenerate renders the page of key (its BaseKey) under the page's cluster
// lock and stores it, then each variant the store holds for the page. On
// the stale path (eager false) a lock held elsewhere means another replica
// regenerates: it returns at once. An eager revalidation, which has marked
// the page stale, waits for that holder, whose render may predate the
// revalidation, and renders after it; unless a fresh page is stored
// meanwhile or found once it holds the lock: only a render that began
// after the revalidation is stored fresh, so that one did its work.
//
// The page is rendered anew (Options.NextPreviewID); its variants are read
// after it, from the cache that render refreshed, so a Next.js origin
// renders once per regeneration. A failed render keeps the old pages. The
// lock is then kept for FailureBackoff, so no replica retries the page
// before it expires.
func (h *Handler) regenerate(ctx context.Context, key string, rl *rule, eager bool) (outcome RegenOutcome, err error) {
	start := time.Now()
	defer func() { h.opts.Observer.Regeneration(outcome, time.Since(start)) }()
	page := BaseKey(key)
	log := h.opts.Logger.With(zap.String("key", page), zap.Bool("eager", eager))
	lock, err := h.opts.Backend.TryLock(ctx, page, h.opts.LockTTL)
	if errors.Is(err, ErrLocked) {
		if !eager {
			// Another replica renders; don't ask Redis again on every visit.
			h.backoff.set(page, h.opts.Now().Add(min(time.Second, h.opts.LockTTL)))
			log.Debug("regeneration skipped: lock busy")
			return RegenBusy, nil
		}
		lock, err = h.lockWait(ctx, page)
	}
	if errors.Is(err, errWrittenMeanwhile) {
		log.Debug("regeneration done by another holder after the revalidation")
		return RegenFresh, nil
	}
	if err != nil {
		h.backoff.set(page, h.opts.Now().Add(min(time.Second, h.opts.FailureBackoff)))
		log.Warn("regeneration failed: no lock", zap.Error(err))
		return RegenFailed, err
	}
	keep := false
	defer func() {
		if !keep {
			h.release(ctx, page, lock)
		}
	}()
	// Re-check: another replica may have regenerated the page between our
	// read (or revalidation) and our lock (groupcache's "check the cache
	// again").
	if e, err := h.opts.Backend.Get(ctx, key); err == nil && !e.Stale() && !h.keeps(key, e) {
		return RegenFresh, nil
	}
	if !eager && h.writeBack(ctx, key) {
		log.Info("regenerated: this replica's unstored render written back")
		return RegenWritten, nil
	}
	release, err := h.regenBudget(ctx, eager)
	if err != nil {
		if !eager {
			// Every slot is taken: the page stays STALE; a visit after the
			// backoff tries again.
			h.backoff.set(page, h.opts.Now().Add(min(time.Second, h.opts.FailureBackoff)))
			log.Debug("regeneration deferred: budget spent")
			return RegenDeferred, nil
		}
		log.Warn("regeneration failed: no budget", zap.Error(err))
		return RegenFailed, err
	}
	defer release()
	o := h.renderAndStore(ctx, page, rl, true)
	dur := zap.Duration("duration", time.Since(start))
	if o.failed() {
		err := o.err
		if err == nil {
			err = errors.New("isr: origin answered " + statusText(o.resp) + " (" + o.why + ")")
		}
		// Hold the lock through the backoff, unless the work was abandoned
		// (shutdown): then release it so another replica takes over now.
		if ctx.Err() == nil && lock.Refresh(ctx, h.opts.FailureBackoff) == nil {
			keep = true
		}
		h.backoff.set(page, h.opts.Now().Add(h.opts.FailureBackoff))
		log.Warn("regeneration failed: old page kept", dur, zap.Error(err))
		return RegenFailed, err
	}
	h.backoff.clear(page)
	h.regenerateVariants(ctx, page, rl, log)
	if o.fenced {
		log.Info("regeneration rejected: a newer page is stored", dur)
		return RegenFenced, nil
	}
	if o.entry.Stale() {
		// The origin's copy was stale (Next's own cache): try again soon,
		// not on every visit.
		h.backoff.set(page, h.opts.Now().Add(min(time.Second, h.opts.FailureBackoff)))
	}
	log.Info("regenerated", dur, zap.Int64("gen", o.entry.Page.Gen), zap.Int("status", o.entry.Page.Status),
		zap.Bool("fresh", !o.entry.Stale()))
	return RegenWritten, nil
}

// regenerateVariants renders and stores each variant the store holds for
// page, after the page itself: a Next.js origin answers them from the cache
// that the page's render refreshed. A variant whose render fails keeps its
// old copy.
func (h *Handler) regenerateVariants(ctx context.Context, page string, rl *rule, log *zap.Logger) {
	vs, err := h.opts.Backend.Variants(ctx, page)
	if err != nil {
		log.Warn("variants not regenerated: cannot list them", zap.Error(err))
		return
	}
	for _, v := range vs[0] {
		if o := h.renderAndStore(ctx, v, rl, false); o.failed() {
			log.Warn("variant regeneration failed: old copy kept", zap.String("variant", v),
				zap.String("not_stored", o.why), zap.Error(o.err))
		}
	}
}

// lockWait waits for the lock of key, woken by the key's write events and
// by polling, for at most WaitTimeout, and then tries once more: a dead
// holder's lock may expire between the last poll and the deadline
// (WaitTimeout defaults to the lock's TTL). It returns errWrittenMeanwhile
// as soon as the store holds a fresh page under key.
func (h *Handler) lockWait(ctx context.Context, key string) (Lock, error) {
	deadline := h.opts.Now().Add(h.opts.WaitTimeout)
	p := h.newPoll(key)
	for {
		p.arm()
		lock, err := h.opts.Backend.TryLock(ctx, key, h.opts.LockTTL)
		switch {
		case err == nil:
			return lock, nil
		case !errors.Is(err, ErrLocked):
			return nil, err
		}
		if e, err := h.opts.Backend.Get(ctx, key); err == nil && !e.Stale() {
			return nil, errWrittenMeanwhile
		}
		if !h.opts.Now().Before(deadline) {
			return nil, err // the try above was the last, at the deadline
		}
		if err := p.pause(ctx, deadline); err != nil {
			return nil, err
		}
	}
}

// statusText names what the origin answered a failed regeneration with.
func statusText(r *Response) string {
	if r == nil {
		return "nothing"
	}
	return strconv.Itoa(r.Status)
}
