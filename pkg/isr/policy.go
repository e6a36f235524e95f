package isr

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reasons a request or response bypasses the cache, as shown in the
// Cache-Status detail and logs.
const (
	reasonMethod    = "method"
	reasonAuth      = "authorization"
	reasonCookie    = "cookie"
	reasonRange     = "range"
	reasonUpgrade   = "upgrade"
	reasonRoute     = "route"
	reasonStatus    = "status"
	reasonSetCookie = "set-cookie"
	reasonPrivate   = "private"
	reasonNoStore   = "no-store"
	reasonVary      = "vary"
	reasonTooLarge  = "too-large"
	reasonAsset     = "next-asset"        // Next.js build assets: passed through
	reasonVariants  = "too-many-variants" // past MaxVariants for the page
	reasonMismatch  = "variant-mismatch"  // HTML for an RSC request, or the reverse
	reasonRSCParam  = "rsc-param"         // an RSC request whose _rsc Next would redirect
)

// bypassReason says why r, for the page path p and its variant v, must not
// be served from or stored in the shared cache, or "" if it may be.
func bypassReason(r *http.Request, p, variant string) string {
	switch {
	case nextAsset(p):
		return reasonAsset
	case rscMismatch(r):
		return reasonRSCParam
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return reasonMethod
	case r.Header.Get("Authorization") != "":
		return reasonAuth
	case r.Header.Get("Cookie") != "":
		return reasonCookie
	case r.Header.Get("Range") != "":
		return reasonRange
	case r.Header.Get("Upgrade") != "":
		return reasonUpgrade
	case len(variant) > maxVariantBytes:
		return reasonTooLarge
	}
	return ""
}

// storableStatus reports whether a response with this status may be stored.
func storableStatus(code int) bool {
	switch code {
	case http.StatusOK, http.StatusMovedPermanently, http.StatusPermanentRedirect,
		http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// unstorable says why an origin response must not be stored, or "".
func unstorable(resp *Response) string {
	if !storableStatus(resp.Status) {
		return reasonStatus
	}
	if len(resp.Header.Values("Set-Cookie")) > 0 {
		return reasonSetCookie
	}
	cc := cacheControl(resp.Header)
	if _, ok := cc["private"]; ok {
		return reasonPrivate
	}
	if _, ok := cc["no-store"]; ok {
		return reasonNoStore
	}
	if _, ok := cc["no-cache"]; ok {
		return reasonNoStore
	}
	if v, ok := cc["s-maxage"]; ok && v == "0" {
		return reasonNoStore
	}
	for _, v := range resp.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			// The key captures the variant headers; stored bodies are
			// identity-encoded for every client, so Accept-Encoding is
			// the only other variance the cache may ignore.
			if f = strings.TrimSpace(f); f != "" && !variantVary(f) {
				return reasonVary
			}
		}
	}
	return ""
}

// sameVaried reports whether an answer with header h, which the origin gave
// to the cache's own request for r's key, is right for r as well (RFC 9111
// §4.1): for every header its Vary names that the key does not capture, r
// has the value the cache's request had (none, or originUserAgent).
func sameVaried(h http.Header, r *http.Request) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			switch f = strings.TrimSpace(f); {
			case f == "" || variantVary(f):
			case f == "*":
				return false
			case strings.EqualFold(f, "User-Agent"):
				if r.UserAgent() != originUserAgent {
					return false
				}
			case r.Header.Get(f) != "":
				return false
			}
		}
	}
	return true
}

// cacheControl parses the Cache-Control directives of h, lower-cased.
func cacheControl(h http.Header) map[string]string {
	cc := map[string]string{}
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(d), "=")
			if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
				cc[k] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	return cc
}

// sMaxAge returns the origin's s-maxage, if it sent a valid positive one.
func sMaxAge(h http.Header) (time.Duration, bool) {
	v, ok := cacheControl(h)["s-maxage"]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	if n > maxSeconds {
		n = maxSeconds
	}
	return time.Duration(n) * time.Second, true
}

// storedHeaders lists the origin response headers kept with a page. Every
// other header (hop-by-hop, Set-Cookie, Cache-Control, Date, Age, ...) is
// dropped; the cache writes its own Cache-Control and Age.
var storedHeaders = []string{
	"Content-Type", "Content-Language", "Content-Encoding", "Content-Disposition",
	"Content-Security-Policy", "ETag", "Last-Modified", "Link", "Location",
	"Referrer-Policy", "Permissions-Policy", "Strict-Transport-Security",
	"X-Content-Type-Options", "X-Frame-Options", "X-Robots-Tag",
	"Access-Control-Allow-Origin", "Vary",
	// Next.js's client router reads these on RSC answers (how long to keep
	// a prefetch, whether a page is prerendered, where a rewrite went).
	"X-Nextjs-Stale-Time", "X-Nextjs-Prerender", "X-Nextjs-Postponed",
	"X-Nextjs-Rewritten-Path", "X-Nextjs-Rewritten-Query", "X-Nextjs-Matched-Path",
}

// storedHeader returns the subset of an origin response's headers that is
// stored with a page and served to every visitor.
func storedHeader(h http.Header) http.Header {
	out := make(http.Header, len(storedHeaders))
	for _, k := range storedHeaders {
		for _, v := range h.Values(k) {
			if validHeaderValue(v) {
				out[k] = append(out[k], v)
			}
		}
	}
	return out
}

// validHeaderValue reports whether v is a field value any HTTP peer may
// send: no control character but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
