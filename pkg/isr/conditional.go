package isr

import (
	"net/http"
	"strings"
	"time"
)

// notModified reports whether a GET or HEAD with request header h may be
// answered 304 Not Modified for a representation with this ETag, the
// page's Last-Modified (zero if none) and the time it was written, as
// RFC 9110 §13.2.2 orders the preconditions: If-None-Match when present
// (weak comparison; "*" matches any representation); else
// If-Modified-Since, ignored unless it is one valid HTTP-date, compared
// with Last-Modified, else the time the page was written (RFC 9111
// §4.3.2). The caller checks the method and that the answer would be 200.
func notModified(h http.Header, etag string, lastMod, written time.Time) bool {
	if inm := h["If-None-Match"]; len(inm) > 0 {
		return etag != "" && etagMatch(inm, etag)
	}
	ims := h["If-Modified-Since"]
	if len(ims) != 1 {
		return false
	}
	t, err := http.ParseTime(ims[0])
	if err != nil {
		return false
	}
	if lastMod.IsZero() {
		lastMod = written
	}
	return !lastMod.Truncate(time.Second).After(t)
}

// etagMatch reports whether one of the entity tags listed in the
// If-None-Match field lines matches etag by weak comparison (the opaque
// tags are equal, W/ prefixes aside), or the list is "*". A malformed
// member is skipped up to the next comma; an unterminated quote ends the
// line.
func etagMatch(lines []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, line := range lines {
		for {
			line = strings.TrimLeft(line, " \t,")
			if line == "" {
				break
			}
			if line[0] == '*' {
				return true
			}
			line = strings.TrimPrefix(line, "W/")
			if line == "" || line[0] != '"' {
				// Not an entity-tag: skip it to the next member.
				i := strings.IndexByte(line, ',')
				if i < 0 {
					break
				}
				line = line[i:]
				continue
			}
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				break
			}
			if line[:end+2] == want {
				return true
			}
			line = line[end+2:]
		}
	}
	return false
}
