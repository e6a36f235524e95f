package isr

import (
	"net/http"
	"strconv"
	"time"
)

// Cache states, as sent in X-ISR-Cache.
const (
	stateHit    = "HIT"
	stateStale  = "STALE"
	stateMiss   = "MISS"
	stateBypass = "BYPASS"
)

// setState sets X-ISR-Cache and the RFC 9211 Cache-Status header.
func setState(h http.Header, state, params string) {
	h.Set("X-ISR-Cache", state)
	h.Set("Cache-Status", cacheStatus(state, params))
}

// cacheStatus is the Cache-Status value of an answer in state.
func cacheStatus(state, params string) string {
	cs := "isrcache"
	if state == stateHit || state == stateStale {
		cs += "; hit"
	}
	if params != "" {
		cs += "; " + params
	}
	return cs
}

// writePage answers r with a stored page, in the representation (content
// coding) the client accepts best, or with 304 Not Modified when r's
// conditional headers say the client has it (HIT and STALE only). The
// headers come prepared with the page (see served): no copy, no
// compression per request.
func (h *Handler) writePage(w http.ResponseWriter, r *http.Request, e *Entry, state, params string) {
	s := e.served
	if s == nil {
		s = newServed(e.Page, h.hot.codec)
	}
	rp := s.pick(r.Header["Accept-Encoding"])
	ttl, hasTTL := int64(e.Fresh/time.Second), e.Fresh != Forever && state != stateMiss
	var stateV, ageV, statusV []string
	if params == "" {
		stateV, ageV, statusV = s.dynamic(state, int64(e.Age/time.Second), ttl, hasTTL)
	} else {
		if hasTTL {
			params = joinParams("ttl="+strconv.FormatInt(ttl, 10), params)
		}
		stateV, ageV, statusV = []string{state}, []string{strconv.FormatInt(int64(e.Age/time.Second), 10)},
			[]string{cacheStatus(state, params)}
	}
	code, src := e.Page.Status, rp.hdr
	if (state == stateHit || state == stateStale) && code == http.StatusOK &&
		notModified(r.Header, rp.etag, s.lastMod, h.opts.Now().Add(-e.Age)) {
		code, src = http.StatusNotModified, rp.hdr3
	}
	hdr := w.Header()
	for k, vs := range src {
		hdr[k] = vs
	}
	hdr["Age"], hdr["X-Isr-Cache"], hdr["Cache-Status"] = ageV, stateV, statusV
	w.WriteHeader(code)
	if code != http.StatusNotModified && r.Method != http.MethodHead {
		_, _ = w.Write(rp.body)
	}
}

// writeResponse answers r with an origin response that was not stored (or
// not stored yet): all the origin's end-to-end headers are kept.
func writeResponse(w http.ResponseWriter, r *http.Request, resp *Response, params string) {
	hdr := w.Header()
	for k, vs := range resp.Header {
		if !hopByHop[http.CanonicalHeaderKey(k)] {
			hdr[k] = append([]string(nil), vs...)
		}
	}
	hdr.Set("Age", "0")
	setState(hdr, stateMiss, params)
	writeBody(w, r, resp.Status, resp.Body)
}

func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// downstreamCacheControl is what the cache tells browsers and CDNs in front
// of it, as Next.js does for ISR pages.
func downstreamCacheControl(rev time.Duration) string {
	if rev == Never {
		return "s-maxage=31536000, stale-while-revalidate"
	}
	return "s-maxage=" + strconv.FormatInt(int64(rev/time.Second), 10) + ", stale-while-revalidate"
}

func joinParams(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// hopByHop are the headers that describe one connection, never a page.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true,
	"Upgrade": true, "Content-Length": true,
}
