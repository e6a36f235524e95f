package isr

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Handler is an http.Handler that serves pages through the ISR cache.
//
// A request is answered from the hot cache or the Store. A fresh page
// is a HIT. A stale page is served at once (STALE) while one replica in the
// cluster regenerates it in the background under the Locker's lock. A page
// not stored yet is a MISS: one replica renders it while visitors on every
// replica wait for that render. Requests that must not be shared (other
// methods, credentials) BYPASS the cache to Next.
//
// Create one with [New]; run [Handler.Run] to receive the events that keep
// the hot cache coherent across replicas.
type Handler struct {
	opts    Options
	routes  *routeTable
	hot     *hotCache
	waits   waiters
	fills   singleflight.Group // cold misses, per key, in this process
	regens  flights            // background regenerations, per key
	eagers  eagerCalls         // eager regenerations, per page
	local   locals             // renders the store may not hold (monotonic reads)
	failed  backoffs           // keys whose cold render failed here (see coldFailed)
	backoff backoffs           // keys not to regenerate for a while
	seqs    sequences          // last event number per shard seen by Run

	nextWarning     sync.Once   // the warning that NextPreviewID is missing
	nextRejected    sync.Once   // the warning that Next ignored the preview id
	nextRSCRedirect sync.Once   // the warning that Next redirected an RSC request
	variantWarn     everyMinute // the warning that a page has too many variants

	bg       context.Context // parent of background work; cancelled by Shutdown
	cancelBG context.CancelFunc
	running  sync.WaitGroup // background regenerations

	mu      sync.Mutex // guards closing and running.Add
	closing bool
}

// New returns a Handler configured by opts. It starts nothing: call
// [Handler.Run] to listen for invalidation events.
func New(opts Options) (*Handler, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rt, err := compileRoutes(o.Routes)
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: o, routes: rt, hot: newHotCache(o.L1Bytes, o.L1MaxAge, newCodec(o.MaxBodyBytes))}
	h.bg, h.cancelBG = context.WithCancel(context.Background())
	return h, nil
}

// Run listens for the backend's events and applies them until ctx is done:
// each write or revalidation drops the key's hot-cache entry in this
// replica and wakes the visitors waiting for it; a Reset (a new or renewed
// subscription) or a gap in the sequence numbers flushes the hot cache,
// since events may have been lost. Run returns nil when ctx is done, or the
// bus's error.
func (h *Handler) Run(ctx context.Context) error {
	return h.opts.Backend.Listen(ctx, h.apply)
}

// Shutdown stops starting regenerations and waits until the running ones
// finish, or ctx is done: then it cancels them, which releases their locks,
// and returns ctx's error.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		h.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		h.cancelBG()
		return nil
	case <-ctx.Done():
		h.cancelBG()
		<-done
		return ctx.Err()
	}
}

// Stats returns a snapshot of the hot cache.
func (h *Handler) Stats() Stats {
	n, b := h.hot.stats()
	return Stats{L1Entries: n, L1Bytes: b, L1Flushes: h.hot.flushCounts()}
}

// ServeHTTP serves r from the cache, the origin, or both.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := ParsePath(r.URL.EscapedPath())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	page, variant := requestVariant(r, p)
	rl := h.routes.match(page)
	if reason := bypassReason(r, p, variant); reason != "" || rl.Bypass {
		h.serveBypass(w, r, orString(reason, reasonRoute))
		return
	}
	if !rl.serves(page) {
		h.serveNotFound(w, r)
		return
	}
	key := withVariant(joinKey(page, canonicalQuery(r.URL.RawQuery, rl.Query)), variant)
	e, err := h.lookup(r.Context(), key)
	switch {
	case err == nil && !e.Stale():
		h.writePage(w, r, e, stateHit, "")
	case err == nil:
		h.writePage(w, r, e, stateStale, "")
		h.startRegeneration(key, rl)
	default:
		h.serveMiss(w, r, key, rl, err)
	}
}

// lookup reads key from the hot cache, else from the store, filling the
// hot cache with what the store returns. A page of this replica's that may
// be newer than the store's copy (see locals and kept) wins over it.
func (h *Handler) lookup(ctx context.Context, key string) (*Entry, error) {
	now := h.opts.Now()
	if e, ok := h.hot.get(key, now, false); ok {
		return e, nil
	}
	if e, ok := h.local.get(key, now, h.opts.L1MaxAge, true); ok {
		return e, nil
	}
	seen := h.hot.mark()
	e, err := h.opts.Backend.Get(ctx, key)
	if isStoreError(err) {
		if e, ok := h.local.get(key, now, h.opts.L1MaxAge, false); ok {
			h.storeTrouble("store read failed: serving this replica's unstored render", key, err)
			return e, nil
		}
		if e, ok := h.hot.get(key, now, true); ok {
			h.storeTrouble("store read failed: serving the hot cache's copy as stale", key, err)
			return e, nil
		}
		return nil, err
	}
	if kept, ok := h.kept(key, e, now); ok {
		return kept, nil
	}
	if err != nil {
		return nil, err
	}
	h.hot.put(key, e, seen, now)
	return e, nil
}

// kept returns, as stale, a page of key this replica holds that may be
// newer than e, the store's copy (nil: none): a render it could not store
// (see locals), or a hot-cache copy of a later generation (the store lost
// a write, as in a failover). Serving it stale starts the regeneration
// that repairs the store.
func (h *Handler) kept(key string, e *Entry, now time.Time) (*Entry, bool) {
	if l, ok := h.local.newer(key, e, now); ok {
		return l, true
	}
	if e == nil {
		return nil, false
	}
	if c, ok := h.hot.get(key, now, true); ok && c.Page.Gen > e.Page.Gen {
		c.Fresh = 0
		return c, true
	}
	return nil, false
}

// serveBypass passes r to Next, uncached.
func (h *Handler) serveBypass(w http.ResponseWriter, r *http.Request, reason string) {
	setState(w.Header(), stateBypass, "fwd=bypass; detail="+reason)
	h.opts.Next.ServeHTTP(w, r)
}

// serveNotFound answers a path that a fallback:false route does not list.
func (h *Handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	setState(w.Header(), stateHit, "detail=fallback-false")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("404 page not found\n"))
	}
}

// syntheticRequest is the request the origin sees for key: a GET of the
// key's path and query, carrying the key's variant (see VariantSep) and no
// other client header, so nothing the key does not capture can change the
// page (no unkeyed input, no credentials).
func syntheticRequest(ctx context.Context, key string) *http.Request {
	p, q := splitKey(BaseKey(key))
	u := &url.URL{RawQuery: q}
	u.Path, _ = url.PathUnescape(p)
	u.RawPath = p
	r := (&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}).WithContext(ctx)
	applyVariant(r, variantOf(key))
	r.RequestURI = u.RequestURI()
	return r
}

// isStoreError reports whether err is a store failure rather than a miss.
func isStoreError(err error) bool {
	return err != nil && !errors.Is(err, ErrNotFound)
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// track registers a background task, unless the Handler is shutting down.
func (h *Handler) track() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.running.Add(1)
	return true
}
