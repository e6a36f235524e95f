package isr

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrBadPath is returned (wrapped) for a path that is not a valid page path:
// not absolute, with a scheme or host, control characters, dot segments or
// an invalid escape. The revalidate endpoint answers it with 400.
var ErrBadPath = errors.New("isr: bad path")

// Fallback says what happens on a visit to a path that is not cached yet, as
// in Next.js getStaticPaths.
type Fallback int

const (
	// FallbackBlocking renders an unknown path on its first visit.
	FallbackBlocking Fallback = iota
	// FallbackFalse serves only the route's listed Paths; any other path
	// gets 404 without calling the origin.
	FallbackFalse
)

// A Route is a rule for the pages whose path matches Pattern.
type Route struct {
	// Pattern is a gorilla/mux path template, such as "/posts/{id}" or
	// "/docs/{rest:.*}".
	Pattern string
	// Revalidate is the revalidate time of the route's pages. Zero means
	// unset (the origin's s-maxage, else Options.Revalidate); Never means
	// fresh until revalidated on demand.
	Revalidate time.Duration
	// Fallback is the policy for paths not cached yet. Default: blocking.
	Fallback Fallback
	// Paths lists the route's known paths: with FallbackFalse, the only
	// ones served.
	Paths []string
	// Query lists the query parameters that are part of the cache key and
	// forwarded to the origin. Others are dropped. Default: none.
	Query []string
	// Tags are added to the tags of every page of the route.
	Tags []string
	// Bypass passes the route's requests to the origin uncached.
	Bypass bool
}

// A Response is a complete origin response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Origin renders pages for the cache.
type Origin interface {
	// Render renders the page for r, a synthetic GET that carries no
	// client headers or credentials, and returns the complete response.
	// It returns an error when the origin is unreachable, times out or
	// sends a truncated body; a 5xx is a Response, not an error.
	Render(ctx context.Context, r *http.Request) (*Response, error)
}

// OriginFunc adapts a function to an Origin.
type OriginFunc func(ctx context.Context, r *http.Request) (*Response, error)

// Render calls f(ctx, r).
func (f OriginFunc) Render(ctx context.Context, r *http.Request) (*Response, error) {
	return f(ctx, r)
}

// A Revalidation asks for pages to be revalidated across the cluster.
type Revalidation struct {
	// Paths are page paths, optionally with a query ("/posts/1?page=2").
	Paths []string
	// Tags select every stored page that carries one of them.
	Tags []string
	// Mode is what to do to each page. Default: ModeEager.
	Mode Mode
}

// A Result is what a revalidation did to one page, in PageResult.Result.
type Result string

// Outcomes of revalidating one page.
const (
	ResultRegenerated Result = "regenerated" // ModeEager: rendered and stored
	ResultStale       Result = "stale"       // marked stale; regenerated on its next visit
	ResultDeleted     Result = "deleted"     // removed; the next visit is a MISS
	ResultNotCached   Result = "not_cached"  // no page was stored (ModeStale, ModeDelete)
	ResultFailed      Result = "failed"      // regeneration failed; the old page is kept, stale
)

// A PageResult is what a revalidation did to one page.
type PageResult struct {
	Path   string `json:"path"`
	Key    string `json:"key"`
	Result Result `json:"result"`
	Error  string `json:"error,omitempty"`
}
