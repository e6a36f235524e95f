package isr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrTooLarge is returned by an Origin when a response body exceeds the
// limit: such a response is passed through, never stored.
var ErrTooLarge = errors.New("isr: response body too large to store")

// HTTPOrigin renders pages by requesting them from an origin over HTTP.
// Redirects are returned, not followed. A body cut short (connection reset,
// Content-Length not reached) is an error, so it is never stored.
type HTTPOrigin struct {
	// URL is the origin's base URL; a page's path is appended to its path.
	URL *url.URL
	// Client sends the requests. If nil, a client with no overall timeout
	// (the render context bounds each request) is used. Its CheckRedirect
	// is ignored: redirects are always returned to the cache.
	Client *http.Client
	// MaxBodyBytes is the largest body read; larger ones are ErrTooLarge.
	// Zero means 10 MiB.
	MaxBodyBytes int64
}

// Render requests r's path and query from the origin.
func (o *HTTPOrigin) Render(ctx context.Context, r *http.Request) (*Response, error) {
	u := *o.URL
	u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
	u.RawPath = ""
	if o.URL.RawPath != "" || r.URL.RawPath != "" {
		u.RawPath = strings.TrimSuffix(o.URL.EscapedPath(), "/") + r.URL.EscapedPath()
	}
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("isr: origin request: %w", err)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	client := http.Client{}
	if o.Client != nil {
		client = *o.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("isr: origin: %w", err)
	}
	defer resp.Body.Close()
	limit := o.MaxBodyBytes
	if limit <= 0 {
		limit = 10 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("isr: origin body of %s truncated: %w", r.URL.Path, err)
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// HandlerOrigin renders pages by calling h in process with the synthetic
// request and recording the complete response. A handler that panics with
// http.ErrAbortHandler (as httputil.ReverseProxy does on a failed copy)
// yields an error. Bodies larger than maxBody (zero: 10 MiB) are ErrTooLarge.
func HandlerOrigin(h http.Handler, maxBody int64) Origin {
	if maxBody <= 0 {
		maxBody = 10 << 20
	}
	return OriginFunc(func(ctx context.Context, r *http.Request) (resp *Response, err error) {
		rec := &recorder{header: http.Header{}, max: maxBody}
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					panic(v)
				}
				resp, err = nil, fmt.Errorf("isr: origin handler aborted %s", r.URL.Path)
			}
		}()
		h.ServeHTTP(rec, r.WithContext(ctx))
		if rec.tooLarge {
			return nil, ErrTooLarge
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("isr: origin handler: %w", err)
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		return &Response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
	})
}

// recorder is the http.ResponseWriter HandlerOrigin records into.
type recorder struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	max      int64
	tooLarge bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.header = r.header.Clone()
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if int64(r.body.Len()+len(p)) > r.max {
		r.tooLarge = true
		return 0, ErrTooLarge
	}
	return r.body.Write(p)
}
