package isrtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// fetch GETs path from srv and returns the status, headers and body, or the
// error from sending or reading.
func fetch(t *testing.T, ctx context.Context, srv *httptest.Server, path string, hdr ...string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func TestOrigin(t *testing.T) {
	o := &isrtest.Origin{}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	ctx := t.Context()

	for i, want := range []string{"/a v1 render #1", "/a v1 render #2"} {
		resp, body, err := fetch(t, ctx, srv, "/a?q=1", "X-Test", "yes")
		if err != nil || resp.StatusCode != http.StatusOK || body != want {
			t.Fatalf("GET /a #%d = %v %q, %v; want 200 %q", i+1, resp.StatusCode, body, err, want)
		}
	}
	if got := o.LastHeaders("/a").Get("X-Test"); got != "yes" {
		t.Errorf("LastHeaders(/a) X-Test = %q, want yes", got)
	}
	if o.LastHeaders("/never") != nil {
		t.Errorf("LastHeaders of an unrendered path is not nil")
	}

	o.SetVersion("/b", 3)
	o.SetStatus("/b", http.StatusNotFound)
	o.SetHeader("/b", "Cache-Control", "s-maxage=5")
	o.SetHeader("/b", "Cache-Tag", "x, y")
	resp, body, err := fetch(t, ctx, srv, "/b")
	if err != nil || resp.StatusCode != http.StatusNotFound || body != "/b v3 render #1" ||
		resp.Header.Get("Cache-Control") != "s-maxage=5" || resp.Header.Get("Cache-Tag") != "x, y" {
		t.Fatalf("GET /b = %v %v %q, %v; want scripted 404 v3 with headers", resp.StatusCode, resp.Header, body, err)
	}
	o.SetHeader("/b", "Cache-Tag", "")
	if resp, _, _ := fetch(t, ctx, srv, "/b"); resp.Header.Get("Cache-Tag") != "" {
		t.Errorf("Cache-Tag still sent after it was removed")
	}

	o.SetFailure("/c", isrtest.FailError)
	if resp, _, err := fetch(t, ctx, srv, "/c"); err != nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /c with FailError = %v, %v; want 500", resp, err)
	}
	o.SetFailure("/c", isrtest.FailTruncate)
	if _, body, err := fetch(t, ctx, srv, "/c"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("GET /c with FailTruncate = %q, %v; want io.ErrUnexpectedEOF", body, err)
	}
	o.SetFailure("/c", isrtest.FailNone)
	if _, body, err := fetch(t, ctx, srv, "/c"); err != nil || body != "/c v1 render #3" {
		t.Fatalf("GET /c after failures = %q, %v; want the 3rd render", body, err)
	}

	if got := [4]int{o.Renders("/a"), o.Renders("/b"), o.Renders("/c"), o.Total()}; got != [4]int{2, 2, 3, 7} {
		t.Errorf("Renders(/a, /b, /c), Total = %v, want [2 2 3 7]", got)
	}
}

func TestOriginDelayAndHold(t *testing.T) {
	o := &isrtest.Origin{}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)

	o.SetDelay("/slow", time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := fetch(t, ctx, srv, "/slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GET /slow = %v, want the client's deadline", err)
	}

	release := o.Hold("/held")
	var wg sync.WaitGroup
	bodies := make([]string, 3)
	for i := range bodies {
		wg.Go(func() { _, bodies[i], _ = fetch(t, t.Context(), srv, "/held") })
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.Renders("/held") < len(bodies) {
		if time.Now().After(deadline) {
			t.Fatalf("held renders counted: %d, want %d", o.Renders("/held"), len(bodies))
		}
		time.Sleep(5 * time.Millisecond)
	}
	release()
	release()
	wg.Wait()
	for i, b := range bodies {
		if b == "" {
			t.Errorf("held render %d: no body after release", i)
		}
	}
	if _, body, err := fetch(t, t.Context(), srv, "/held"); err != nil || body != "/held v1 render #4" {
		t.Fatalf("GET after release = %q, %v", body, err)
	}
}

// TestOriginHoldAllAndCounts: HoldAll holds every path, in flight and at
// most at once are counted, renders are in arrival order, an abandoned
// render is not answered, and MintCookies gives each answer its own.
func TestOriginHoldAllAndCounts(t *testing.T) {
	o := &isrtest.Origin{}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	o.MintCookies("/c")
	release := o.HoldAll()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _, _, _ = fetch(t, ctx, srv, "/gone") })
	deadline := time.Now().Add(5 * time.Second)
	for o.InFlight("/gone") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the held render never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel() // its visitor gives up while it is held
	wg.Wait()
	wg.Go(func() { _, _, _ = fetch(t, t.Context(), srv, "/a") })
	for o.InFlight("/a") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second held render never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	release()
	wg.Wait()
	resp, _, err := fetch(t, t.Context(), srv, "/c")
	if err != nil || resp.Header.Get("Set-Cookie") != "sid=1; Path=/; HttpOnly" {
		t.Fatalf("GET /c = %v, %v; want its own session cookie", resp, err)
	}
	if now, most := o.Concurrency(); now != 0 || most != 1 {
		t.Errorf("Concurrency() = %d, %d; want 0 now, 1 at most", now, most)
	}
	if got := o.Order(); len(got) != 3 || got[0] != "/gone" || got[1] != "/a" || got[2] != "/c" {
		t.Errorf("Order() = %q, want [/gone /a /c]", got)
	}
	if r, a := o.Renders("/gone"), o.Answered("/gone"); r != 1 || a != 0 {
		t.Errorf("/gone: %d renders, %d answered; want 1, 0 (abandoned while held)", r, a)
	}
}
