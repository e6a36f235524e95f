package isr

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Options configure a [Handler]. Zero values select the documented defaults.
type Options struct {
	// Backend stores pages, locks regenerations and carries invalidation
	// events between replicas. Required: isrmem for one process,
	// isrredis for a cluster.
	Backend Backend

	// Origin renders pages for the cache. If nil, pages are rendered by
	// calling Next with a synthetic request (see [HandlerOrigin]).
	Origin Origin

	// Next receives the requests that bypass the cache (non-GET/HEAD,
	// requests with credentials, bypass routes). Required.
	Next http.Handler

	// Routes are the route rules, matched in order; the first match wins.
	// A path matching no route uses the defaults below.
	Routes []Route

	// Revalidate is the revalidate time of a page when neither its route
	// nor the origin's Cache-Control s-maxage says. Default: 60s.
	Revalidate time.Duration

	// Expire is how long a page is kept after it was written: past it, the
	// page is gone and the next visit is a MISS. It bounds how stale a
	// page served as STALE can be. Default: 7 days, and never less than
	// twice a page's revalidate time.
	Expire time.Duration

	// RenderTimeout bounds one origin render. Default: 10s.
	RenderTimeout time.Duration

	// LockTTL is the lifetime of a regeneration lock. It must exceed
	// RenderTimeout, so that a lock never expires while its holder still
	// renders. Default: RenderTimeout + 5s.
	LockTTL time.Duration

	// WaitTimeout bounds how long a cold-miss visitor waits for a render
	// that another replica holds the lock for, before it renders the page
	// itself. Default: LockTTL.
	WaitTimeout time.Duration

	// FailureBackoff is how long a key is left alone after a failed
	// regeneration, cluster-wide, before the next try. The old page keeps
	// being served meanwhile. Default: 5s.
	FailureBackoff time.Duration

	// NotFoundTTL caps the revalidate time and expiry of 404 and 410
	// pages. Default: 10s (revalidate) and 6 times that (expiry).
	NotFoundTTL time.Duration

	// MaxBodyBytes is the largest body that is stored; larger responses
	// are passed through. Default: 10 MiB.
	MaxBodyBytes int64

	// L1Bytes bounds the in-process hot cache. Zero means 64 MiB; a
	// negative value disables it.
	L1Bytes int64

	// L1MaxAge is the longest a page stays in the hot cache. It bounds how
	// long a replica that missed an invalidation event can serve an
	// outdated page. Default: 2s.
	L1MaxAge time.Duration

	// Budget bounds the regenerations running at once across the cluster
	// (stale pages and on-demand revalidations; cold misses are not
	// counted, so that a visitor with nothing to be served never waits
	// for it). If nil, regenerations are not bounded.
	Budget Budget

	// NextPreviewID returns the previewModeId of a Next.js origin (in its
	// .next/prerender-manifest.json). When it returns one, every
	// regeneration asks Next to render the page anew with the
	// x-prerender-revalidate header, as Next's own res.revalidate() does,
	// so that Next's own ISR cache is refreshed too; the page's variants
	// are then read from it. It is called once per regeneration (the id
	// changes with Next's builds), must be fast and safe for concurrent
	// use. The id is a secret: sent to the origin only, never logged. Nil,
	// or an empty id, means regenerations get whatever copy Next has
	// cached.
	NextPreviewID func() string

	// Logger receives one line per regeneration and per failure. If nil,
	// logging is disabled.
	Logger *zap.Logger

	// Observer receives the engine's outcomes, for metrics. If nil, they
	// are not reported.
	Observer Observer

	// Now is the local clock: of the hot cache, backoffs and waits. If
	// nil, time.Now. Freshness is always decided by the backend's clock.
	Now func() time.Time

	// After is the local clock's timer: it sends on the channel once d has
	// passed. If nil, time.After. Tests pass a fake clock's (see
	// isrtest.Clock) together with its Now.
	After func(d time.Duration) <-chan time.Time

	// Go runs background regenerations. If nil, each runs in a new
	// goroutine. Tests may run them synchronously.
	Go func(func())
}

// withDefaults returns o with zero values replaced by defaults, or an error
// naming the first invalid option, in the order Options declares them.
func (o Options) withDefaults() (Options, error) {
	if o.Backend == nil {
		return o, errors.New("isr: Options.Backend is required")
	}
	if o.Next == nil {
		return o, errors.New("isr: Options.Next is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Revalidate, 60*time.Second)
	def(&o.Expire, 7*24*time.Hour)
	def(&o.RenderTimeout, 10*time.Second)
	def(&o.LockTTL, o.RenderTimeout+5*time.Second)
	def(&o.WaitTimeout, o.LockTTL)
	def(&o.FailureBackoff, 5*time.Second)
	def(&o.NotFoundTTL, 10*time.Second)
	def(&o.L1MaxAge, 2*time.Second)
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.Origin == nil {
		o.Origin = HandlerOrigin(o.Next, o.MaxBodyBytes)
	}
	if o.L1Bytes == 0 {
		o.L1Bytes = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Go == nil {
		o.Go = func(f func()) { go f() }
	}
	for _, opt := range []struct {
		name string
		d    time.Duration
	}{
		{"Revalidate", o.Revalidate}, {"Expire", o.Expire}, {"RenderTimeout", o.RenderTimeout},
		{"LockTTL", o.LockTTL}, {"WaitTimeout", o.WaitTimeout}, {"FailureBackoff", o.FailureBackoff},
		{"NotFoundTTL", o.NotFoundTTL}, {"L1MaxAge", o.L1MaxAge},
	} {
		if opt.d < 0 {
			return o, fmt.Errorf("isr: Options.%s is negative (%v)", opt.name, opt.d)
		}
	}
	if o.LockTTL <= o.RenderTimeout {
		return o, fmt.Errorf("isr: Options.LockTTL (%v) must exceed RenderTimeout (%v)", o.LockTTL, o.RenderTimeout)
	}
	if o.MaxBodyBytes < 0 {
		return o, fmt.Errorf("isr: Options.MaxBodyBytes is negative (%d)", o.MaxBodyBytes)
	}
	return o, nil
}
