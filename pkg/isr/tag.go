package isr

import (
	"fmt"
	"net/http"
	"strings"
)

// Tag limits: an origin cannot grow the tag index without bound.
const (
	// MaxTagBytes is the longest tag.
	MaxTagBytes = 128
	// maxTags is the most tags a page keeps.
	maxTags = 64
)

// CheckTag returns an error saying what is wrong with the tag t, or nil if
// it is one a page can carry: 1 to MaxTagBytes bytes of printable ASCII
// without spaces or commas (Cache-Tag headers are comma separated). Route
// rules, revalidations and isrctl all check tags with it.
func CheckTag(t string) error {
	if t == "" || len(t) > MaxTagBytes || !printable(t) || strings.Contains(t, ",") {
		return fmt.Errorf("tag %q must be 1 to %d bytes of printable ASCII without spaces or commas", clip(t), MaxTagBytes)
	}
	return nil
}

// printable reports whether s is printable ASCII without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// pageTags merges the route's tags with the origin's Cache-Tag and
// X-ISR-Tags headers (comma separated), deduplicated, in first-seen order.
// Invalid tags are dropped.
func pageTags(route []string, h http.Header) []string {
	var tags []string
	seen := map[string]bool{}
	add := func(t string) {
		t = strings.TrimSpace(t)
		if seen[t] || len(tags) >= maxTags || CheckTag(t) != nil {
			return
		}
		seen[t] = true
		tags = append(tags, t)
	}
	for _, t := range route {
		add(t)
	}
	for _, name := range []string{"Cache-Tag", "X-ISR-Tags"} {
		for _, v := range h.Values(name) {
			for _, t := range strings.Split(v, ",") {
				add(t)
			}
		}
	}
	return tags
}
