package isr

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestAcceptEncodingPick(t *testing.T) {
	t.Parallel()
	all := []string{encBr, encGzip, encIdentity}
	for _, c := range []struct {
		lines []string
		encs  []string
		want  string
	}{
		{nil, all, encIdentity},                            // no header: identity
		{[]string{""}, all, encIdentity},                   // empty: identity only
		{[]string{"br, gzip"}, all, encBr},                 // tie: smallest first
		{[]string{"gzip, br"}, all, encBr},                 // order of the header does not matter
		{[]string{"gzip"}, all, encGzip},                   // identity is the fallback, not preferred
		{[]string{"GZIP;Q=0.5", "br;q=0.4"}, all, encGzip}, // case-insensitive, several lines
		{[]string{"x-gzip"}, all, encGzip},                 // x-gzip is gzip
		{[]string{"*"}, all, encBr},                        // any coding
		{[]string{"*;q=0"}, all, encIdentity},              // nothing acceptable: identity anyway
		{[]string{"br;q=0, gzip;q=0"}, all, encIdentity},   // both refused
		{[]string{"deflate, zstd"}, all, encIdentity},      // unknown codings only
		{[]string{"br;q=1.5, gzip"}, all, encGzip},         // malformed weight: member ignored
		{[]string{"br;q=0.001, identity;q=0"}, all, encBr}, // identity excluded
		{[]string{"identity;q=0.5, gzip;q=0.4"}, all, encIdentity},
		{[]string{"gzip"}, []string{encBr, encIdentity}, encIdentity},
		{[]string{"br"}, []string{"zstd"}, "zstd"}, // one representation: it
		{[]string{" br ; q=0.9 ; foo=bar , gzip"}, all, encGzip},
	} {
		got := all
		if c.encs != nil {
			got = c.encs
		}
		if i := parseAcceptEncoding(c.lines).pick(got); got[i] != c.want {
			t.Errorf("Accept-Encoding %q over %q: picked %q, want %q", c.lines, got, got[i], c.want)
		}
	}
}

func TestETagMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		lines []string
		etag  string
		want  bool
	}{
		{[]string{`"a"`}, `"a"`, true},
		{[]string{`W/"a"`}, `"a"`, true},
		{[]string{`"a"`}, `W/"a"`, true},
		{[]string{`"b", "a"`}, `"a"`, true},
		{[]string{`"b"`, `"a"`}, `"a"`, true},
		{[]string{`"a,b"`}, `"a,b"`, true}, // a comma inside the quotes
		{[]string{`"a,b"`}, `"a"`, false},
		{[]string{`*`}, `"a"`, true},
		{[]string{`a`}, `"a"`, false},  // unquoted: malformed
		{[]string{`"a`}, `"a"`, false}, // unterminated
		{[]string{`"b"`}, `"a"`, false},
		{[]string{``}, `"a"`, false},
	} {
		if got := etagMatch(c.lines, c.etag); got != c.want {
			t.Errorf("etagMatch(%q, %s) = %v, want %v", c.lines, c.etag, got, c.want)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	page := bytes.Repeat([]byte("<li><a href=\"/posts/1\">a post</a></li>\n"), 500)
	c, small := newCodec(int64(len(page))), newCodec(int64(len(page)-1))
	for _, enc := range []string{encBr, encGzip, encBr, encGzip} { // twice: pooled coders
		z, err := c.encode(page, enc)
		if err != nil || len(z) >= len(page)/4 {
			t.Fatalf("encode %s: %d bytes of %d, %v", enc, len(z), len(page), err)
		}
		back, err := c.decode(z, enc)
		if err != nil || !bytes.Equal(back, page) {
			t.Fatalf("decode %s: %v", enc, err)
		}
		if _, err := small.decode(z, enc); err != errTooLargeDecoded {
			t.Errorf("decode %s past the limit: %v, want errTooLargeDecoded", enc, err)
		}
		if _, err := c.decode(page, enc); err == nil {
			t.Errorf("decode %s of bytes that are not %s: no error", enc, enc)
		}
	}
}

func TestFinishStored(t *testing.T) {
	t.Parallel()
	html := []byte(strings.Repeat("<p>compressible text, repeated</p>\n", 100))
	p := &Page{Header: map[string][]string{"Content-Type": {"text/html"}, "ETag": {`"o"`}}, Body: html}
	newCodec(1 << 20).finishStored(p)
	if p.Encoding != encBr || p.Header["Etag"][0] != `"o"` || p.Header["ETag"] != nil {
		t.Errorf("HTML page: encoding %q, header %v; want br and the origin's ETag under its canonical key", p.Encoding, p.Header)
	}
	for name, p := range map[string]*Page{
		"small":          {Header: map[string][]string{"Content-Type": {"text/html"}}, Body: []byte("<p>hi</p>")},
		"image":          {Header: map[string][]string{"Content-Type": {"image/png"}}, Body: html},
		"origin-encoded": {Header: map[string][]string{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}}, Body: html},
		"incompressible": {Header: map[string][]string{"Content-Type": {"text/html"}}, Body: noise(4096)},
	} {
		newCodec(1 << 20).finishStored(p)
		if p.Encoding != encIdentity || len(p.Header["Etag"]) != 1 {
			t.Errorf("%s: encoding %q, ETag %q; want identity with a content ETag", name, p.Encoding, p.Header["Etag"])
		}
	}
}

// noise returns n bytes that do not compress.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// FuzzAcceptEncoding: any header parses, weights stay in 0..1000 or -1,
// and pick returns an index of the list.
func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"br, gzip", "gzip;q=0.5, *;q=0", "identity;q=0", "x-gzip;q=1.000", ";;,,", "br;q=0.", "*;q=1.0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := parseAcceptEncoding([]string{s})
		for _, w := range []int16{a.br, a.gzip, a.identity, a.other} {
			if w < -1 || w > 1000 {
				t.Fatalf("weight %d out of range for %q", w, s)
			}
		}
		encs := []string{encBr, encGzip, encIdentity}
		if i := a.pick(encs); i < 0 || i >= len(encs) {
			t.Fatalf("pick = %d", i)
		}
	})
}

// FuzzETagMatch: any If-None-Match value is scanned without panicking, and
// a value listing the ETag matches it.
func FuzzETagMatch(f *testing.F) {
	for _, s := range []string{`"a"`, `W/"a", "b"`, `*`, `"a,b"`, `"`, `W/`, `,,"x"`} {
		f.Add(s, `"a"`)
	}
	f.Fuzz(func(t *testing.T, header, tag string) {
		etagMatch([]string{header}, tag)
		if strings.ContainsRune(tag, '"') {
			return
		}
		etag := `"` + tag + `"`
		if !etagMatch([]string{header + ", " + etag}, etag) && !strings.Contains(header, `"`) {
			t.Fatalf("%q listing %s does not match it", header+", "+etag, etag)
		}
	})
}

// BenchmarkStoreCompression measures the write-time compression of a
// 10 KiB HTML page (brotli, reused writer) and reports the ratio.
func BenchmarkStoreCompression(b *testing.B) {
	var page []byte
	for i := 0; len(page) < 10<<10; i++ {
		page = append(page, fmt.Sprintf("<li class=\"post\"><a href=\"/posts/%d\">Post %d</a> by author %d, %d comments</li>\n", i*37%1000, i, i%13, i*7%50)...)
	}
	page = page[:10<<10]
	c := newCodec(1 << 20)
	var z []byte
	b.ReportAllocs()
	for b.Loop() {
		z, _ = c.encode(page, encBr)
	}
	b.ReportMetric(float64(len(z))/float64(len(page)), "ratio")
}
