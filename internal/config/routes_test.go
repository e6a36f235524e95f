package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/isrcache/isrcache/pkg/isr"
)

func TestParseRoutes(t *testing.T) {
	t.Parallel()
	src := `
routes:
  - pattern: /posts/{id}        # gorilla/mux path template
    revalidate: 30
    fallback: blocking
    paths: [/posts/1, /posts//2]
    query: [page]
    tags: [posts]
    bypass: false
  - pattern: /docs/{rest:.*}
    revalidate: "90s"
    fallback: false
    paths: [/docs/a/b]
  - pattern: /about
    revalidate: false
  - pattern: /api/{any:.*}
    bypass: true
  - pattern: /news
    revalidate: null
    fallback: "false"
    paths: [/news]
`
	got, err := ParseRoutes([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []isr.Route{
		{Pattern: "/posts/{id}", Revalidate: 30 * time.Second, Paths: []string{"/posts/1", "/posts/2"},
			Query: []string{"page"}, Tags: []string{"posts"}},
		{Pattern: "/docs/{rest:.*}", Revalidate: 90 * time.Second, Fallback: isr.FallbackFalse, Paths: []string{"/docs/a/b"}},
		{Pattern: "/about", Revalidate: isr.Never},
		{Pattern: "/api/{any:.*}", Bypass: true},
		{Pattern: "/news", Fallback: isr.FallbackFalse, Paths: []string{"/news"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseRoutesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"empty", "", "no routes (the file is empty)"},
		{"no routes key", "{}\n", "no routes"},
		{"empty list", "routes: []\n", "no routes"},
		{"unknown top field", "route:\n  - pattern: /a\n", "line 1: unknown field route"},
		{"unknown route field", "routes:\n  - pattern: /a\n    colour: red\n", "line 3: unknown field colour"},
		{"duplicate key", "routes:\n  - pattern: /a\n    pattern: /b\n", `line 3: mapping key "pattern" already defined`},
		{"two documents", "routes:\n  - pattern: /a\n---\nroutes: []\n", "more than one YAML document"},
		{"not a list", "routes: /a\n", "line 1"},
		{"no pattern", "routes:\n  - revalidate: 5\n", "line 2: route 1: pattern is required"},
		{"relative pattern", "routes:\n  - pattern: posts\n", `pattern "posts" must start with /`},
		{"unbalanced braces", "routes:\n  - pattern: /posts/{id\n", `line 2: route 1: pattern "/posts/{id"`},
		{"bad regexp", "routes:\n  - pattern: /a/{x:[}\n", `pattern "/a/{x:[}"`},
		{"capture group", "routes:\n  - pattern: /a/{x:(b)}\n", "capture groups"},
		{"revalidate zero", "routes:\n  - pattern: /a\n    revalidate: 0\n", `line 3: revalidate "0" must be positive seconds`},
		{"revalidate negative", "routes:\n  - pattern: /a\n    revalidate: -3\n", "must be positive seconds"},
		{"revalidate true", "routes:\n  - pattern: /a\n    revalidate: true\n", `revalidate "true"`},
		{"revalidate float", "routes:\n  - pattern: /a\n    revalidate: 1.5\n", `revalidate "1.5"`},
		{"revalidate word", "routes:\n  - pattern: /a\n    revalidate: soon\n", `revalidate "soon"`},
		{"revalidate list", "routes:\n  - pattern: /a\n    revalidate: [1]\n", "line 3: revalidate"},
		{"fallback true", "routes:\n  - pattern: /a\n    fallback: true\n", "line 3: fallback \"true\" must be blocking or false"},
		{"fallback word", "routes:\n  - pattern: /a\n    fallback: static\n", "must be blocking or false"},
		{"fallback false no paths", "routes:\n  - pattern: /a\n    fallback: false\n", "fallback: false needs paths"},
		{"bad path", "routes:\n  - pattern: /a/{x}\n    paths: [a/b]\n", "isr: bad path"},
		{"dot path", "routes:\n  - pattern: /a/{x}\n    paths: [/a/../b]\n", "dot segment"},
		{"path off pattern", "routes:\n  - pattern: /a/{x}\n    paths: [/b/1]\n", `path "/b/1" does not match pattern "/a/{x}"`},
		{"path with query", "routes:\n  - pattern: /a\n    paths: ['/a?x=1']\n", "isr: bad path"},
		{"empty query key", "routes:\n  - pattern: /a\n    query: ['']\n", `query key ""`},
		{"tag comma", "routes:\n  - pattern: /a\n    tags: ['a,b']\n", `tag "a,b"`},
		{"tag space", "routes:\n  - pattern: /a\n    tags: ['a b']\n", `tag "a b"`},
		{"tag long", "routes:\n  - pattern: /a\n    tags: [" + strings.Repeat("t", 129) + "]\n", "1 to 128 bytes"},
		{"bypass word", "routes:\n  - pattern: /a\n    bypass: maybe\n", "line 3"},
		{"second route", "routes:\n  - pattern: /a\n  - pattern: b\n", "line 3: route 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRoutes([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

// marshalRoutes writes routes back in the route file's format.
func marshalRoutes(routes []isr.Route) ([]byte, error) {
	type out struct {
		Pattern    string   `yaml:"pattern"`
		Revalidate any      `yaml:"revalidate,omitempty"`
		Fallback   any      `yaml:"fallback,omitempty"`
		Paths      []string `yaml:"paths,omitempty"`
		Query      []string `yaml:"query,omitempty"`
		Tags       []string `yaml:"tags,omitempty"`
		Bypass     bool     `yaml:"bypass,omitempty"`
	}
	var file struct {
		Routes []out `yaml:"routes"`
	}
	for _, r := range routes {
		o := out{Pattern: r.Pattern, Paths: r.Paths, Query: r.Query, Tags: r.Tags, Bypass: r.Bypass}
		switch r.Revalidate {
		case 0:
		case isr.Never:
			o.Revalidate = false
		default:
			o.Revalidate = r.Revalidate.String()
		}
		if r.Fallback == isr.FallbackFalse {
			o.Fallback = false
		}
		file.Routes = append(file.Routes, o)
	}
	return yaml.Marshal(file)
}

// checkRoute reports what is wrong with an accepted route, if anything:
// the engine's own check, and canonical paths.
func checkRoute(r isr.Route) error {
	for _, p := range r.Paths {
		if cp, err := isr.ParsePath(p); err != nil || cp != p {
			return fmt.Errorf("path %q is not canonical (%q, %v)", p, cp, err)
		}
	}
	return r.Check()
}

func FuzzParseRoutes(f *testing.F) {
	seeds := []string{
		"routes:\n  - pattern: /posts/{id}\n    revalidate: 30\n    fallback: blocking\n    paths: [/posts/1, /posts/2]\n    query: [page]\n    tags: [posts]\n    bypass: false\n",
		"routes:\n  - pattern: /docs/{rest:.*}\n    revalidate: \"1m30s\"\n    fallback: false\n    paths: [/docs/a]\n",
		"routes:\n  - pattern: /about\n    revalidate: false\n  - pattern: /api/{x}\n    bypass: true\n",
		"routes:\n  - {pattern: '/a/{n:[0-9]+}', paths: ['/a/1', '/a/%41'], tags: [x, y]}\n",
		"routes:\n  - pattern: /a\n    colour: red\n",
		"routes: [&a {pattern: /x}, *a]\n",
		"",
		"---\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := ParseRoutes(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			return
		}
		if len(routes) == 0 {
			t.Fatal("accepted a file without routes")
		}
		for _, r := range routes {
			if err := checkRoute(r); err != nil {
				t.Fatalf("accepted route %+v: %v", r, err)
			}
		}
		out, err := marshalRoutes(routes)
		if err != nil {
			t.Fatalf("marshal %+v: %v", routes, err)
		}
		again, err := ParseRoutes(out)
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
		}
		if !reflect.DeepEqual(again, routes) {
			t.Fatalf("round trip changed routes:\ngot  %+v\nwant %+v", again, routes)
		}
	})
}
