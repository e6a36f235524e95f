package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// recorder captures the status and size of a response for the request log.
// Unwrap lets http.ResponseController reach the connection's Flusher, which
// streaming responses proxied from the origin need.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	route  route // which kind of route answered (see marked)
}

// code returns the status sent, or 200 if the handler wrote nothing (as
// net/http then sends).
func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher for handlers that assert it directly.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequest writes the request's log line. It logs no header (so never
// Authorization or Cookie) and hides the value of any secret query
// parameter. Probes and metrics scrapes are logged at debug level.
func (s *Server) logRequest(r *http.Request, rec *recorder, d time.Duration) {
	level := zapcore.InfoLevel
	switch r.URL.Path {
	case "/healthz", "/livez", "/readyz", "/metrics":
		level = zapcore.DebugLevel
	}
	ce := s.log.Check(level, "request")
	if ce == nil {
		return
	}
	status := rec.code()
	ce.Write(
		zap.String("method", r.Method),
		zap.String("path", logPath(r.URL)),
		zap.String("cache", headerValue(rec.Header(), "X-Isr-Cache")),
		zap.Int("status", status),
		zap.Int64("bytes", rec.bytes),
		zap.Duration("duration", d),
		zap.String("remote", r.RemoteAddr),
	)
}

// logPath returns the path and query of u with the value of every "secret"
// parameter replaced by REDACTED. The query of the token endpoints is not
// logged at all, only its length: it is where a token is sent, and a
// malformed one could hide it anywhere. (Whatever slips through is still
// removed from the output by the logger's redact.Scrubber.)
func logPath(u *url.URL) string {
	p := u.EscapedPath()
	switch {
	case u.RawQuery == "":
		return p
	case u.Path == "/api/revalidate" || u.Path == "/api/inspect":
		return p + "?(" + strconv.Itoa(len(u.RawQuery)) + " bytes not logged)"
	}
	return p + "?" + redactQuery(u.RawQuery)
}

// redactQuery hides the values of the secret parameters of a raw query. A
// parameter whose name does not decode is hidden whole, since it could be
// a mistyped secret.
func redactQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, part := range parts {
		name, _, _ := strings.Cut(part, "=")
		dec, err := url.QueryUnescape(name)
		switch {
		case err != nil:
			parts[i] = "REDACTED"
		case strings.EqualFold(strings.TrimSpace(dec), "secret"):
			parts[i] = name + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

// headerValue returns the first value of the header with the canonical
// name key, or "": Header.Get would canonicalise (and allocate) each time.
func headerValue(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
