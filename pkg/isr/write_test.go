package isr_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// pageRig is a Handler over the in-memory store whose origin, in process,
// answers each path with the page set for it.
type pageRig struct {
	h     *isr.Handler
	front *httptest.Server
	mu    sync.Mutex
	pages map[string]originPage
}

type originPage struct {
	status int
	header http.Header
	body   []byte
}

func newPageRig(t *testing.T) *pageRig {
	t.Helper()
	pr := &pageRig{pages: map[string]originPage{}}
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr.mu.Lock()
		p, ok := pr.pages[r.URL.Path]
		pr.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, vs := range p.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(p.status)
		_, _ = w.Write(p.body)
	})
	h, err := isr.New(isr.Options{Backend: isrmem.New(nil), Next: origin, Go: func(f func()) { f() }})
	if err != nil {
		t.Fatal(err)
	}
	pr.h = h
	pr.front = httptest.NewServer(h)
	t.Cleanup(pr.front.Close)
	return pr
}

func (pr *pageRig) set(path string, status int, body []byte, header ...string) {
	h := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.pages[path] = originPage{status: status, header: h, body: body}
}

// get sends method to path with the header pairs given, without the
// client's own compression, and returns the answer and its raw body.
func (pr *pageRig) get(t *testing.T, method, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, pr.front.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestETagFromContentAndNotModified(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	pr.set("/p", 200, []byte("hello"))
	miss, _ := pr.get(t, "GET", "/p")
	hit, body := pr.get(t, "GET", "/p")
	etag := hit.Header.Get("ETag")
	if hit.Header.Get("X-ISR-Cache") != "HIT" || string(body) != "hello" || len(etag) != 18 || etag[0] != '"' ||
		miss.Header.Get("ETag") != etag {
		t.Fatalf("HIT %q %q with ETag %q (MISS had %q); want a strong content ETag on both", hit.Header.Get("X-ISR-Cache"), body, etag, miss.Header.Get("ETag"))
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*", ` "x" ,W/` + etag + `, "y"`} {
		resp, body := pr.get(t, "GET", "/p", "If-None-Match", inm)
		if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != etag ||
			resp.Header.Get("Cache-Control") == "" || resp.Header.Get("X-ISR-Cache") != "HIT" ||
			resp.Header.Get("Content-Type") != "" {
			t.Errorf("If-None-Match %s: %d %q, headers %v; want 304, ETag and Cache-Control, no body or Content-Type", inm, resp.StatusCode, body, resp.Header)
		}
	}
	for _, inm := range []string{`"other"`, strings.TrimSuffix(etag, `"`), `W/"x", "y"`} {
		if resp, body := pr.get(t, "GET", "/p", "If-None-Match", inm); resp.StatusCode != 200 || string(body) != "hello" {
			t.Errorf("If-None-Match %s: %d %q, want 200 with the page", inm, resp.StatusCode, body)
		}
	}
	// If-None-Match decides alone when present: a matching
	// If-Modified-Since does not make a mismatch a 304.
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if resp, _ := pr.get(t, "GET", "/p", "If-None-Match", `"other"`, "If-Modified-Since", future); resp.StatusCode != 200 {
		t.Errorf("mismatching If-None-Match with a later If-Modified-Since: %d, want 200", resp.StatusCode)
	}
	// Without Last-Modified, the time the page was written is compared.
	if resp, _ := pr.get(t, "GET", "/p", "If-Modified-Since", future); resp.StatusCode != 304 {
		t.Errorf("If-Modified-Since after the write: %d, want 304", resp.StatusCode)
	}
	for _, ims := range [][]string{{"Sat, 01 Jan 2000 00:00:00 GMT"}, {"yesterday"}, {future, future}} {
		hdr := []string{}
		for _, v := range ims {
			hdr = append(hdr, "If-Modified-Since", v)
		}
		if resp, _ := pr.get(t, "GET", "/p", hdr...); resp.StatusCode != 200 {
			t.Errorf("If-Modified-Since %q: %d, want 200 (earlier, invalid or repeated)", ims, resp.StatusCode)
		}
	}
	if resp, body := pr.get(t, "HEAD", "/p", "If-None-Match", etag); resp.StatusCode != 304 || len(body) != 0 {
		t.Errorf("HEAD with a matching If-None-Match: %d, want 304", resp.StatusCode)
	}
}

func TestOriginValidatorsKept(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pr.set("/v", 200, []byte("v1"), "ETag", `"v1"`, "Last-Modified", lm.Format(http.TimeFormat))
	pr.get(t, "GET", "/v")
	if resp, _ := pr.get(t, "GET", "/v"); resp.Header.Get("ETag") != `"v1"` || resp.Header.Get("Last-Modified") != lm.Format(http.TimeFormat) {
		t.Fatalf("HIT headers %v, want the origin's ETag and Last-Modified", resp.Header)
	}
	for ims, want := range map[time.Time]int{lm: 304, lm.Add(time.Hour): 304, lm.Add(-time.Second): 200} {
		resp, _ := pr.get(t, "GET", "/v", "If-Modified-Since", ims.Format(http.TimeFormat))
		if resp.StatusCode != want {
			t.Errorf("If-Modified-Since %v (Last-Modified %v): %d, want %d", ims, lm, resp.StatusCode, want)
		}
		if want == 304 && resp.Header.Get("Last-Modified") == "" {
			t.Errorf("304 without Last-Modified: %v", resp.Header)
		}
	}
}

func TestNotModifiedOnStaleNotOn404(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	pr.set("/s", 200, []byte("s"), "ETag", `"s1"`)
	pr.get(t, "GET", "/s")
	if _, err := pr.h.Revalidate(context.Background(), isr.Revalidation{Paths: []string{"/s"}, Mode: isr.ModeStale}); err != nil {
		t.Fatal(err)
	}
	pr.set("/s", 200, []byte("s2"), "ETag", `"s2"`)
	if resp, _ := pr.get(t, "GET", "/s", "If-None-Match", `"s1"`); resp.StatusCode != 304 || resp.Header.Get("X-ISR-Cache") != "STALE" {
		t.Errorf("STALE with a matching If-None-Match: %d %s, want 304 STALE", resp.StatusCode, resp.Header.Get("X-ISR-Cache"))
	}
	pr.get(t, "GET", "/gone")
	if resp, _ := pr.get(t, "GET", "/gone", "If-None-Match", "*"); resp.StatusCode != 404 {
		t.Errorf("cached 404 with If-None-Match *: %d, want 404 (preconditions apply to 2xx only)", resp.StatusCode)
	}
}

func TestHeadOfStoredPage(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	pr.set("/h", 200, []byte("twelve bytes"))
	pr.get(t, "GET", "/h")
	resp, body := pr.get(t, "HEAD", "/h")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "12" ||
		resp.Header.Get("X-ISR-Cache") != "HIT" || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD: %d, %d bytes, headers %v; want 200, no body, Content-Length 12, HIT, ETag", resp.StatusCode, len(body), resp.Header)
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// TestOriginEncodingStoredAsSent: a body the origin compressed is stored
// and sent as it came to clients that accept its coding; the others get it
// decoded, under an ETag of its own.
func TestOriginEncodingStoredAsSent(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	plain := bytes.Repeat([]byte("<p>origin compressed this page</p>\n"), 200)
	z := gzipped(t, plain)
	pr.set("/z", 200, z, "Content-Encoding", "gzip", "ETag", `"z1"`)
	pr.get(t, "GET", "/z", "Accept-Encoding", "gzip")
	resp, body := pr.get(t, "GET", "/z", "Accept-Encoding", "br;q=1, gzip;q=0.8")
	if resp.Header.Get("X-ISR-Cache") != "HIT" || !bytes.Equal(body, z) || resp.Header.Get("Content-Encoding") != "gzip" ||
		resp.Header.Get("ETag") != `"z1"` || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("gzip client: %d bytes, headers %v; want the origin's bytes as sent, its ETag, Vary", len(body), resp.Header)
	}
	for _, ae := range [][]string{nil, {"Accept-Encoding", "br"}, {"Accept-Encoding", "gzip;q=0, identity"}} {
		resp, body := pr.get(t, "GET", "/z", ae...)
		if !bytes.Equal(body, plain) || resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("ETag") != `"z1-identity"` ||
			resp.Header.Get("Content-Length") != strconv.Itoa(len(plain)) {
			t.Errorf("client %q: %d bytes, headers %v; want the decoded page, ETag \"z1-identity\"", ae, len(body), resp.Header)
		}
	}
	if resp, _ := pr.get(t, "GET", "/z", "Accept-Encoding", "gzip", "If-None-Match", `"z1-identity"`); resp.StatusCode != 200 {
		t.Errorf("gzip client validating the identity ETag: %d, want 200 (another representation)", resp.StatusCode)
	}
}

// htmlPage returns n bytes of HTML that compresses as pages do.
func htmlPage(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<li class=\"post\"><a href=\"/posts/%d\">Post number %d</a> by author %d</li>\n", i, i*7, i%13)
	}
	return b.Bytes()[:n]
}

func unbrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("not brotli: %v", err)
	}
	return out
}

func ungzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	return out
}

// TestCompressedOnce: a page is stored compressed once (brotli), and each
// client gets the best coding it accepts, identity when it accepts none,
// with Vary: Accept-Encoding and an ETag per representation.
func TestCompressedOnce(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	page := htmlPage(20 << 10)
	pr.set("/c", 200, page)
	pr.get(t, "GET", "/c")
	_, e, err := pr.h.Inspect(t.Context(), "/c")
	if err != nil || e.Page.Encoding != "br" || len(e.Page.Body) > len(page)/4 {
		t.Fatalf("stored page: %v, encoding %q, %d bytes of %d; want br, under a quarter", err, e.Page.Encoding, len(e.Page.Body), len(page))
	}
	base := e.Page.Header.Get("Etag")
	tag := func(suffix string) string { return strings.TrimSuffix(base, `"`) + suffix + `"` }
	for _, c := range []struct {
		accept []string
		enc    string
		etag   string
		decode func(*testing.T, []byte) []byte
	}{
		{[]string{"Accept-Encoding", "br, gzip"}, "br", tag("-br"), unbrotli},
		{[]string{"Accept-Encoding", "gzip, deflate"}, "gzip", tag("-gzip"), ungzip},
		{nil, "", base, nil},
		{[]string{"Accept-Encoding", "zstd"}, "", base, nil},
		{[]string{"Accept-Encoding", "*;q=0"}, "", base, nil},
	} {
		resp, body := pr.get(t, "GET", "/c", c.accept...)
		got := body
		if c.decode != nil {
			got = c.decode(t, body)
		}
		if resp.Header.Get("X-ISR-Cache") != "HIT" || resp.Header.Get("Content-Encoding") != c.enc || !bytes.Equal(got, page) ||
			resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("ETag") != c.etag ||
			resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("client %q: %d bytes, headers %v; want %q, ETag %s, Vary, the page", c.accept, len(body), resp.Header, c.enc, c.etag)
		}
		if c.enc == "br" && len(body) > len(page)/4 {
			t.Errorf("br answer: %d bytes of %d", len(body), len(page))
		}
		if resp, _ := pr.get(t, "GET", "/c", append(c.accept, "If-None-Match", c.etag)...); resp.StatusCode != 304 ||
			resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("client %q revalidating %s: %d %v, want 304 with Vary", c.accept, c.etag, resp.StatusCode, resp.Header)
		}
	}
	resp, body := pr.get(t, "HEAD", "/c", "Accept-Encoding", "br")
	if len(body) != 0 || resp.Header.Get("Content-Encoding") != "br" || resp.Header.Get("Content-Length") == strconv.Itoa(len(page)) {
		t.Errorf("HEAD, br: %d bytes, headers %v; want no body, the br representation's length", len(body), resp.Header)
	}
}

// TestSmallAndIncompressibleStayIdentity: a page under a kilobyte, one
// that does not shrink, and an image are stored and sent as they are.
func TestSmallAndIncompressibleStayIdentity(t *testing.T) {
	t.Parallel()
	pr := newPageRig(t)
	noise := make([]byte, 8<<10)
	x := uint32(7)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = byte(x >> 24)
	}
	pr.set("/small", 200, []byte("<p>small</p>"))
	pr.set("/noise", 200, noise)
	pr.set("/img", 200, htmlPage(8<<10), "Content-Type", "image/png")
	for _, p := range []string{"/small", "/noise", "/img"} {
		pr.get(t, "GET", p)
		resp, body := pr.get(t, "GET", p, "Accept-Encoding", "br, gzip")
		if resp.Header.Get("X-ISR-Cache") != "HIT" || resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Vary") != "" {
			t.Errorf("%s: %d bytes, headers %v; want identity without Vary", p, len(body), resp.Header)
		}
	}
}
