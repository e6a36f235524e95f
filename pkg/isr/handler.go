package isr

import (
	"context"
	"errors"
	"net/http"
)

// Handler is an http.Handler that serves pages through the ISR cache.
// Create one with [New]; run [Handler.Run] to receive invalidations from
// other replicas.
type Handler struct {
	opts Options
}

// New returns a Handler configured by opts. It starts nothing: call
// [Handler.Run] to listen for invalidation events.
func New(opts Options) (*Handler, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Handler{opts: o}, nil
}

// ServeHTTP serves r from the cache, the origin, or both.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.opts.Next.ServeHTTP(w, r) // TODO(engine): in progress
}

// Run listens for the backend's events and applies them to the hot cache
// until ctx is done. It returns nil then, or the bus's error.
func (h *Handler) Run(ctx context.Context) error {
	return h.opts.Backend.Listen(ctx, func(Event) {})
}

// Revalidate revalidates pages across the cluster. It returns a wrapped
// ErrBadPath, before changing anything, if any path is invalid.
func (h *Handler) Revalidate(ctx context.Context, rv Revalidation) ([]PageResult, error) {
	return nil, errors.New("isr: not implemented yet")
}

// Shutdown stops starting regenerations and waits until the running ones
// finish (releasing their locks) or ctx is done.
func (h *Handler) Shutdown(ctx context.Context) error {
	return nil
}

// HandlerOrigin renders pages by calling h with the synthetic request and
// recording the complete response.
func HandlerOrigin(h http.Handler) Origin {
	return OriginFunc(func(ctx context.Context, r *http.Request) (*Response, error) {
		return nil, errors.New("isr: not implemented yet")
	})
}
