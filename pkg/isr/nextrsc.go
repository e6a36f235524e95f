package isr

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Next.js's "_rsc" query value is a hash of an RSC request's router headers
// (Next-Router-Prefetch, Next-Router-Segment-Prefetch,
// Next-Router-State-Tree, Next-Url), so that caches that ignore Vary still
// key RSC answers apart. Next 16 checks it and answers a request whose
// value does not match with a 307 to the right one.
//
// Next-Url, the page the browser is on, changes the hash but not the
// answer: Next drops it unless the page can be intercepted, and then says
// so in Vary. So isrcache keys RSC answers without Next-Url and _rsc (one
// stored prefetch for a page, however many pages link to it), checks the
// visitor's _rsc as Next does (a mismatch goes to the origin, which
// redirects), and sends the origin the _rsc of its own request.

// headerNextURL is the request header of the page the browser is on.
const headerNextURL = "Next-Url"

// rscHashes returns Next's _rsc values for an RSC request with header h:
// the SHA-256 form and the legacy form that clients without WebCrypto
// send. Both are "" for a request with no router header.
func rscHashes(h http.Header) (sha, legacy string) {
	prefetch := h.Get("Next-Router-Prefetch")
	if prefetch != "1" && prefetch != "2" && prefetch != "3" {
		prefetch = ""
	}
	segment, tree, nextURL := h.Get("Next-Router-Segment-Prefetch"), h.Get("Next-Router-State-Tree"), h.Get(headerNextURL)
	if prefetch == "" && segment == "" && tree == "" && nextURL == "" {
		return "", ""
	}
	orZero := func(s string) string {
		if s == "" {
			return "0"
		}
		return s
	}
	input := strings.Join([]string{orZero(prefetch), orZero(segment), orZero(tree), orZero(nextURL)}, ",")
	sum := sha256.Sum256([]byte(input))
	return base64.RawURLEncoding.EncodeToString(sum[:12]), legacyRSCHash(input)
}

// legacyRSCHash is Next's hexHash: djb2 over UTF-16 code units, 32 bits,
// in base 36, its first five digits.
func legacyRSCHash(s string) string {
	h := uint32(5381)
	for _, c := range utf16.Encode([]rune(s)) {
		h = h*33 + uint32(c)
	}
	out := strconv.FormatUint(uint64(h), 36)
	return out[:min(5, len(out))]
}

// rscMismatch reports whether r is an RSC request whose _rsc is not the
// one Next computes from its headers (or is missing): Next answers it with
// a redirect, so it is passed to the origin, never served from the cache.
func rscMismatch(r *http.Request) bool {
	if r.Header.Get("Rsc") != "1" {
		return false
	}
	got, ok := "", false
	if strings.Contains(r.URL.RawQuery, rscParam) {
		q := r.URL.Query()
		got, ok = q.Get(rscParam), q.Has(rscParam)
	}
	sha, legacy := rscHashes(r.Header)
	return !ok || (got != sha && got != legacy)
}
