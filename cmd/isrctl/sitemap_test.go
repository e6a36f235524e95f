package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSitemap(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name    string
		doc     string
		index   bool
		locs    []string
		wantErr string
	}{
		{name: "urlset", doc: read("sitemap-posts.xml"), locs: []string{
			"https://www.example.com/posts/21", "https://www.example.com/posts/22", "https://www.example.com/posts/23",
			"https://www.example.com/posts/24", "http://other.example:8443/posts/25", "ftp://www.example.com/not-a-page"}},
		{name: "urlset with extensions", doc: read("sitemap-pages.xml"), locs: []string{
			"https://www.example.com/", "https://www.example.com/about", "https://www.example.com/search?q=go&page=2",
			"https://www.example.com/posts/26", "https://www.example.com/posts/21"}},
		{name: "index", doc: read("sitemap-index.xml"), index: true, locs: []string{
			"https://www.example.com/sitemap-posts.xml", "https://www.example.com/sitemap-pages.xml.gz"}},
		{name: "no namespace", doc: "<urlset><url><loc>https://a.example/x</loc></url></urlset>", locs: []string{"https://a.example/x"}},
		{name: "empty urlset", doc: "<urlset/>"},
		{name: "other root", doc: "<rss><channel/></rss>", wantErr: "the root element is <rss>"},
		{name: "not XML", doc: "/posts/1\n/posts/2\n", wantErr: "not a sitemap: EOF"},
		{name: "truncated", doc: "<urlset><url><loc>https://a.example/x</loc>", wantErr: "not a sitemap: XML syntax error"},
		{name: "entity", doc: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><urlset><url><loc>&e;</loc></url></urlset>`,
			wantErr: "invalid character entity &e;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sm, err := parseSitemap(strings.NewReader(tt.doc), maxSitemapBytes)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || sm.Index != tt.index || !slices.Equal(sm.Locs, tt.locs) {
				t.Fatalf("got %+v, %v; want index %v, locs %q", sm, err, tt.index, tt.locs)
			}
		})
	}
}

func TestParseSitemapTooLarge(t *testing.T) {
	t.Parallel()
	doc := "<urlset>" + strings.Repeat("<url><loc>https://x.example/a</loc></url>", 100) + "</urlset>"
	if _, err := parseSitemap(strings.NewReader(doc), int64(len(doc))); err != nil {
		t.Fatalf("a document of exactly the limit: %v", err)
	}
	if _, err := parseSitemap(strings.NewReader(doc), int64(len(doc)-1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err %v, want larger than", err)
	}
}

func TestURLPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, wantErr string }{
		{in: "https://www.example.com/posts/1", want: "/posts/1"},
		{in: "http://other.example:8080", want: "/"},
		{in: "https://x.example/search?q=go&page=2", want: "/search?q=go&page=2"},
		{in: "https://x.example/a///b/", want: "/a/b/"},
		{in: "https://x.example//a", wantErr: "must not start with //"},
		{in: "https://x.example/caf%C3%A9", want: "/caf%C3%A9"},
		{in: "https://x.example/a#frag", want: "/a"},
		{in: "ftp://x.example/a", wantErr: "not an http:// or https:// URL"},
		{in: "/posts/1", wantErr: "not an http:// or https:// URL"},
		{in: "https:///nohost", wantErr: "not an http:// or https:// URL"},
		{in: "https://x.example/a/../b", wantErr: "dot segment"},
		{in: "https://x.example/a%00", wantErr: "control character"},
	}
	for _, tt := range tests {
		got, err := urlPath(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("urlPath(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("urlPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestBatches(t *testing.T) {
	t.Parallel()
	var paths []string
	for i := range 2500 {
		paths = append(paths, "/p/"+strings.Repeat("x", i%7))
	}
	bs := batches(paths, []string{"a", "b"}, "stale")
	if len(bs) != 3 || len(bs[0].Tags) != 2 || len(bs[0].Paths) != 998 || len(bs[1].Paths) != 1000 || len(bs[2].Paths) != 502 {
		t.Fatalf("got %d batches", len(bs))
	}
	// Long paths: the body limit splits first.
	long := make([]string, 100)
	for i := range long {
		long[i] = "/" + strings.Repeat("y", 2000) + string(rune('a'+i%26))
	}
	bs = batches(long, nil, "eager")
	n := 0
	for _, b := range bs {
		body, _ := json.Marshal(b)
		if len(body) > maxBatchBody || b.Mode != "eager" {
			t.Errorf("batch of %d paths is %d bytes, over %d", len(b.Paths), len(body), maxBatchBody)
		}
		n += len(b.Paths)
	}
	if n != len(long) || len(bs) < 2 {
		t.Errorf("%d batches with %d paths, want all %d paths in several batches", len(bs), n, len(long))
	}
	if bs := batches(nil, []string{"t"}, "delete"); len(bs) != 1 || bs[0].Tags[0] != "t" {
		t.Errorf("tags only: %+v", bs)
	}
}

// FuzzParseSitemap checks that any document is parsed without panic, and
// that every <loc> it yields either is refused or becomes a page path that
// the server accepts as it is.
func FuzzParseSitemap(f *testing.F) {
	for _, name := range []string{"sitemap-posts.xml", "sitemap-pages.xml", "sitemap-index.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<urlset><url><loc> https://x.example/a?b=c&amp;d </loc></url><url><loc/></url></urlset>`))
	f.Add([]byte(`<sitemapindex><sitemap><loc>/relative.xml</loc></sitemap></sitemapindex>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		sm, err := parseSitemap(strings.NewReader(string(doc)), maxSitemapBytes)
		if err != nil {
			return
		}
		for _, loc := range sm.Locs {
			if loc == "" || loc != strings.TrimSpace(loc) {
				t.Fatalf("loc %q is empty or untrimmed", loc)
			}
			p, err := urlPath(loc)
			if err != nil {
				continue
			}
			again, err := checkPath(p)
			if err != nil || again != p || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
				t.Fatalf("loc %q gave path %q, which checks as %q, %v", loc, p, again, err)
			}
		}
	})
}
