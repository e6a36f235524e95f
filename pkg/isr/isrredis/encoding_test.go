package isrredis_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// TestCompressedPageInRedis: a page is stored in Redis once, brotli
// compressed (the hash's enc field says so), and a replica reading it back
// from Redis (no hot cache) serves it to br, gzip and identity clients.
func TestCompressedPageInRedis(t *testing.T) {
	t.Parallel()
	e := setup(t, &isrredis.Options{Prefix: "enc"})
	page := []byte(strings.Repeat("<article><h2>A post</h2><p>Its text, with a <a href=\"/x\">link</a>.</p></article>\n", 300))
	origin := isr.OriginFunc(func(context.Context, *http.Request) (*isr.Response, error) {
		return &isr.Response{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: page}, nil
	})
	h, err := isr.New(isr.Options{Backend: e.b, Origin: origin, Next: http.NotFoundHandler(), L1Bytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	get := func(accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/post", nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	get("")
	keys, err := e.rdb.Keys(t.Context(), "enc:p:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("page hashes %v, %v; want one", keys, err)
	}
	if enc, _ := e.rdb.HGet(t.Context(), keys[0], "enc").Result(); enc != "br" {
		t.Errorf("enc field %q, want br", enc)
	}
	if n, _ := e.rdb.HStrLen(t.Context(), keys[0], "body").Result(); n > int64(len(page))/4 {
		t.Errorf("body field of %d bytes for a %d-byte page, want under a quarter", n, len(page))
	}
	decoders := map[string]func([]byte) ([]byte, error){
		"br": func(b []byte) ([]byte, error) { return io.ReadAll(brotli.NewReader(bytes.NewReader(b))) },
		"gzip": func(b []byte) ([]byte, error) {
			r, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		},
		"": func(b []byte) ([]byte, error) { return b, nil },
	}
	for accept, want := range map[string]string{"br, gzip": "br", "gzip": "gzip", "": ""} {
		rec := get(accept)
		body, err := decoders[want](rec.Body.Bytes())
		if rec.Header().Get("X-ISR-Cache") != "HIT" || rec.Header().Get("Content-Encoding") != want || err != nil || !bytes.Equal(body, page) {
			t.Errorf("Accept-Encoding %q: %v, %v; want a HIT in %q", accept, rec.Header(), err, want)
		}
	}
}
