package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// steppedClock is a clock that moves only when stepped.
type steppedClock struct{ t time.Time }

func (c *steppedClock) now() time.Time        { return c.t }
func (c *steppedClock) step(d time.Duration)  { c.t = c.t.Add(d) }
func limited(rl RateLimit) func(*Options)     { return func(o *Options) { o.RateLimit = rl } }
func withPrevious(prev string) func(*Options) { return func(o *Options) { o.PreviousSecret = prev } }
func (f *fixture) useClock(c *steppedClock)   { f.srv.clock = c.now }
func from(addr string) func(*http.Request)    { return func(r *http.Request) { r.RemoteAddr = addr } }
func withToken(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func (f *fixture) post(t *testing.T, edits ...func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/revalidate?path=/a&mode=stale", nil)
	for _, e := range edits {
		e(req)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func TestRateLimitPerClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret, limited(RateLimit{PerClient: 2}))
	clock := &steppedClock{time.Unix(1000, 0)}
	f.useClock(clock)
	a, b := from("192.0.2.1:1111"), from("192.0.2.2:2222")
	// A burst of one second's worth, valid token or not, then 429.
	if rec := f.post(t, a, withToken("wrong")); rec.Code != 401 {
		t.Fatalf("first request: got %d, want 401", rec.Code)
	}
	if rec := f.post(t, a, withToken(testSecret)); rec.Code != 200 {
		t.Fatalf("second request: got %d %s, want 200", rec.Code, rec.Body)
	}
	rec := f.post(t, a, withToken(testSecret))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || code(t, rec) != codeRateLimited {
		t.Fatalf("third request: got %d Retry-After %q %s, want 429, 1 and rate_limited",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// Another address is not slowed down, another port of the same one is.
	if rec := f.post(t, b, withToken(testSecret)); rec.Code != 200 {
		t.Errorf("other client: got %d, want 200", rec.Code)
	}
	if rec := f.post(t, from("192.0.2.1:3333"), withToken(testSecret)); rec.Code != 429 {
		t.Errorf("same address, other port: got %d, want 429", rec.Code)
	}
	// Refused requests took nothing: half a second buys one more.
	clock.step(500 * time.Millisecond)
	if rec := f.post(t, a, withToken(testSecret)); rec.Code != 200 {
		t.Errorf("after 500ms: got %d, want 200", rec.Code)
	}
	if rec := f.post(t, a, withToken(testSecret)); rec.Code != 429 {
		t.Errorf("again: got %d, want 429", rec.Code)
	}
	if n := f.renders.Load(); n != 0 {
		t.Errorf("mode=stale rendered %d times", n)
	}
}

func TestRateLimitTotalCountsAuthenticatedOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret, limited(RateLimit{Total: 0.5}))
	clock := &steppedClock{time.Unix(1000, 0)}
	f.useClock(clock)
	for i := range 20 { // a flood without the token does not use the allowance
		if rec := f.post(t, from("198.51.100.7:1"), withToken("guess")); rec.Code != 401 {
			t.Fatalf("guess %d: got %d, want 401", i, rec.Code)
		}
	}
	if rec := f.post(t, from("192.0.2.1:1"), withToken(testSecret)); rec.Code != 200 {
		t.Fatalf("first: got %d, want 200", rec.Code)
	}
	rec := f.post(t, from("192.0.2.2:1"), withToken(testSecret))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("second, other client: got %d Retry-After %q, want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock.step(2 * time.Second)
	if rec := f.post(t, from("192.0.2.2:1"), withToken(testSecret)); rec.Code != 200 {
		t.Errorf("after 2s: got %d, want 200", rec.Code)
	}
}

func TestRateLimitInspect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret, limited(RateLimit{PerClient: 1}))
	f.useClock(&steppedClock{time.Unix(1000, 0)})
	f.do(t, http.MethodGet, "/api/inspect?path=/a", "", "Authorization", "Bearer "+testSecret)
	rec := f.do(t, http.MethodGet, "/api/inspect?path=/a", "", "Authorization", "Bearer "+testSecret)
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second inspection: got %d %s, want 429 with Retry-After", rec.Code, rec.Body)
	}
}

func TestRateLimitForgetsIdleClients(t *testing.T) {
	t.Parallel()
	l := newLimiter(RateLimit{PerClient: 1})
	now := time.Unix(1000, 0)
	busy := httptest.NewRequest(http.MethodPost, "/", nil)
	busy.RemoteAddr = "192.0.2.1:1"
	l.client(busy, now)
	for i := range maxClients - 1 {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r.RemoteAddr = netip.AddrPortFrom(a, 1).String()
		l.client(r, now)
	}
	later := now.Add(500 * time.Millisecond) // busy is half refilled, so are all
	fresh := httptest.NewRequest(http.MethodPost, "/", nil)
	fresh.RemoteAddr = "203.0.113.9:1"
	if d := l.client(fresh, later); d != 0 {
		t.Fatalf("new client: wait %v, want 0", d)
	}
	if len(l.clients) != 1 {
		t.Errorf("no bucket was full, so all were forgotten: got %d clients, want 1", len(l.clients))
	}
}

func TestClientAddrTrustedProxies(t *testing.T) {
	t.Parallel()
	l := newLimiter(RateLimit{PerClient: 1, TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}})
	tests := []struct {
		peer string
		xff  []string
		want string
	}{
		{"192.0.2.9:1", nil, "192.0.2.9"},
		{"192.0.2.9:1", []string{"203.0.113.7"}, "192.0.2.9"}, // not a proxy: a forged header is ignored
		{"10.0.0.5:1", []string{"203.0.113.7"}, "203.0.113.7"},
		{"10.0.0.5:1", []string{"203.0.113.7, 198.51.100.1, 10.0.0.7"}, "198.51.100.1"},
		{"10.0.0.5:1", []string{"203.0.113.7", "10.1.2.3"}, "203.0.113.7"},
		{"10.0.0.5:1", []string{"10.1.2.3, 10.4.5.6"}, "10.1.2.3"},
		{"10.0.0.5:1", []string{"garbage, 10.1.2.3"}, "10.1.2.3"},
		{"10.0.0.5:1", []string{"garbage"}, "10.0.0.5"},
		{"10.0.0.5:1", nil, "10.0.0.5"},
		{"[fd00::1]:1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"[fd00::1]:1", []string{"[2001:db8::2]"}, "2001:db8::2"},
		{"[::ffff:10.0.0.5]:1", []string{"203.0.113.8"}, "203.0.113.8"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/api/revalidate", nil)
		r.RemoteAddr = tt.peer
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := l.clientAddr(r); got != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
	// Two proxies forwarding one client share its allowance.
	f := newFixture(t, testSecret, limited(RateLimit{PerClient: 1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}))
	f.useClock(&steppedClock{time.Unix(1000, 0)})
	xff := func(r *http.Request) { r.Header.Set("X-Forwarded-For", "203.0.113.7") }
	if rec := f.post(t, from("10.0.0.1:1"), xff, withToken(testSecret)); rec.Code != 200 {
		t.Errorf("first, through proxy 1: %d", rec.Code)
	}
	if rec := f.post(t, from("10.0.0.2:1"), xff, withToken(testSecret)); rec.Code != 429 {
		t.Errorf("second, through proxy 2: %d, want 429", rec.Code)
	}
}

func TestClientPrefix(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"192.0.2.1:80":               "192.0.2.1/32",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1/32",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:1":           "fe80::/64",
		"not an address":             "invalid Prefix",
	}
	for in, want := range tests {
		if got := clientPrefix(in).String(); got != want {
			t.Errorf("clientPrefix(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPreviousSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret, withPrevious("old-token"))
	for tok, want := range map[string]int{testSecret: 200, "old-token": 200, "old-toke": 401, "": 401} {
		if rec := f.post(t, withToken(tok)); rec.Code != want {
			t.Errorf("token %q: got %d, want %d", tok, rec.Code, want)
		}
	}
	if rec := f.do(t, http.MethodGet, "/api/inspect?path=/a&secret=old-token", ""); rec.Code == 401 {
		t.Errorf("inspect with the previous token: got 401")
	}
	f = newFixture(t, testSecret)
	if rec := f.post(t, withToken("old-token")); rec.Code != 401 || !strings.Contains(rec.Body.String(), "Invalid token") {
		t.Errorf("no previous token set: got %d %s, want 401", rec.Code, rec.Body)
	}
}
