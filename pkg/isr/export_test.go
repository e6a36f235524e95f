package isr

import "net/http"

// RSCParam is the _rsc value Next.js expects for an RSC request with header
// h, for the tests of package isr_test.
func RSCParam(h http.Header) string {
	sha, _ := rscHashes(h)
	return sha
}
