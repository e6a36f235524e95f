package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of a load run: isrload always stops by itself.
const (
	maxRequests    = 10_000_000
	maxDuration    = time.Hour
	maxConcurrency = 2000
	// seqToken in a path is replaced by a number unique to the request.
	seqToken = "{seq}"
)

// cacheStates returns the X-ISR-Cache values, in report order. A response
// without the header is counted as "NONE".
func cacheStates() []string { return []string{"HIT", "STALE", "MISS", "BYPASS", "NONE"} }

// LoadOptions configure one load run.
type LoadOptions struct {
	// Targets are the replicas' base URLs, each checked by checkTarget.
	// Requests go to them in turn.
	Targets []*url.URL
	// Paths are the request paths, used in turn. "{seq}" in a path is
	// replaced by SeqStart plus the request's index, so that every request
	// asks for a new page.
	Paths []string
	// SeqStart is the first number that replaces "{seq}".
	SeqStart int
	// Concurrency is the number of requests in flight (workers).
	Concurrency int
	// Requests is the most requests sent, 1 to 10,000,000.
	Requests int
	// Duration is the longest the run lasts, up to an hour. Requests in
	// flight when it ends are dropped, not counted as errors.
	Duration time.Duration
	// Timeout bounds one request. Zero means 30s.
	Timeout time.Duration
}

// validate checks the bounds and the loopback rule.
func (o *LoadOptions) validate() error {
	switch {
	case len(o.Targets) == 0:
		return errors.New("no target")
	case len(o.Paths) == 0:
		return errors.New("no path")
	case o.Concurrency < 1 || o.Concurrency > maxConcurrency:
		return fmt.Errorf("concurrency %d is not in 1..%d", o.Concurrency, maxConcurrency)
	case o.Requests < 1 || o.Requests > maxRequests:
		return fmt.Errorf("request count %d is not in 1..%d", o.Requests, maxRequests)
	case o.Duration <= 0 || o.Duration > maxDuration:
		return fmt.Errorf("time limit %v is not in (0, %v]", o.Duration, maxDuration)
	case o.Timeout < 0:
		return fmt.Errorf("negative request timeout %v", o.Timeout)
	}
	for _, t := range o.Targets {
		if t == nil || !isLoopbackHost(t.Hostname()) {
			return fmt.Errorf("target %v is not loopback", t)
		}
	}
	for _, p := range o.Paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path %q does not start with /", p)
		}
	}
	return nil
}

// request returns the URL of the i-th request. Consecutive requests go to
// consecutive targets; a path moves on after visiting every target once, so
// each path is asked of every replica.
func (o *LoadOptions) request(i int) string {
	nt := len(o.Targets)
	t := o.Targets[i%nt]
	p := o.Paths[(i/nt)%len(o.Paths)]
	if strings.Contains(p, seqToken) {
		p = strings.ReplaceAll(p, seqToken, strconv.Itoa(o.SeqStart+i))
	}
	return t.String() + p
}

// newClient returns an HTTP client that only dials loopback addresses,
// never uses a proxy, never follows redirects and keeps up to conns idle
// connections per replica.
func newClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, ControlContext: loopbackOnly}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxIdleConns:        conns * 4,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sample is one answered request.
type sample struct {
	state   string
	status  int
	latency time.Duration
}

// worker holds one worker's results; workers share nothing while running.
type worker struct {
	samples []sample
	errs    []string // transport errors
}

// runLoad sends the requests of o and returns the report. It stops after
// o.Requests requests, after o.Duration, or when ctx ends, whichever comes
// first.
func runLoad(ctx context.Context, o LoadOptions) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	client := newClient(o.Concurrency, timeout)
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var next atomic.Int64
	workers := make([]worker, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			res := &workers[w]
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.Requests {
					return
				}
				s, err := do(ctx, client, o.request(i))
				switch {
				case err != nil && ctx.Err() != nil:
					return // cut short by the time limit: not an error
				case err != nil:
					res.errs = append(res.errs, err.Error())
				default:
					res.samples = append(res.samples, s)
				}
			}
		})
	}
	wg.Wait()
	return buildReport(workers, time.Since(start)), nil
}

// do sends one GET, reads the whole body and returns the answer's cache
// state, status and latency.
func do(ctx context.Context, client *http.Client, u string) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return sample{}, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		return sample{}, fmt.Errorf("GET %s: reading body: %w", u, err)
	}
	state := strings.ToUpper(strings.TrimSpace(resp.Header.Get("X-ISR-Cache")))
	if state == "" {
		state = "NONE"
	}
	return sample{state: state, status: resp.StatusCode, latency: lat}, nil
}
