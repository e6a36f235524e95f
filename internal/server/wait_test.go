package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// TestRevalidateWaitAll: with wait=all (query or body) the answer lists the
// replicas that confirmed; with one replica stuck it lists it as not acked
// and answers 504 once the wait timeout passes; another wait value is 400.
func TestRevalidateWaitAll(t *testing.T) {
	b := isrmem.New(nil)
	origin := isr.OriginFunc(func(ctx context.Context, r *http.Request) (*isr.Response, error) {
		return &isr.Response{Status: 200, Body: []byte("page " + r.URL.Path)}, nil
	})
	h, err := isr.New(isr.Options{Backend: b, Origin: origin, Next: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	stuck := make(chan struct{})
	stuckDone := make(chan error, 1)
	go func() {
		stuckDone <- b.Listen(ctx, func(ev isr.Event) {
			if ev.Key == "/stuck" {
				<-stuck
			}
		})
	}()
	t.Cleanup(func() { close(stuck); cancel(); <-ran; <-stuckDone })
	srv := New(Options{Handler: h, Secret: testSecret, WaitTimeout: 200 * time.Millisecond})

	post := func(target, body string) (int, revalidateResponse) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testSecret)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var resp revalidateResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		return rec.Code, resp
	}
	var code int
	var resp revalidateResponse
	deadline := time.Now().Add(5 * time.Second)
	for { // until both listeners run
		code, resp = post("/api/revalidate?path=/a&wait=all", "")
		if (code == 200 && resp.Wait != nil && len(resp.Wait.Acked) == 2) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code != 200 || resp.Wait == nil || !resp.Wait.Complete || len(resp.Wait.Acked) != 2 || len(resp.Wait.NotAcked) != 0 {
		t.Fatalf("wait=all in the query: %d %+v, want 200, two replicas acked", code, resp.Wait)
	}
	if code, resp = post("/api/revalidate", `{"paths":["/b"],"wait":"all"}`); code != 200 || resp.Wait == nil || !resp.Wait.Complete {
		t.Fatalf(`"wait":"all" in the body: %d %+v, want 200 complete`, code, resp.Wait)
	}
	if code, resp = post("/api/revalidate?path=/b", ""); code != 200 || resp.Wait != nil {
		t.Fatalf("without wait: %d %+v, want 200 and no wait member", code, resp.Wait)
	}

	code, resp = post("/api/revalidate?path=/stuck&wait=all", "")
	if code != http.StatusGatewayTimeout || !resp.Revalidated || resp.Wait == nil || resp.Wait.Complete ||
		len(resp.Wait.Acked) != 1 || len(resp.Wait.NotAcked) != 1 || resp.Wait.TookMS < 200 {
		t.Fatalf("wait=all with a stuck replica: %d %+v, want 504 after 200ms, one acked and one not", code, resp.Wait)
	}
	if code, _ = post("/api/revalidate?path=/a&wait=some", ""); code != 400 {
		t.Fatalf("wait=some: %d, want 400", code)
	}
}
