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
	}
	revalidateResults = []string{
		isr.ResultRegenerated, isr.ResultStale, isr.ResultDeleted, isr.ResultNotCached, isr.ResultFailed,
	}
	revalidateCodes = []string{"200", "400", "401", "404", "405", "413", "500"}
)

// Middleware counts and times the requests next answers, by the
// X-ISR-Cache state and status class of the answer, and counts bypasses
// by their Cache-Status detail. next is the cache (the catch-all route).
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			state := oneOf(w.Header().Get("X-ISR-Cache"), cacheStates[:4])
			if state == "other" {
				state = "NONE"
			}
			m.requests.WithLabelValues(state, codeClass(rec.code())).Inc()
			m.requestDuration.WithLabelValues(state).Observe(time.Since(start).Seconds())
			if reason, ok := bypassReason(state, w.Header().Get("Cache-Status")); ok {
				m.bypass.WithLabelValues(reason).Inc()
			}
		}()
		next.ServeHTTP(rec, r)
	})
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

// statusRecorder remembers the status code a handler sent. Unwrap lets
// http.ResponseController reach the connection (flushes of streamed
// answers, deadlines).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Flush implements http.Flusher for handlers that assert it directly.
func (r *statusRecorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// code returns the status sent, or 200 if the handler sent nothing.
func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
