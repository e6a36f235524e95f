package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sitemapServer serves, on 127.0.0.1, a sitemap index that names a nested
// index (which names the index back: a cycle) and a gzipped sitemap, with
// the urlsets of testdata/. It counts the fetches of each document.
func sitemapServer(t *testing.T) (indexURL string, fetches func(path string) int) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(read("sitemap-pages.xml"))
	_ = zw.Close()

	var mu sync.Mutex
	count := map[string]int{}
	var base string
	docs := map[string][]byte{
		"/sitemap.xml": []byte(`<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>BASE/nested/index.xml</loc></sitemap>
  <sitemap><loc>/sitemap-pages.xml.gz</loc></sitemap>
</sitemapindex>`),
		"/nested/index.xml": []byte(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>BASE/sitemap-posts.xml</loc></sitemap>
  <sitemap><loc>BASE/sitemap.xml</loc></sitemap>
  <sitemap><loc>mailto:webmaster@example.com</loc></sitemap>
</sitemapindex>`),
		"/sitemap-posts.xml":    read("sitemap-posts.xml"),
		"/sitemap-pages.xml.gz": gz.Bytes(),
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count[r.URL.Path]++
		mu.Unlock()
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".gz") {
			w.Header().Set("Content-Type", "application/gzip")
		}
		_, _ = w.Write(bytes.ReplaceAll(doc, []byte("BASE"), []byte(base)))
	}))
	t.Cleanup(ts.Close)
	base = ts.URL
	return ts.URL + "/sitemap.xml", func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return count[path]
	}
}

func TestPrerender(t *testing.T) {
	t.Parallel()
	s := newStack(t, 2)
	sitemapURL, fetches := sitemapServer(t)

	var want []string // page paths as the origin sees them
	var args []string
	for i := 1; i <= 10; i++ {
		args = append(args, fmt.Sprintf("/posts/%d", i))
	}
	list := "# paths to warm\n\n"
	for i := 11; i <= 20; i++ {
		list += fmt.Sprintf("/posts/%d\n", i)
	}
	list += "https://cdn.example/posts/20\n" // a URL: its path, a repeat
	file := filepath.Join(t.TempDir(), "paths.txt")
	if err := os.WriteFile(file, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 26; i++ {
		want = append(want, fmt.Sprintf("/posts/%d", i))
	}
	want = append(want, "/", "/about", "/search")
	total := len(want)

	first := s.ctl(t, "", nil, append([]string{"prerender", "-c", "4", "-sitemap", sitemapURL, "-f", file}, args...)...)
	if first.code != 0 {
		t.Fatalf("first prerender: %v", first)
	}
	for _, line := range []string{
		fmt.Sprintf("prerendered %d of %d paths in ", total, total),
		fmt.Sprintf(": %d ok, 0 failed\n", total),
		fmt.Sprintf("  MISS   %d (newly rendered)\n", total),
		fmt.Sprintf("  status 200: %d\n", total),
	} {
		if !strings.Contains(first.stdout, line) {
			t.Errorf("first prerender output lacks %q:\n%v", line, first)
		}
	}
	if !strings.Contains(first.stderr, fmt.Sprintf("prerender: %d/%d (100%%), 0 failed\n", total, total)) ||
		!strings.Contains(first.stderr, `skipped 2 sitemap entries that are not page URLs; the first: "ftp://www.example.com/not-a-page" is not an http:// or https:// URL`) {
		t.Errorf("first prerender stderr: %v", first)
	}
	for _, p := range want {
		if n := s.origin.Renders(p); n != 1 {
			t.Errorf("%s rendered %d times, want 1", p, n)
		}
	}
	if n := s.origin.Total(); n != total {
		t.Errorf("the origin rendered %d pages, want %d", n, total)
	}
	for _, doc := range []string{"/sitemap.xml", "/nested/index.xml", "/sitemap-posts.xml", "/sitemap-pages.xml.gz"} {
		if n := fetches(doc); n != 1 {
			t.Errorf("%s fetched %d times, want 1", doc, n)
		}
	}

	// Again, through the other replica: every page is already warm.
	second := s.ctl(t, "", nil, append([]string{"-server", s.replicas[1], "prerender", "-sitemap", sitemapURL, "-f", file}, args...)...)
	if second.code != 0 || !strings.Contains(second.stdout, fmt.Sprintf("  HIT    %d (already warm)\n", total)) || strings.Contains(second.stdout, "MISS") {
		t.Fatalf("second prerender: %v", second)
	}
	if n := s.origin.Total(); n != total {
		t.Errorf("after the second run the origin rendered %d pages, want %d", n, total)
	}

	// A page the origin fails is reported, and the exit status says so.
	s.origin.SetStatus("/broken", http.StatusInternalServerError)
	third := s.ctl(t, "/posts/1\n/broken\n", nil, "prerender", "-f", "-")
	if third.code != 1 || !strings.Contains(third.stdout, "  failed /broken: 500 Internal Server Error\n") ||
		!strings.Contains(third.stderr, "prerender: 1 of 2 paths failed") {
		t.Errorf("prerender with a failing page: %v", third)
	}
}

func TestPrerenderStopsAtSitemapTrouble(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		switch {
		case r.URL.Path == "/missing.xml":
			http.NotFound(w, r)
		case r.URL.Path == "/html":
			_, _ = w.Write([]byte("<html><body>not a sitemap</body></html>"))
		case strings.HasPrefix(r.URL.Path, "/chain/"): // an endless chain of indexes
			_, _ = fmt.Sscanf(r.URL.Path, "/chain/%d", &n)
			fmt.Fprintf(w, `<sitemapindex><sitemap><loc>/chain/%d</loc></sitemap></sitemapindex>`, n+1)
		}
	}))
	t.Cleanup(ts.Close)
	pages := tripwire(t)
	for _, tc := range []struct{ path, want string }{
		{"/missing.xml", "/missing.xml: answered 404 Not Found"},
		{"/html", "not a sitemap: the root element is <html>, not <urlset> or <sitemapindex>"},
		{"/chain/0", "/chain/3: sitemap indexes nested more than 3 deep"},
	} {
		res := ctl(t, "", map[string]string{"ISRCTL_SERVER": pages}, "prerender", "-sitemap", ts.URL+tc.path)
		if res.code != 1 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("prerender -sitemap %s: %v\nwant an error with %q", tc.path, res, tc.want)
		}
	}
}
