package isr

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
)

// MaxPathBytes is the longest page path accepted, in bytes.
const MaxPathBytes = 2048

// ParsePath returns the canonical form of a page path: absolute, with dot
// segments refused, repeated slashes folded and percent-escapes normalised,
// without query. It returns an error wrapping ErrBadPath for anything else:
// an empty or relative path, a scheme or host ("//evil.example"), a
// backslash, a control character (raw or escaped), a dot segment, a fragment
// or a bad escape. ParsePath is idempotent.
func ParsePath(raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrBadPath, clip(raw), why)
	}
	switch {
	case raw == "":
		return bad("empty")
	case len(raw) > MaxPathBytes:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathBytes))
	case raw[0] != '/':
		return bad("must start with /")
	case strings.HasPrefix(raw, "//"):
		return bad("must not start with //")
	case strings.ContainsAny(raw, "\\#?"):
		return bad(`must not contain \, # or ?`)
	}
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return bad("invalid escape")
	}
	for i := 0; i < len(dec); i++ {
		if c := dec[i]; c < 0x20 || c == 0x7f {
			return bad("control character")
		}
	}
	for _, seg := range strings.Split(dec, "/") {
		if seg == "." || seg == ".." {
			return bad("dot segment")
		}
	}
	clean := path.Clean(dec)
	if strings.HasSuffix(dec, "/") && clean != "/" {
		clean += "/"
	}
	return (&url.URL{Path: clean}).EscapedPath(), nil
}

// canonicalQuery keeps the parameters named in keep, sorted by name and
// then by value, in the canonical encoding. Everything else is dropped.
func canonicalQuery(raw string, keep []string) string {
	if raw == "" || len(keep) == 0 {
		return ""
	}
	in, _ := url.ParseQuery(raw) // keeps the pairs that parse
	out := url.Values{}
	for _, k := range keep {
		if vs, ok := in[k]; ok {
			vs = append([]string(nil), vs...)
			sort.Strings(vs)
			out[k] = vs
		}
	}
	return out.Encode()
}

// joinKey builds a cache key from a canonical path and query.
func joinKey(p, q string) string {
	if q == "" {
		return p
	}
	return p + "?" + q
}

// splitKey is the inverse of joinKey.
func splitKey(key string) (p, q string) {
	p, q, _ = strings.Cut(key, "?")
	return p, q
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
