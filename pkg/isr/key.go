package isr

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
)

// maxPathBytes is the longest page path accepted, in bytes.
const maxPathBytes = 2048

// ParsePath returns the canonical form of a page path: absolute, with dot
// segments refused and repeated slashes folded, without query. Escapes are
// normalised without changing what the path means to an origin: an escaped
// unreserved character (letter, digit, "-", ".", "_", "~") is decoded, any
// other escape is kept, in upper case, so "/a%2Fb" stays "/a%2Fb" (not
// "/a/b") and "/a%3Bb" stays "/a%3Bb" (not "/a;b"); a raw byte that may not
// appear in a path (a space, non-ASCII) is escaped. The key and the origin
// request keep encoded reserved characters byte for byte, so a visitor never
// gets the page of a path that means something else.
//
// It returns an error wrapping ErrBadPath for anything else: an empty or
// relative path, a scheme or host ("//evil.example"), a backslash (raw or
// escaped), a control character (raw or escaped), a dot segment (raw or
// escaped), a fragment or a bad escape. ParsePath is idempotent.
func ParsePath(raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrBadPath, clip(raw), why)
	}
	switch {
	case raw == "":
		return bad("empty")
	case len(raw) > maxPathBytes:
		return bad(fmt.Sprintf("longer than %d bytes", maxPathBytes))
	case raw[0] != '/':
		return bad("must start with /")
	case strings.HasPrefix(raw, "//"):
		return bad("must not start with //")
	case strings.ContainsAny(raw, "\\#?"):
		return bad(`must not contain \, # or ?`)
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c, escaped := raw[i], false
		if c == '%' {
			d, ok := unhexPair(raw[i+1:])
			if !ok {
				return bad("invalid escape")
			}
			c, escaped = d, true
			i += 2
		}
		switch {
		case c < 0x20 || c == 0x7f:
			return bad("control character")
		case c == '\\':
			return bad("escaped backslash")
		case isUnreserved(c) || !escaped && isPathChar(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	esc := b.String()
	for _, seg := range strings.Split(esc, "/") {
		if seg == "." || seg == ".." {
			return bad("dot segment")
		}
	}
	clean := path.Clean(esc)
	if strings.HasSuffix(esc, "/") && clean != "/" {
		clean += "/"
	}
	return clean, nil
}

// unhexPair decodes the two hex digits that start s.
func unhexPair(s string) (byte, bool) {
	if len(s) < 2 {
		return 0, false
	}
	hi, ok1 := unhex(s[0])
	lo, ok2 := unhex(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isUnreserved reports whether c is an RFC 3986 unreserved character,
// which means the same escaped or not.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar reports whether c may appear unescaped in a path: "/" and
// RFC 3986's pchar (unreserved, sub-delims, ":" and "@").
func isPathChar(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("/!$&'()*+,;=:@", c) >= 0
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
