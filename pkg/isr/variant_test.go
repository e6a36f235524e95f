package isr

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// keyOf is the key ServeHTTP computes for a GET of target with hdr, with
// no route rules (queries dropped but for _rsc), or "" if the path is bad.
func keyOf(target string, hdr http.Header) string {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return ""
	}
	p, err := ParsePath(u.EscapedPath())
	if err != nil {
		return ""
	}
	page, v := requestVariant(&http.Request{URL: u, Header: hdr}, p)
	return withVariant(page, v)
}

func TestVariantKeys(t *testing.T) {
	for _, tt := range []struct {
		target string
		hdr    http.Header
		want   string
	}{
		{"/posts/1", nil, "/posts/1"},
		{"/posts/1?utm=x", http.Header{"Cookie-Less": {"1"}}, "/posts/1"},
		{"/posts/1?_rsc=ab1", http.Header{"Rsc": {"1"}}, "/posts/1#rsc=1"},
		{"/posts/1?_rsc", http.Header{"Rsc": {"1"}}, "/posts/1#rsc=1"},
		{"/posts/1?_rsc=ab1", http.Header{"Rsc": {"1"}, "Next-Router-Prefetch": {"1"}}, "/posts/1#next-router-prefetch=1&rsc=1"},
		{"/posts/1", http.Header{"Rsc": {"1"}, "Next-Router-Segment-Prefetch": {"/_tree"}}, "/posts/1#next-router-segment-prefetch=%2F_tree&rsc=1"},
		// Next-Url changes _rsc, not the answer: one key for every referrer.
		{"/posts/1?_rsc=5CB68i4pnAekjehf", http.Header{"Rsc": {"1"}, "Next-Router-Prefetch": {"1"},
			"Next-Router-Segment-Prefetch": {"/_tree"}, "Next-Url": {"/"}}, "/posts/1#next-router-prefetch=1&next-router-segment-prefetch=%2F_tree&rsc=1"},
		{"/posts/1?_rsc=x", http.Header{"Rsc": {"1"}, "Next-Router-Prefetch": {"1"},
			"Next-Router-Segment-Prefetch": {"/_tree"}, "Next-Url": {"/posts/2"}}, "/posts/1#next-router-prefetch=1&next-router-segment-prefetch=%2F_tree&rsc=1"},
		{"/_next/data/b1/legacy/1.json?id=1", http.Header{"X-Nextjs-Data": {"1"}}, "/legacy/1#data=b1&x-nextjs-data=1"},
		{"/_next/data/b1/index.json", nil, "/#data=b1"},
		{"/_next/data/b1/.json", nil, "/_next/data/b1/.json"},
		{"/_next/data/legacy.json", nil, "/_next/data/legacy.json"},
	} {
		if got := keyOf(tt.target, tt.hdr); got != tt.want {
			t.Errorf("key of %s %v = %q, want %q", tt.target, tt.hdr, got, tt.want)
		}
		if got := BaseKey(keyOf(tt.target, tt.hdr)); IsVariant(got) {
			t.Errorf("BaseKey(%q) = %q is a variant", tt.want, got)
		}
	}
}

// TestRSCHashes checks the _rsc values against those Chromium sent to
// Next.js 16.4.6 (and Next accepted), and the legacy form against Next's
// hexHash run in Node.
func TestRSCHashes(t *testing.T) {
	for _, tt := range []struct {
		hdr         http.Header
		sha, legacy string
	}{
		{http.Header{"Next-Router-Prefetch": {"1"}, "Next-Router-Segment-Prefetch": {"/_tree"}, "Next-Url": {"/"}}, "5CB68i4pnAekjehf", "1r34m"},
		{http.Header{"Next-Router-Prefetch": {"1"}, "Next-Router-Segment-Prefetch": {"/posts/$d$id/__PAGE__"}, "Next-Url": {"/"}}, "rPFJ6sB6zoGpSXxW", "ul2bu"},
		{http.Header{"Next-Router-State-Tree": {"%5B%22%22%5D"}, "Next-Url": {"/posts/1"}}, "31tMWjOVvaDWyfUd", "vwwnt"},
		{http.Header{"Next-Router-Prefetch": {"1"}, "Next-Url": {"é/ü"}}, "jepn4qdbgR4vPtvk", "1dh0y"},
		{http.Header{"Next-Router-Prefetch": {"0"}}, "", ""}, // no router header Next counts
		{http.Header{}, "", ""},
	} {
		sha, legacy := rscHashes(tt.hdr)
		if sha != tt.sha || legacy != tt.legacy {
			t.Errorf("rscHashes(%v) = %q, %q; want %q, %q", tt.hdr, sha, legacy, tt.sha, tt.legacy)
		}
	}
}

func TestRSCMismatch(t *testing.T) {
	hdr := http.Header{"Rsc": {"1"}, "Next-Router-Prefetch": {"1"}, "Next-Router-Segment-Prefetch": {"/_tree"}, "Next-Url": {"/"}}
	for target, want := range map[string]bool{
		"/posts/1?_rsc=5CB68i4pnAekjehf": false, // the SHA-256 form
		"/posts/1?_rsc=1r34m":            false, // the legacy form
		"/posts/1?_rsc=other":            true,
		"/posts/1":                       true, // Next redirects a missing _rsc too
	} {
		u, _ := url.ParseRequestURI(target)
		if got := rscMismatch(&http.Request{URL: u, Header: hdr}); got != want {
			t.Errorf("rscMismatch(%s) = %v, want %v", target, got, want)
		}
	}
	u, _ := url.ParseRequestURI("/posts/1?_rsc")
	if rscMismatch(&http.Request{URL: u, Header: http.Header{"Rsc": {"1"}}}) {
		t.Error(`a bare "?_rsc" with no router header is what Next expects`)
	}
	u, _ = url.ParseRequestURI("/posts/1?_rsc=whatever")
	if rscMismatch(&http.Request{URL: u, Header: http.Header{}}) {
		t.Error("a page request (no RSC header) is never checked")
	}
}

// TestEmptyRSCParamForwarded: an empty _rsc is forwarded (as "_rsc="), so
// that Next, which redirects an RSC request without it, answers.
func TestEmptyRSCParamForwarded(t *testing.T) {
	key := keyOf("/posts/1?_rsc", http.Header{"Rsc": {"1"}})
	r := syntheticRequest(context.Background(), key)
	if got := r.URL.Query(); !got.Has(rscParam) || got.Get(rscParam) != "" {
		t.Errorf("the origin request for %q is %s: want an empty _rsc", key, r.URL.RequestURI())
	}
	if again := keyOf(r.URL.RequestURI(), r.Header); again != key {
		t.Errorf("the origin request %s is keyed %q, want %q", r.URL.RequestURI(), again, key)
	}
}

// FuzzVariantKey checks that the request the origin gets for a variant's
// key is keyed as that variant again: what the key captures is exactly
// what is forwarded.
func FuzzVariantKey(f *testing.F) {
	f.Add("/posts/1", "ab1", "1", "", "", "%5B%22%22%5D")
	f.Add("/_next/data/b1/legacy/1.json", "", "", "", "1", "")
	f.Add("/a%2Fb/c%3B", "x y&z=1", "1", "/_tree", "", "")
	f.Fuzz(func(t *testing.T, path, rsc, rscHdr, segment, data, tree string) {
		hdr := http.Header{}
		for name, v := range map[string]string{"Rsc": rscHdr, "Next-Router-Segment-Prefetch": segment,
			"X-Nextjs-Data": data, "Next-Router-State-Tree": tree} {
			if v != "" && validHeaderValue(v) {
				hdr.Set(name, v)
			}
		}
		target := path
		if rsc != "" {
			target += "?" + rscParam + "=" + url.QueryEscape(rsc)
		}
		key := keyOf(target, hdr)
		if key == "" {
			return
		}
		r := syntheticRequest(context.Background(), key)
		if again := keyOf(r.URL.RequestURI(), r.Header); again != key {
			t.Fatalf("key %q: the origin request %s %v is keyed %q", key, r.URL.RequestURI(), r.Header, again)
		}
		if BaseKey(key) != BaseKey(BaseKey(key)) {
			t.Fatalf("BaseKey(%q) is not idempotent", key)
		}
	})
}
