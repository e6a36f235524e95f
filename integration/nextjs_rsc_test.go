package integration

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A nextVariant is one way a browser asks for a Next.js page: the
// document (HTML), the RSC payload of a navigation, or a prefetch. Its
// headers are those Next's App Router client sends (Next 16), and its _rsc
// query value is computed from them as the client does.
type nextVariant struct {
	Name   string
	Header []string // name, value pairs
	// ContentType is the media type Next answers with.
	ContentType string
}

// The variants of an App Router page /posts/{id}, as Chromium sends them
// from the home page "/" (see /work/nextjs-findings.md (b)).
func htmlVariant() nextVariant {
	return nextVariant{Name: "html", ContentType: "text/html"}
}

// rscNavVariant is the navigation request of a click on a link that was
// not prefetched: RSC and the target's router state tree.
func rscNavVariant(id string) nextVariant {
	tree := url.QueryEscape(`["",{"children":["posts",{"children":[["id","` + id +
		`","d",null],{"children":["__PAGE__",{},null,null,160]},null,"refetch",96]},null,null,96]},null,null,80]`)
	return nextVariant{Name: "rsc", ContentType: "text/x-component",
		Header: []string{"RSC", "1", "Next-Router-State-Tree", tree, "Next-Url", "/"}}
}

// prefetchVariant is a segment prefetch of a <Link> in view: segment is
// "/_tree" (the route tree) or a segment's key such as
// "/posts/$d$id/__PAGE__".
func prefetchVariant(segment string) nextVariant {
	return nextVariant{Name: "prefetch " + segment, ContentType: "text/x-component",
		Header: []string{"RSC", "1", "Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", segment, "Next-Url", "/"}}
}

// fullPrefetchVariant is the prefetch of a whole page (Next-Router-Prefetch
// without a segment), as older clients and router.prefetch send it.
func fullPrefetchVariant() nextVariant {
	return nextVariant{Name: "prefetch", ContentType: "text/x-component",
		Header: []string{"RSC", "1", "Next-Router-Prefetch", "1"}}
}

// URL returns the variant's URL for path at base: path itself, or path
// with the _rsc value the headers call for.
func (v nextVariant) URL(base, path string) string {
	h := http.Header{}
	for i := 0; i+1 < len(v.Header); i += 2 {
		h.Set(v.Header[i], v.Header[i+1])
	}
	if h.Get("RSC") == "" {
		return base + path
	}
	return base + path + "?_rsc=" + rscParam(h)
}

// get requests path at base as the variant and returns the answer.
func (v nextVariant) get(t *testing.T, c *http.Client, base, path string) answer {
	t.Helper()
	return mustDo(t, c, http.MethodGet, v.URL(base, path), "", v.Header...)
}

// check fails the test unless a is a 200 of the variant's content type
// whose body has want, with X-ISR-Cache state (any state if empty).
func (v nextVariant) check(t *testing.T, a answer, what, want, state string) {
	t.Helper()
	if err := v.match(a, want, state); err != nil {
		t.Fatalf("%s, %s: %v", what, v.Name, err)
	}
}

// match is check's test: nil if a is as wanted.
func (v nextVariant) match(a answer, want, state string) error {
	ct := a.Header.Get("Content-Type")
	html := strings.HasPrefix(strings.TrimSpace(a.Body), "<!DOCTYPE html>")
	switch {
	case a.Status != http.StatusOK:
		return fmt.Errorf("status %d (%s), want 200", a.Status, a.State)
	case !strings.HasPrefix(ct, v.ContentType):
		return fmt.Errorf("Content-Type %q (%s), want %s: variants mixed up", ct, a.State, v.ContentType)
	case html != (v.ContentType == "text/html"):
		return fmt.Errorf("body starts %q, not a %s body", head(a.Body), v.ContentType)
	case !strings.Contains(a.Body, want):
		return fmt.Errorf("body %q has no %q (%s)", head(a.Body), want, a.State)
	case state != "" && a.State != state:
		return fmt.Errorf("X-ISR-Cache %q, want %s (Cache-Status %q)", a.State, state, a.Header.Get("Cache-Status"))
	}
	return nil
}

// head is the start of a body, for messages.
func head(body string) string {
	if len(body) > 120 {
		return body[:120] + "..."
	}
	return body
}

// rscParam computes the _rsc query value of a request with headers h as
// Next 16's client does (cache-busting-search-param.js): the first 12
// bytes of the SHA-256 of "prefetch,segment,tree,nextURL" (absent ones
// "0"), base64url without padding; "" when none of them is set.
func rscParam(h http.Header) string {
	prefetch, segment := h.Get("Next-Router-Prefetch"), h.Get("Next-Router-Segment-Prefetch")
	tree, nextURL := h.Get("Next-Router-State-Tree"), h.Get("Next-Url")
	if (prefetch == "" || prefetch == "0") && segment == "" && tree == "" && nextURL == "" {
		return ""
	}
	or0 := func(s string) string {
		if s == "" {
			return "0"
		}
		return s
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{or0(prefetch), or0(segment), or0(tree), or0(nextURL)}, ",")))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// TestNextRSCParam checks rscParam against _rsc values Chromium sent to
// Next 16.4.6 (examples/nextjs) with these headers.
func TestNextRSCParam(t *testing.T) {
	tree := "%5B%22%22%2C%7B%22children%22%3A%5B%22posts%22%2C%7B%22children%22%3A%5B%5B%22id%22%2C%223%22%2C%22d%22%2Cnull%5D%2C%7B%22children%22%3A%5B%22__PAGE__%22%2C%7B%7D%2Cnull%2Cnull%2C160%5D%7D%2Cnull%2C%22refetch%22%2C96%5D%7D%2Cnull%2Cnull%2C96%5D%7D%2Cnull%2Cnull%2C80%5D"
	for _, tc := range []struct {
		header []string
		want   string
	}{
		{[]string{"Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", "/_tree", "Next-Url", "/"}, "5CB68i4pnAekjehf"},
		{[]string{"Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", "/posts/$d$id/__PAGE__", "Next-Url", "/"}, "rPFJ6sB6zoGpSXxW"},
		{[]string{"Next-Router-Prefetch", "1", "Next-Router-Segment-Prefetch", "/__PAGE__", "Next-Url", "/posts/1"}, "FL7t00P3n1bR5gf4"},
		{[]string{"Next-Router-State-Tree", tree, "Next-Url", "/"}, "AhOdMEeIa70nHliY"},
		{[]string{"Next-Router-Prefetch", "0"}, ""},
	} {
		h := http.Header{}
		for i := 0; i < len(tc.header); i += 2 {
			h.Set(tc.header[i], tc.header[i+1])
		}
		if got := rscParam(h); got != tc.want {
			t.Errorf("rscParam(%v) = %q, want %q", tc.header, got, tc.want)
		}
	}
	if got := rscNavVariant("3").URL("", "/posts/3"); got != "/posts/3?_rsc=AhOdMEeIa70nHliY" {
		t.Errorf("rscNavVariant(3).URL = %q, want the _rsc Chromium sent", got)
	}
}
