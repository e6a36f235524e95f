package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/server"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// TestRetriesRateLimited sends revalidations to a replica's server whose
// rate limit lets one client send one request a second: the second
// request is answered 429 and retried after its Retry-After, and succeeds;
// past maxRetries, the 429 is returned with a hint.
func TestRetriesRateLimited(t *testing.T) {
	t.Parallel()
	h, err := isr.New(isr.Options{Backend: isrmem.New(nil), Next: http.NotFoundHandler(),
		Origin: isr.OriginFunc(func(context.Context, *http.Request) (*isr.Response, error) {
			return &isr.Response{Status: 200, Header: http.Header{}, Body: []byte("page")}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Options{Handler: h, Secret: testSecret,
		RateLimit: server.RateLimit{PerClient: 1}}))
	t.Cleanup(ts.Close)
	var waits []time.Duration
	api := &apiClient{base: ts.URL, token: testSecret, http: ts.Client(),
		wait: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return sleepCtx(ctx, d)
		}}
	body := []byte(`{"paths":["/a"],"mode":"stale"}`)
	for i := range 2 {
		if a, err := api.do(t.Context(), http.MethodPost, "/api/revalidate", body); err != nil || a.Status != 200 {
			t.Fatalf("revalidation %d: %v %s, %v; want 200", i, a.Status, a.Body, err)
		}
	}
	if len(waits) == 0 || waits[0] != time.Second {
		t.Errorf("waits before retries = %v, want the 429's Retry-After, 1s", waits)
	}
	api.wait = func(context.Context, time.Duration) error { return nil } // retry at once: still limited
	a, err := api.do(t.Context(), http.MethodPost, "/api/revalidate", body)
	if err != nil || a.Status != http.StatusTooManyRequests ||
		!strings.Contains(apiError(a, "/api/revalidate").Error(), "ISR_REVALIDATE_RATE") {
		t.Errorf("after %d retries: %d %s, %v; want 429 and a hint", maxRetries, a.Status, a.Body, err)
	}
}
