package isr

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "/", want: "/"},
		{in: "/posts/1", want: "/posts/1"},
		{in: "/posts/1/", want: "/posts/1/"},
		{in: "/a//b", want: "/a/b"},
		{in: "/%41bc", want: "/Abc"},
		{in: "/hello world", want: "/hello%20world"},
		{in: "/caf%C3%A9", want: "/caf%C3%A9"},
		{in: "/100%25", want: "/100%25"},
		{in: "/a%2Fb", want: "/a%2Fb"},
		{in: "/a%2fb", want: "/a%2Fb"},
		{in: "/a%3Bb", want: "/a%3Bb"},
		{in: "/a;b", want: "/a;b"},
		{in: "/%7Euser/%61", want: "/~user/a"},
		{in: "/x%2F%2Fy//z", want: "/x%2F%2Fy/z"},
		{in: "/caf\xc3\xa9", want: "/caf%C3%A9"},
		{in: "/a%20b%3F%23", want: "/a%20b%3F%23"},
		{in: "/a%5Cb", bad: true},
		{in: "/%2E%2E/x", bad: true},
		{in: "/a/%2e", bad: true},
		{in: "/a%", bad: true},
		{in: "/a%2", bad: true},
		{in: "", bad: true},
		{in: "posts/1", bad: true},
		{in: "//evil.example/x", bad: true},
		{in: "/\\evil", bad: true},
		{in: "/%2e%2e/admin", bad: true},
		{in: "/a/../b", bad: true},
		{in: "/a/./b", bad: true},
		{in: "/a%0d%0aSet-Cookie:x", bad: true},
		{in: "/a\x00", bad: true},
		{in: "/a%zz", bad: true},
		{in: "/a#frag", bad: true},
		{in: "/a?b=c", bad: true},
		{in: "http://evil/x", bad: true},
		{in: "/" + strings.Repeat("a", maxPathBytes), bad: true},
	} {
		got, err := ParsePath(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadPath) {
				t.Errorf("ParsePath(%q) = %q, %v; want ErrBadPath", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		keep []string
		want string
	}{
		{"page=2&utm_source=x", []string{"page"}, "page=2"},
		{"b=2&a=1&a=0", []string{"a", "b"}, "a=0&a=1&b=2"},
		{"utm=1", nil, ""},
		{"a=%3Cscript%3E", []string{"a"}, "a=%3Cscript%3E"},
		{"a=1;b=2", []string{"a", "b"}, ""},
	} {
		if got := canonicalQuery(tc.raw, tc.keep); got != tc.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, want %q", tc.raw, tc.keep, got, tc.want)
		}
	}
}

// FuzzParsePath checks that canonical paths are idempotent, bounded, free of
// control characters and dot segments, and never name another host.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/", "/posts/1", "//x", "/%2e%2e/", "/a%0a", "/caf%C3%A9", "/a//b/", "/a%2Fb", "/a%3bb;c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ParsePath(raw)
		if err != nil {
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("ParsePath(%q) error %v does not wrap ErrBadPath", raw, err)
			}
			return
		}
		if p2, err := ParsePath(p); err != nil || p2 != p {
			t.Fatalf("ParsePath not idempotent: %q -> %q -> %q, %v", raw, p, p2, err)
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
			t.Fatalf("ParsePath(%q) = %q: not a local absolute path", raw, p)
		}
		if strings.ContainsAny(p, "\x00\r\n?#\\") {
			t.Fatalf("ParsePath(%q) = %q: contains a forbidden byte", raw, p)
		}
		// Escapes of reserved characters survive: the path means to an
		// origin what raw meant.
		for _, esc := range []string{"%2F", "%3B", "%3F", "%25"} {
			if n := strings.Count(strings.ToUpper(raw), esc); strings.Count(p, esc) < n {
				t.Fatalf("ParsePath(%q) = %q: lost an escaped %s", raw, p, esc)
			}
		}
	})
}

func TestBadRoutePatternIsAnError(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/a/{x:(b)}", "/a/{x", ""} {
		if _, err := compileRoutes([]Route{{Pattern: p}}); err == nil {
			t.Errorf("compileRoutes(%q) succeeded, want an error", p)
		}
	}
}

// FuzzResponsePolicy checks the header-driven decisions on arbitrary origin
// headers: no panic, Set-Cookie never stored, tags bounded and printable.
func FuzzResponsePolicy(f *testing.F) {
	f.Add("public, s-maxage=10", "Accept-Encoding", "posts, post-1", "text/html")
	f.Add("private", "*", "a,,b, c d", "x\x00y")
	f.Add("s-maxage=99999999999999999999", "Cookie", strings.Repeat("t,", 100), "")
	f.Fuzz(func(t *testing.T, cc, vary, tags, ctype string) {
		h := http.Header{"Cache-Control": {cc}, "Vary": {vary}, "Cache-Tag": {tags},
			"Content-Type": {ctype}, "Set-Cookie": {"sid=1"}}
		if why := unstorable(&Response{Status: 200, Header: h}); why == "" {
			t.Fatalf("a response with Set-Cookie is storable (Cache-Control %q)", cc)
		}
		h.Del("Set-Cookie")
		_ = unstorable(&Response{Status: 200, Header: h})
		if d, ok := sMaxAge(h); ok && d <= 0 {
			t.Fatalf("sMaxAge(%q) = %v", cc, d)
		}
		st := storedHeader(h)
		if st.Get("Set-Cookie") != "" || st.Get("Cache-Control") != "" {
			t.Fatalf("storedHeader kept %v", st)
		}
		for _, v := range st.Values("Content-Type") {
			if !validHeaderValue(v) {
				t.Fatalf("storedHeader kept an invalid value %q", v)
			}
		}
		got := pageTags([]string{"route"}, h)
		if len(got) > maxTags {
			t.Fatalf("%d tags", len(got))
		}
		for _, tag := range got {
			if CheckTag(tag) != nil {
				t.Fatalf("bad tag %q from %q", tag, tags)
			}
		}
	})
}
