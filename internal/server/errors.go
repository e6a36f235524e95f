package server

import "net/http"

// The codes of the server's JSON error bodies, {"code":...,"message":...}.
// They are stable: clients may switch on them. A message may name the
// client's own bad input; it never holds an internal error (a Redis reply,
// a script hash): those go to the log only.
const (
	codeDisabled         = "disabled"           // 404: no ISR_REVALIDATE_SECRET
	codeMethod           = "method_not_allowed" // 405
	codeInvalidToken     = "invalid_token"      // 401
	codeRateLimited      = "rate_limited"       // 429, with Retry-After
	codeBadRequest       = "bad_request"        // 400: query or body
	codeBadPath          = "bad_path"           // 400: a path the cache refuses
	codeTooLarge         = "body_too_large"     // 413
	codeNotCached        = "not_cached"         // 404 of /api/inspect
	codeRevalidateFailed = "revalidate_failed"  // 500: the store failed
	codeStoreFailed      = "store_failed"       // 500 of /api/inspect
)

// Messages of answers whose details are logged instead.
const (
	msgSeeLog     = "revalidation failed; the details are in the replica's log"
	msgPageFailed = "regeneration failed; the old page is kept, and the details are in the replica's log"
)

// writeError answers status with the JSON error body of code and msg.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}
