package isr

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// rendered is the outcome of rendering a key and trying to store it.
type rendered struct {
	entry  *Entry    // the page as stored, or nil if it was not stored
	resp   *Response // the origin's response, set when entry is nil
	why    string    // why resp was not stored, or ""
	err    error     // the render failed: no response at all
	fenced bool      // a newer page was stored meanwhile
}

// failed reports whether a regeneration must keep the old page: the origin
// failed, or answered with something that cannot replace a page.
func (o *rendered) failed() bool {
	return o.err != nil || (o.entry == nil && !o.fenced)
}

// renderAndStore takes a fencing token for key, renders it and writes the
// page with the token. The token is taken first, so that a revalidation
// that arrives during the render makes the write stale, and a regenerator
// that stalls past its lock cannot overwrite a newer page. A store that
// fails does not stop the render: the response is still served, unstored.
// fresh asks the origin for a new render rather than a copy it cached (see
// Options.NextPreviewID).
func (h *Handler) renderAndStore(ctx context.Context, key string, rl *rule, fresh bool) *rendered {
	token, tokErr := h.opts.Backend.Token(ctx, key)
	return h.renderAndStoreWith(ctx, key, rl, fresh, token, tokErr)
}

// renderAndStoreWith is renderAndStore with the token already taken (a
// cold fill takes it with the lock; tokErr: taking it failed).
func (h *Handler) renderAndStoreWith(ctx context.Context, key string, rl *rule, fresh bool, token int64, tokErr error) *rendered {
	store := h.opts.Backend
	tick := h.local.tick() // before the render (the token may be older)
	if tokErr != nil {
		h.storeTrouble("store unavailable: rendering without storing", key, tokErr)
	}
	resp, err := h.renderOrigin(ctx, key, fresh)
	if err != nil {
		return &rendered{err: err}
	}
	if why := unstorable(resp); why != "" {
		return &rendered{resp: resp, why: why}
	}
	if variantMismatch(key, resp) {
		return &rendered{resp: resp, why: reasonMismatch}
	}
	if tokErr != nil {
		h.keepLocal(key, h.pageOf(key, rl, resp, 0), tick)
		return &rendered{resp: resp, why: "store-unavailable"}
	}
	page := h.pageOf(key, rl, resp, token)
	h.hot.codec.finishStored(page)
	seen := h.hot.mark()
	stored, err := store.Put(ctx, key, token, page, h.ttl(page))
	switch {
	case errors.Is(err, ErrFenced):
		return &rendered{resp: resp, why: "fenced", fenced: true}
	case errors.Is(err, ErrTooManyVariants):
		if h.variantWarn.allow(h.opts.Now()) {
			h.opts.Logger.Warn("variant not stored: its page has too many (logged at most once a minute)",
				zap.String("key", key), zap.Int("max_variants", MaxVariants))
		}
		return &rendered{resp: resp, why: reasonVariants}
	case err != nil:
		h.storeTrouble("store write failed", key, err)
		h.keepLocal(key, page, tick)
		return &rendered{resp: resp, why: "store-unavailable"}
	}
	h.local.stored(key, tick)
	e := &Entry{Page: page, Fresh: page.Revalidate}
	switch {
	case !stored:
		e.Fresh = 0
	case page.Revalidate == Never:
		e.Fresh = Forever
	}
	h.hot.put(key, e, seen, h.opts.Now())
	return &rendered{entry: e}
}

// keepLocal keeps p, rendered from the origin after tick but not stored, as
// this replica's newest copy of key (see locals).
func (h *Handler) keepLocal(key string, p *Page, tick uint64) {
	e := &Entry{Page: p, Fresh: p.Revalidate}
	if p.Revalidate == Never {
		e.Fresh = Forever
	}
	h.local.put(key, e, tick, h.opts.Now())
}

// originUserAgent is the User-Agent of the cache's requests to the origin.
const originUserAgent = "isrcache"

// renderOrigin asks the origin for key, bounded by RenderTimeout. fresh
// asks a Next.js origin to render anew (see Options.NextPreviewID).
func (h *Handler) renderOrigin(ctx context.Context, key string, fresh bool) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.RenderTimeout)
	defer cancel()
	r := syntheticRequest(ctx, key)
	r.Header.Set("User-Agent", originUserAgent)
	id := ""
	if fresh && h.opts.NextPreviewID != nil {
		id = h.opts.NextPreviewID()
	}
	if id != "" {
		r.Header.Set(headerPrerenderRevalidate, id)
	}
	resp, err := h.opts.Origin.Render(ctx, r)
	if err == nil {
		h.checkNextCache(key, resp, fresh, id != "")
		h.checkNextRedirect(key, resp)
	}
	return resp, err
}

// checkNextRedirect warns, once per Handler, when Next.js redirects the
// cache's own RSC request to another _rsc: Next computes the value another
// way than isrcache does (a newer Next), so RSC answers go uncached until
// isrcache follows.
func (h *Handler) checkNextRedirect(key string, resp *Response) {
	if resp.Status != http.StatusTemporaryRedirect || variantOf(key).Get("rsc") != "1" ||
		!strings.Contains(resp.Header.Get("Location"), rscParam) {
		return
	}
	h.nextRSCRedirect.Do(func() {
		h.opts.Logger.Warn("Next.js redirected the cache's RSC request to another _rsc value: it computes _rsc "+
			"otherwise than this isrcache does, so RSC answers are passed through uncached",
			zap.String("key", key), zap.String("location", clip(resp.Header.Get("Location"))))
	})
}

// checkNextCache warns, once per Handler, when a Next.js origin (it sends
// x-nextjs-cache) is not asked to render anew on regenerations, or ignores
// the request: Next serves its cached copy for a wrong preview id, without
// an error, so regenerations would silently store old pages.
func (h *Handler) checkNextCache(key string, resp *Response, fresh, asked bool) {
	state := resp.Header.Get(headerNextCache)
	switch {
	case state == "" || !fresh || resp.Status >= 500:
	case !asked:
		h.nextWarning.Do(func() {
			h.opts.Logger.Warn("the origin is Next.js (it sends x-nextjs-cache) but no preview id is set: "+
				"regenerations will get Next's cached, possibly stale, copies. Set ISR_NEXTJS_PREVIEW_ID "+
				"(Options.NextPreviewID) to preview.previewModeId of the app's .next/prerender-manifest.json",
				zap.String("key", key))
		})
	case !strings.EqualFold(state, "REVALIDATED"):
		h.nextRejected.Do(func() {
			h.opts.Logger.Warn("Next.js did not render anew when asked with the preview id (x-nextjs-cache: "+
				state+"): the id is not the app's current previewModeId (it changes with Next's builds), "+
				"so regenerations get Next's cached copies", zap.String("key", key))
		})
	}
}

// pageOf turns a storable response into a page: its revalidate time is the
// route's, else the origin's s-maxage, else the default; 404 and 410 pages
// are capped at NotFoundTTL.
func (h *Handler) pageOf(key string, rl *rule, resp *Response, token int64) *Page {
	rev := rl.Revalidate
	if rev == 0 {
		rev = h.opts.Revalidate
		if s, ok := sMaxAge(resp.Header); ok {
			rev = s
		}
	}
	if notFound(resp.Status) && (rev == Never || rev > h.opts.NotFoundTTL) {
		rev = h.opts.NotFoundTTL
	}
	if strings.EqualFold(resp.Header.Get(headerNextCache), "STALE") {
		rev = 0 // Next's own copy is stale: never stored as fresh
	}
	return &Page{Key: key, Status: resp.Status, Header: storedHeader(resp.Header), Body: resp.Body,
		Tags: pageTags(rl.Tags, resp.Header), Revalidate: rev, Gen: token}
}

// ttl is the hard expiry of a page in the store.
func (h *Handler) ttl(p *Page) time.Duration {
	if notFound(p.Status) {
		return min(h.opts.Expire, 6*h.opts.NotFoundTTL)
	}
	if p.Revalidate != Never && h.opts.Expire < 2*p.Revalidate {
		return 2 * p.Revalidate
	}
	return h.opts.Expire
}

func notFound(status int) bool {
	return status == http.StatusNotFound || status == http.StatusGone
}

// release gives up a lock on a context of its own: the work's context may
// be done, and a lock left behind blocks the key until its TTL.
func (h *Handler) release(ctx context.Context, key string, l Lock) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := l.Release(ctx); err != nil && !errors.Is(err, ErrLockLost) {
		h.opts.Logger.Warn("lock release failed", zap.String("key", key), zap.Error(err))
	}
}

// storeTrouble logs a store failure on the request path: a warning, but
// only at debug level while the breaker is open (ErrUnavailable), which
// would otherwise log every request of an outage; the breaker logs its own
// state changes.
func (h *Handler) storeTrouble(msg, key string, err error) {
	level := zap.WarnLevel
	if errors.Is(err, ErrUnavailable) {
		level = zap.DebugLevel
	}
	if ce := h.opts.Logger.Check(level, msg); ce != nil {
		ce.Write(zap.String("key", key), zap.Error(err))
	}
}
