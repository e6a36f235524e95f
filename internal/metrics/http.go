package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Label values of the request metrics.
var (
	cacheStates = []string{"HIT", "STALE", "MISS", "BYPASS", "NONE"}
	codeClasses = []string{"2xx", "3xx", "4xx", "5xx"}
	// bypassReasons are the Cache-Status details of pkg/isr's bypass and
	// not-stored answers.
	bypassReasons = []string{
		"method", "authorization", "cookie", "range", "upgrade", "route",
		"status", "set-cookie", "private", "no-store", "vary", "too-large",
		"next-asset", "too-many-variants", "variant-mismatch", "rsc-param",
	}
	revalidateResults = []isr.Result{
		isr.ResultRegenerated, isr.ResultStale, isr.ResultDeleted, isr.ResultNotCached, isr.ResultFailed,
	}
	revalidateCodes = []string{"200", "400", "401", "404", "405", "413", "429", "500"}
)

// Served counts and times one request the cache answered, by its
// X-ISR-Cache state and status class, and counts bypasses by their
// Cache-Status detail. It implements the request hook of internal/server.
func (m *Metrics) Served(_ *http.Request, state, cacheStatus string, code int, d time.Duration) {
	state = oneOf(state, cacheStates[:4])
	if state == "other" {
		state = "NONE"
	}
	m.requests.WithLabelValues(state, codeClass(code)).Inc()
	m.requestDuration.WithLabelValues(state).Observe(d.Seconds())
	if reason, ok := bypassReason(state, cacheStatus); ok {
		m.bypass.WithLabelValues(reason).Inc()
	}
}

// codeClass returns the class of an HTTP status: "2xx" to "5xx". A status
// outside 200-599 (none was written, or an interim one) counts as 2xx, as
// net/http sends 200 for a handler that wrote nothing.
func codeClass(code int) string {
	if code < 200 || code > 599 {
		return "2xx"
	}
	return codeClasses[code/100-2]
}

// bypassReason returns the reason an answer in state with the Cache-Status
// header cs was not served from the cache nor stored, if it was: the
// detail of a BYPASS, or of a MISS that was not stored. Unknown details are
// "other".
func bypassReason(state, cs string) (string, bool) {
	if state != "BYPASS" && state != "MISS" {
		return "", false
	}
	for _, param := range strings.Split(cs, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(param), "detail=")
		if !ok {
			continue
		}
		if state == "MISS" {
			if v, ok = strings.CutPrefix(v, "not-stored-"); !ok {
				return "", false // a MISS for another reason (origin-error)
			}
		}
		return oneOf(v, bypassReasons), true
	}
	if state == "BYPASS" {
		return "other", true
	}
	return "", false
}

// RevalidateRequest counts one answer of POST /api/revalidate by its
// status code. It implements the revalidation hook of internal/server.
func (m *Metrics) RevalidateRequest(code int) {
	m.revalidateRequests.WithLabelValues(oneOf(strconv.Itoa(code), revalidateCodes)).Inc()
}

// Revalidated counts the result of each page a revalidation named. It
// implements the revalidation hook of internal/server.
func (m *Metrics) Revalidated(results []isr.PageResult) {
	for _, pr := range results {
		m.revalidations.WithLabelValues(oneOf(pr.Result, revalidateResults)).Inc()
	}
}
