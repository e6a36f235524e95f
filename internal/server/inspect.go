package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Inspection is the body of GET /api/inspect: one page's stored state,
// read from the shared store (not a replica's hot cache).
type Inspection struct {
	Key        string `json:"key"`
	Status     int    `json:"status"`
	Generation int64  `json:"generation"`
	// AgeSeconds is the time since the page was written, by the store's
	// clock.
	AgeSeconds float64 `json:"age_seconds"`
	// FreshSeconds is how long the page stays fresh from now: 0 once it is
	// stale, nil when it never goes stale by time.
	FreshSeconds *float64 `json:"fresh_seconds"`
	Stale        bool     `json:"stale"`
	// RevalidateSeconds is the page's revalidate time; nil means "never":
	// fresh until revalidated on demand.
	RevalidateSeconds *float64 `json:"revalidate_seconds"`
	Tags              []string `json:"tags"`
	// SizeBytes and BodySHA256 describe the body as stored: encoded
	// with Encoding ("br" when the cache compressed it, else empty).
	SizeBytes  int         `json:"size_bytes"`
	Encoding   string      `json:"encoding,omitempty"`
	BodySHA256 string      `json:"body_sha256,omitempty"`
	Headers    http.Header `json:"headers"`
}

// serveInspect answers GET /api/inspect?path=/posts/1 with the stored state
// of the page under path. It is guarded by the revalidation token.
func (s *Server) serveInspect(w http.ResponseWriter, r *http.Request) {
	if !s.guard(w, r, "inspection", http.MethodGet) {
		return
	}
	paths, ok := r.URL.Query()["path"]
	if !ok || len(paths) != 1 || paths[0] == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "give exactly one path: /api/inspect?path=/posts/1")
		return
	}
	key, e, err := s.cache.Inspect(r.Context(), paths[0])
	switch {
	case errors.Is(err, isr.ErrBadPath):
		writeError(w, http.StatusBadRequest, codeBadPath, err.Error())
		return
	case errors.Is(err, isr.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"code": codeNotCached, "message": "not cached", "key": key})
		return
	case err != nil:
		s.log.Error("inspect failed", zap.String("key", key), zap.Error(err))
		writeError(w, http.StatusInternalServerError, codeStoreFailed, "reading the store failed; the details are in the replica's log")
		return
	}
	writeJSON(w, http.StatusOK, newInspectResponse(key, e))
}

// newInspectResponse describes the entry e stored under key.
func newInspectResponse(key string, e *isr.Entry) Inspection {
	p := e.Page
	resp := Inspection{
		Key:        key,
		Status:     p.Status,
		Generation: p.Gen,
		AgeSeconds: seconds(e.Age),
		Stale:      e.Stale(),
		Tags:       p.Tags,
		SizeBytes:  len(p.Body),
		Encoding:   p.Encoding,
		Headers:    p.Header,
	}
	if e.Fresh != isr.Forever {
		f := seconds(max(e.Fresh, 0))
		resp.FreshSeconds = &f
	}
	if p.Revalidate != isr.Never {
		rv := seconds(p.Revalidate)
		resp.RevalidateSeconds = &rv
	}
	if len(p.Body) > 0 {
		sum := sha256.Sum256(p.Body)
		resp.BodySHA256 = hex.EncodeToString(sum[:])
	}
	if resp.Tags == nil {
		resp.Tags = []string{}
	}
	if resp.Headers == nil {
		resp.Headers = http.Header{}
	}
	return resp
}

// seconds returns d in seconds, rounded to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}
