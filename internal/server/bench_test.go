package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// discardWriter is a ResponseWriter that keeps nothing but its header map,
// reset between requests, so that a benchmark counts the server's own
// allocations and not a recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// benchServer returns a Server over the in-memory cache whose origin
// answers an 8 KiB page, logging JSON to io.Discard when logged is set.
func benchServer(b *testing.B, logged bool) *Server {
	b.Helper()
	body := make([]byte, 8<<10)
	origin := isr.OriginFunc(func(context.Context, *http.Request) (*isr.Response, error) {
		return &isr.Response{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: body}, nil
	})
	h, err := isr.New(isr.Options{Backend: isrmem.New(nil), Origin: origin, Next: http.NotFoundHandler(), L1MaxAge: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	var log *zap.Logger
	if logged {
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		log = zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	}
	return New(Options{Handler: h, Logger: log})
}

func benchHit(b *testing.B, logged bool) {
	s := benchServer(b, logged)
	req := httptest.NewRequest(http.MethodGet, "/posts/1", nil)
	w := &discardWriter{h: http.Header{}}
	s.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.ServeHTTP(w, req)
	}
	if w.h.Get("X-ISR-Cache") != "HIT" {
		b.Fatalf("last answer %v, want a HIT", w.h)
	}
}

// BenchmarkServeHit measures a HIT through the whole Server (router,
// request log, observer), without a request log.
func BenchmarkServeHit(b *testing.B) { benchHit(b, false) }

// BenchmarkServeHitLogged is the same with the request log at info, JSON
// to io.Discard: the difference is the log's CPU cost (its write is not
// measured).
func BenchmarkServeHitLogged(b *testing.B) { benchHit(b, true) }
