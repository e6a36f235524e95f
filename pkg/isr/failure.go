package isr

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// A FailedError is returned (wrapped) by Store.Get for a key with no page
// whose last render failed less than its backoff ago (see Store.Fail). It
// wraps ErrNotFound: the page is not stored.
type FailedError struct {
	// RetryAfter is the time left before the key may be rendered again.
	RetryAfter time.Duration
}

func (e *FailedError) Error() string {
	return "isr: the page's last render failed; retry after " + e.RetryAfter.String()
}

// Unwrap returns ErrNotFound.
func (e *FailedError) Unwrap() error { return ErrNotFound }

// failedFor returns the time left of err's backoff if err is, or wraps, a
// *FailedError.
func failedFor(err error) (time.Duration, bool) {
	var fe *FailedError
	if errors.As(err, &fe) {
		return max(fe.RetryAfter, time.Millisecond), true
	}
	return 0, false
}

// coldFailed records that the cold render of key failed: in the store, so
// that visitors on every replica get the error until FailureBackoff is
// over, and here, in case the store does not answer.
func (h *Handler) coldFailed(ctx context.Context, key string, cause error) {
	h.failed.set(key, h.opts.Now().Add(h.opts.FailureBackoff))
	if err := h.opts.Backend.Fail(ctx, key, h.opts.FailureBackoff); err != nil {
		h.storeTrouble("the render failure was not recorded in the store", key, err)
	}
	h.opts.Logger.Warn("origin render failed: the page backs off", zap.String("key", key),
		zap.Duration("backoff", h.opts.FailureBackoff), zap.Error(cause))
}

// serveFailed answers a visitor of a page whose render failed: 504 if it
// timed out, else 502, with Retry-After.
func serveFailed(w http.ResponseWriter, r *http.Request, cause error, retry time.Duration) {
	code := http.StatusBadGateway
	if errors.Is(cause, context.DeadlineExceeded) {
		code = http.StatusGatewayTimeout
	}
	secs := int64((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	setState(w.Header(), stateMiss, "fwd=uri-miss; detail=origin-error")
	http.Error(w, http.StatusText(code)+": the origin did not render the page", code)
}
