package isr_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// benchHandler is a Handler over the in-memory backend whose origin is an
// in-process handler answering a 10 KB page.
func benchHandler(b *testing.B, opts isr.Options) *isr.Handler {
	b.Helper()
	body := make([]byte, 10<<10)
	opts.Backend = isrmem.New(nil)
	opts.Next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(body)
	})
	h, err := isr.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func serve(b *testing.B, h http.Handler, path string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != 200 {
		b.Fatalf("status %d", rec.Code)
	}
	return rec.Header().Get("X-ISR-Cache")
}

// BenchmarkHit measures a HIT served from the hot cache (L1).
func BenchmarkHit(b *testing.B) {
	h := benchHandler(b, isr.Options{L1MaxAge: time.Hour})
	serve(b, h, "/p")
	b.ReportAllocs()
	for b.Loop() {
		if s := serve(b, h, "/p"); s != "HIT" {
			b.Fatal(s)
		}
	}
}

// BenchmarkHitNoL1 measures a HIT read from the store on every request.
func BenchmarkHitNoL1(b *testing.B) {
	h := benchHandler(b, isr.Options{L1Bytes: -1})
	serve(b, h, "/p")
	b.ReportAllocs()
	for b.Loop() {
		if s := serve(b, h, "/p"); s != "HIT" {
			b.Fatal(s)
		}
	}
}

// BenchmarkMiss measures a cold page: render (in process), store, serve.
func BenchmarkMiss(b *testing.B) {
	h := benchHandler(b, isr.Options{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if s := serve(b, h, "/p/"+strconv.Itoa(i)); s != "MISS" {
			b.Fatal(s)
		}
	}
}
