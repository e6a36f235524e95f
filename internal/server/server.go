// Package server is isrcache's HTTP front: the on-demand revalidation
// endpoint, the health probes, request logging, and a catch-all that hands
// every other request to the ISR cache.
//
// Routes:
//
//	POST /api/revalidate   revalidate paths and tags across the cluster
//	GET  /api/inspect      the stored state of one page (same token)
//
// The two token endpoints are rate limited (see [RateLimit]) and answer
// errors as {"code":...,"message":...} with a stable code.
//
//	GET  /healthz, /livez  alive: 200 as long as the process answers
//	GET  /readyz           ready: 200 until [Server.Drain], then 503
//	GET  /metrics          metrics, if Options.Metrics is set
//	anything else          the cache ([isr.Handler])
//
// The probes never depend on Redis or the origin: if they did, every replica
// would leave the load balancer at once when either fails.
package server

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Options configure a [Server].
type Options struct {
	// Handler is the ISR cache. It serves every request that is not one of
	// the server's own endpoints, and performs revalidations. Required.
	Handler *isr.Handler

	// Secret is the token that authorizes POST /api/revalidate and GET
	// /api/inspect. Empty disables both: they answer 404.
	Secret string

	// PreviousSecret is a second token accepted like Secret, so that the
	// secret can be rotated without downtime. Empty accepts Secret only.
	PreviousSecret string

	// Tokens, if set, returns the secret and the previous one at every
	// request to the token endpoints, instead of Secret and
	// PreviousSecret: for tokens read again from files as they change.
	Tokens func() (secret, previous string)

	// RateLimit bounds the requests to the token endpoints. The zero value
	// sets no limit.
	RateLimit RateLimit

	// Logger receives one line per request. If nil, logging is disabled.
	Logger *zap.Logger

	// Now is the clock of the "now" field of revalidation responses. If
	// nil, time.Now.
	Now func() time.Time

	// Metrics serves GET /metrics, such as a Prometheus handler. If nil,
	// there is no /metrics route: the path goes to the cache.
	Metrics http.Handler

	// Observer receives the cache's answers and the outcomes of POST
	// /api/revalidate, for metrics. If nil, they are not reported.
	Observer Observer

	// WaitTimeout bounds how long a revalidation with wait=all waits for
	// every live replica's confirmation. Zero means DefaultWaitTimeout.
	WaitTimeout time.Duration
}

// A Server is the http.Handler of an isrcache replica. Create one with
// [New].
type Server struct {
	router   *mux.Router
	cache    *isr.Handler
	tokens   func() (secret, previous string)
	limit    *limiter
	clock    func() time.Time // of the rate limits; tests step it
	log      *zap.Logger
	now      func() time.Time
	observer Observer
	draining atomic.Bool

	waitTimeout time.Duration
	// own holds the paths of the server's own routes when every route is
	// a plain path: any other request goes straight to the cache, without
	// the router's per-request allocations. nil means always route.
	own  map[string]bool
	recs sync.Pool // of *recorder
}

// New returns a Server for opts. It starts nothing.
func New(opts Options) *Server {
	s := &Server{cache: opts.Handler, tokens: opts.Tokens,
		limit: newLimiter(opts.RateLimit), clock: time.Now, log: opts.Logger, now: opts.Now}
	if s.tokens == nil {
		secret, previous := opts.Secret, opts.PreviousSecret
		s.tokens = func() (string, string) { return secret, previous }
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.waitTimeout = opts.WaitTimeout
	if s.waitTimeout <= 0 {
		s.waitTimeout = DefaultWaitTimeout
	}
	s.observer = orNopObserver(opts.Observer)
	r := mux.NewRouter()
	// Paths reach the cache as sent: the cache canonicalises them itself,
	// and a redirect to a cleaned path is the origin's business.
	r.SkipClean(true)
	r.Handle("/api/revalidate", marked(routeRevalidate, http.HandlerFunc(s.serveRevalidate)))
	r.HandleFunc("/api/inspect", s.serveInspect)
	r.HandleFunc("/healthz", serveAlive).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/livez", serveAlive).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.serveReady).Methods(http.MethodGet, http.MethodHead)
	if opts.Metrics != nil {
		r.Handle("/metrics", opts.Metrics).Methods(http.MethodGet, http.MethodHead)
	}
	r.NotFoundHandler = marked(routeCache, opts.Handler)
	r.MethodNotAllowedHandler = r.NotFoundHandler
	s.router = r
	s.own = plainPaths(r)
	return s
}

// plainPaths returns the path templates of router's routes, or nil if one
// is not a plain path (it has variables, or no path).
func plainPaths(router *mux.Router) map[string]bool {
	own := map[string]bool{}
	err := router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil || strings.ContainsAny(tpl, "{}") {
			return errors.New("not a plain path")
		}
		own[tpl] = true
		return nil
	})
	if err != nil {
		return nil
	}
	return own
}

// ServeHTTP routes r and logs one line for it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec, _ := s.recs.Get().(*recorder)
	if rec == nil {
		rec = new(recorder)
	}
	*rec = recorder{ResponseWriter: w}
	defer func() {
		d := time.Since(start)
		s.logRequest(r, rec, d)
		s.observe(r, rec, d)
		*rec = recorder{}
		s.recs.Put(rec)
	}()
	if s.own != nil && !s.own[r.URL.Path] {
		rec.route = routeCache // what the router's NotFoundHandler would do
		s.cache.ServeHTTP(rec, r)
		return
	}
	s.router.ServeHTTP(rec, r)
}

// Drain makes /readyz answer 503 from now on, so that the load balancer
// stops sending new requests before the listener closes. Everything else
// keeps being served. Drain is safe to call more than once.
func (s *Server) Drain() {
	s.draining.Store(true)
}

func serveAlive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
