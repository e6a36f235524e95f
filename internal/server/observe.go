package server

import (
	"net/http"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Observer receives the outcomes of POST /api/revalidate, for metrics. Its
// methods must be fast and safe for concurrent use.
type Observer interface {
	// RevalidateRequest reports the status code of one answer of the
	// endpoint, whatever it was (401, 400, 200, ...).
	RevalidateRequest(code int)
	// Revalidated reports the result of each page that one accepted
	// revalidation named.
	Revalidated(results []isr.PageResult)
}

type nopObserver struct{}

func (nopObserver) RevalidateRequest(int)        {}
func (nopObserver) Revalidated([]isr.PageResult) {}

// orNopObserver returns o, or an Observer that does nothing if o is nil.
func orNopObserver(o Observer) Observer {
	if o == nil {
		return nopObserver{}
	}
	return o
}

// countRevalidate reports the status code of each answer of next to the
// server's Observer.
func (s *Server) countRevalidate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		defer func() {
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			s.observer.RevalidateRequest(code)
		}()
		next.ServeHTTP(rec, r)
	})
}

// cacheHandler returns the handler of the catch-all route: the cache,
// wrapped in opts.CacheMiddleware if it is set.
func cacheHandler(opts Options) http.Handler {
	var h http.Handler = opts.Handler
	if opts.CacheMiddleware != nil {
		h = opts.CacheMiddleware(h)
	}
	return h
}
