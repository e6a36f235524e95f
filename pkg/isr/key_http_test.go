package isr_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// TestEncodedReservedCharactersKeepTheirPage: over real HTTP, paths that
// differ only in an escaped reserved character ("/a%2Fb" and "/a/b",
// "/a%3Bb" and "/a;b") are different pages: each is rendered by an origin
// request carrying its own bytes, stored under its own key and never served
// for the other. An escaped unreserved character means the same page.
func TestEncodedReservedCharactersKeepTheirPage(t *testing.T) {
	t.Parallel()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "s-maxage=60")
		_, _ = io.WriteString(w, "rendered for "+r.RequestURI)
	}))
	t.Cleanup(origin.Close)
	ou, _ := url.Parse(origin.URL)
	h, err := isr.New(isr.Options{Backend: isrmem.New(nil), Origin: &isr.HTTPOrigin{URL: ou},
		Next: httputil.NewSingleHostReverseProxy(ou)})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(h)
	t.Cleanup(front.Close)
	get := func(p string) (string, string) {
		t.Helper()
		resp, err := http.Get(front.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-ISR-Cache"), string(b)
	}
	for _, p := range []string{"/a/b", "/a%2Fb", "/a;b", "/a%3Bb"} {
		if state, body := get(p); state != "MISS" || body != "rendered for "+p {
			t.Errorf("first GET %s = %s %q, want a MISS rendered for %s", p, state, body, p)
		}
	}
	for _, tc := range []struct{ ask, want string }{
		{"/a/b", "/a/b"}, {"/a%2Fb", "/a%2Fb"}, {"/a%2fb", "/a%2Fb"}, {"/a;b", "/a;b"}, {"/a%3Bb", "/a%3Bb"},
		{"/%61/b", "/a/b"},
	} {
		if state, body := get(tc.ask); state != "HIT" || body != "rendered for "+tc.want {
			t.Errorf("GET %s = %s %q, want a HIT of %s's page", tc.ask, state, body, tc.want)
		}
	}
	if state, body := get("/a%5Cb"); state != "" || !strings.Contains(body, "escaped backslash") {
		t.Errorf("GET /a%%5Cb = %s %q, want a 400", state, body)
	}
}
