package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/isrcache/isrcache/pkg/isr"
)

// Limits of one revalidation request.
const (
	// MaxRevalidateBody is the largest accepted JSON body, in bytes.
	MaxRevalidateBody = 64 << 10
	// MaxRevalidateTargets is the most paths and tags, together, that one
	// request may name.
	MaxRevalidateTargets = 1000
)

// revalidateResponse is the body of a revalidation's answer.
type revalidateResponse struct {
	Revalidated bool             `json:"revalidated"`
	Now         int64            `json:"now"`
	Results     []isr.PageResult `json:"results"`
	Wait        *waitResult      `json:"wait,omitempty"` // with wait=all
}

// serveRevalidate answers POST /api/revalidate.
func (s *Server) serveRevalidate(w http.ResponseWriter, r *http.Request) {
	if !s.guard(w, r, "revalidation", http.MethodPost) {
		return
	}
	// An eager revalidation of many pages can outlast the server's
	// WriteTimeout; the caller is authenticated, so lift it for this answer.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	rv, waitAll, err := readRevalidation(w, r)
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{http.StatusBadRequest, codeBadRequest, err.Error()}
		}
		writeError(w, he.status, he.code, he.msg)
		return
	}
	results, err := s.cache.Revalidate(r.Context(), rv)
	if err == nil {
		s.observer.Revalidated(results)
	}
	switch {
	case errors.Is(err, isr.ErrBadPath):
		writeError(w, http.StatusBadRequest, codeBadPath, err.Error())
		return
	case err != nil:
		s.log.Error("revalidate failed", zap.Error(err))
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"revalidated": false, "now": s.now().UnixMilli(), "code": codeRevalidateFailed, "message": msgSeeLog,
		})
		return
	}
	resp := revalidateResponse{Revalidated: true, Now: s.now().UnixMilli(), Results: results}
	if resp.Results == nil {
		resp.Results = []isr.PageResult{}
	}
	status := http.StatusOK
	for i, pr := range results {
		if pr.Error != "" {
			s.log.Warn("revalidate page failed", zap.String("key", pr.Key), zap.String("result", string(pr.Result)),
				zap.String("error", pr.Error))
			resp.Results[i].Error = msgPageFailed
		}
		if pr.Result == isr.ResultFailed {
			resp.Revalidated, status = false, http.StatusInternalServerError
		}
	}
	if waitAll {
		resp.Wait = s.confirm(r.Context())
		if !resp.Wait.Complete && status == http.StatusOK {
			status = http.StatusGatewayTimeout
		}
	}
	writeJSON(w, status, resp)
}

// guard answers r and returns false unless r may go on to the token
// endpoint of what ("revalidation"): the endpoint is enabled, the method is
// method (or HEAD too, for GET), the client is within its rate limit, the
// token is valid, and the replica is within its overall rate limit.
func (s *Server) guard(w http.ResponseWriter, r *http.Request, what, method string) bool {
	now := s.clock()
	secret, previous := s.tokens()
	switch {
	case secret == "":
		writeError(w, http.StatusNotFound, codeDisabled, what+" is disabled (ISR_REVALIDATE_SECRET is empty)")
		return false
	case r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead):
		allow := method
		if method == http.MethodGet {
			allow = "GET, HEAD"
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, codeMethod, "use "+method)
		return false
	}
	if wait := s.limit.client(r, now); wait > 0 {
		writeTooMany(w, wait)
		return false
	}
	if !authorized(r, secret, previous) {
		writeError(w, http.StatusUnauthorized, codeInvalidToken, "Invalid token")
		return false
	}
	if wait := s.limit.overall(now); wait > 0 {
		writeTooMany(w, wait)
		return false
	}
	return true
}

// authorized reports whether r presents the secret or the previous one.
// Both are always compared, so that timing does not tell which matched.
func authorized(r *http.Request, secret, previous string) bool {
	tok := token(r)
	cur, prev := tokenMatches(tok, secret), tokenMatches(tok, previous)
	return cur || prev
}

// token returns the token a request presents: from an Authorization Bearer
// header if there is one, else from the secret query parameter.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(tok)
	}
	return r.URL.Query().Get("secret")
}

// tokenMatches compares got with want in constant time. Both are hashed
// first, so that neither their contents nor their lengths leak through
// timing (subtle.ConstantTimeCompare returns early on different lengths).
// An empty want matches nothing.
func tokenMatches(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && got != "" && want != ""
}

// An httpError is an error answered with its status code.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// readRevalidation reads the targets of a revalidation from r's query and
// its body, limited to MaxRevalidateBody bytes, and whether to wait for
// every replica's confirmation (wait=all).
func readRevalidation(w http.ResponseWriter, r *http.Request) (isr.Revalidation, bool, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRevalidateBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return isr.Revalidation{}, false, &httpError{http.StatusRequestEntityTooLarge, codeTooLarge,
				fmt.Sprintf("body larger than %d bytes", MaxRevalidateBody)}
		}
		return isr.Revalidation{}, false, fmt.Errorf("reading body: %w", err)
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return isr.Revalidation{}, false, errors.New("malformed query string")
	}
	rv, err := parseRevalidation(query, body)
	if err != nil {
		return rv, false, err
	}
	waitAll, err := parseWait(query, body)
	return rv, waitAll, err
}

// revalidateBody is the JSON body of a revalidation request.
type revalidateBody struct {
	Paths []string `json:"paths"`
	Tags  []string `json:"tags"`
	Mode  string   `json:"mode"`
	Wait  string   `json:"wait"` // read by parseWait
}

// parseRevalidation merges the path, tag and mode query parameters with
// the JSON body, if any, and checks the limits. Paths are checked by the
// cache, not here.
func parseRevalidation(query url.Values, body []byte) (isr.Revalidation, error) {
	var b revalidateBody
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return isr.Revalidation{}, fmt.Errorf("bad JSON body: %v", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return isr.Revalidation{}, errors.New("bad JSON body: data after the object")
		}
	}
	rv := isr.Revalidation{
		Paths: slices.Concat(query["path"], b.Paths),
		Tags:  slices.Concat(query["tag"], b.Tags),
	}
	modeSet := false
	for _, m := range append(slices.Clone(query["mode"]), b.Mode) {
		if m == "" {
			continue
		}
		mode, ok := parseMode(m)
		switch {
		case !ok:
			return rv, fmt.Errorf("mode %q must be eager, stale or delete", m)
		case modeSet && mode != rv.Mode:
			return rv, errors.New("conflicting modes in the query and the body")
		}
		rv.Mode, modeSet = mode, true
	}
	n := len(rv.Paths) + len(rv.Tags)
	switch {
	case n == 0:
		return rv, errors.New("nothing to revalidate: give a path or a tag")
	case n > MaxRevalidateTargets:
		return rv, fmt.Errorf("too many paths and tags: %d, at most %d", n, MaxRevalidateTargets)
	}
	return rv, nil // paths and tags are checked by the cache (isr.ErrBadPath)
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func parseMode(s string) (isr.Mode, bool) {
	switch s {
	case "eager":
		return isr.ModeEager, true
	case "stale":
		return isr.ModeStale, true
	case "delete":
		return isr.ModeDelete, true
	}
	return 0, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
