package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"go.uber.org/zap"
)

// newProxy returns the reverse proxy to origin of the requests that bypass
// the cache, over transport. A request it cannot forward is answered 502,
// unless the fault was reading the client's own request body (a malformed
// chunked encoding, say): that is the client's error, answered 400 (or 413
// for a body over a limit).
func newProxy(origin *url.URL, transport http.RoundTripper, log *zap.Logger) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(origin)
			pr.SetXForwarded()
		},
		Transport: transport,
		ErrorLog:  zap.NewStdLog(log),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if cb, ok := r.Context().Value(clientBodyKey{}).(*clientBody); ok {
				if berr := cb.failure(); berr != nil {
					log.Info("bad request body", zap.String("method", r.Method),
						zap.String("path", r.URL.EscapedPath()), zap.Error(berr))
					var mbe *http.MaxBytesError
					if errors.As(berr, &mbe) {
						http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
						return
					}
					http.Error(w, "bad request body", http.StatusBadRequest)
					return
				}
			}
			if !errors.Is(err, context.Canceled) {
				log.Warn("origin request failed", zap.String("method", r.Method),
					zap.String("path", r.URL.EscapedPath()), zap.Error(err))
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			cb := &clientBody{rc: r.Body}
			r = r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, cb))
			r.Body = cb
		}
		proxy.ServeHTTP(w, r)
	})
}

// clientBodyKey is the context key of a request's *clientBody, which the
// proxy's error handler looks up: the proxy hands it a copy of the request
// whose Body it has wrapped again.
type clientBodyKey struct{}

// clientBody is a client's request body that remembers why reading it
// failed. The transport reads it on a goroutine of its own.
type clientBody struct {
	rc  io.ReadCloser
	mu  sync.Mutex
	err error // the first read error other than io.EOF
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *clientBody) Close() error { return b.rc.Close() }

// failure returns the first error reading the body, or nil.
func (b *clientBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
