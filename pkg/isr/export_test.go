package isr

import "net/http"

// RSCParam is the _rsc value Next.js expects for an RSC request with header
// h, for the tests of package isr_test.
func RSCParam(h http.Header) string {
	sha, _ := rscHashes(h)
	return sha
}

// EagerJoined returns how many eager revalidations of page wait for the
// regeneration queued behind the running one.
func EagerJoined(h *Handler, page string) int {
	h.eagers.mu.Lock()
	defer h.eagers.mu.Unlock()
	if s := h.eagers.m[page]; s != nil && s.next != nil {
		return s.next.joined
	}
	return 0
}
