package server

import (
	"net/http"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Observer receives what the server answers, for metrics. Its methods are
// called on the request path: they must be fast and safe for concurrent
// use.
type Observer interface {
	// Served reports one request answered by the cache (the catch-all
	// route): its X-ISR-Cache state and Cache-Status header as answered,
	// the status code and the duration.
	Served(r *http.Request, state, cacheStatus string, status int, d time.Duration)
	// RevalidateRequest reports the status code of one answer of POST
	// /api/revalidate, whatever it was (401, 400, 200, ...).
	RevalidateRequest(code int)
	// Revalidated reports the result of each page that one accepted
	// revalidation named.
	Revalidated(results []isr.PageResult)
}

type nopObserver struct{}

func (nopObserver) Served(*http.Request, string, string, int, time.Duration) {}
func (nopObserver) RevalidateRequest(int)                                    {}
func (nopObserver) Revalidated([]isr.PageResult)                             {}

// orNopObserver returns o, or an Observer that does nothing if o is nil.
func orNopObserver(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	return o
}

// route says which kind of route answered a request, for the Observer.
type route int

const (
	routeOther route = iota
	routeCache
	routeRevalidate
)

// marked returns h, which marks the request's recorder as answered by a
// route of kind k. The one recorder of ServeHTTP serves the request log and
// the Observer alike: no second wrapper on the request path.
func marked(k route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*recorder); ok {
			rec.route = k
		}
		h.ServeHTTP(w, r)
	})
}

// observe reports a finished request to the Observer.
func (s *Server) observe(r *http.Request, rec *recorder, d time.Duration) {
	switch rec.route {
	case routeCache:
		h := rec.Header()
		s.observer.Served(r, headerValue(h, "X-Isr-Cache"), headerValue(h, "Cache-Status"), rec.code(), d)
	case routeRevalidate:
		s.observer.RevalidateRequest(rec.code())
	}
}
