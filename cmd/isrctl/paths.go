package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/isrcache/isrcache/pkg/isr"
)

// maxLineBytes bounds one line of a path list.
const maxLineBytes = 64 << 10

// checkPath validates a page path with an optional query ("/posts/1",
// "/search?q=go") as the server will, and returns it with the path in its
// canonical form. It refuses what the server would refuse, so that a bad
// path is reported before anything is sent.
func checkPath(raw string) (string, error) {
	p, q, hasQuery := strings.Cut(raw, "?")
	cp, err := isr.ParsePath(p)
	if err != nil {
		return "", err
	}
	if !hasQuery {
		return cp, nil
	}
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c == 0x7f || c == '#' {
			return "", fmt.Errorf("%w %q: the query has a space, a control character or a #", isr.ErrBadPath, raw)
		}
	}
	if _, err := url.ParseQuery(q); err != nil {
		return "", fmt.Errorf("%w %q: malformed query", isr.ErrBadPath, raw)
	}
	if q == "" {
		return cp, nil
	}
	return cp + "?" + q, nil
}

// urlPath returns the path and query of an absolute http or https URL, such
// as a sitemap's <loc>, checked by checkPath. Its host is ignored: the page
// is asked of -server.
func urlPath(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", clip(raw))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http:// or https:// URL", clip(raw))
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return checkPath(p)
}

// pathOrURL accepts a page path or, for lists copied from elsewhere, an
// absolute http(s) URL whose path and query are taken.
func pathOrURL(raw string) (string, error) {
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		return urlPath(raw)
	}
	return checkPath(raw)
}

// readLines calls fn with each line of r that is not blank or a # comment,
// trimmed, and its line number.
func readLines(r io.Reader, fn func(line string, n int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(line, n); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("line %d: longer than %d bytes", n+1, maxLineBytes)
	}
	return sc.Err()
}

// dedupe returns ps without repeats, in first-seen order.
func dedupe(ps []string) []string {
	seen := make(map[string]bool, len(ps))
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
