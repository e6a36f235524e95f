package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxAPIBody bounds the answers of the admin API that isrctl reads.
const maxAPIBody = 16 << 20

// userAgent identifies isrctl's requests in the replicas' logs.
const userAgent = "isrctl"

// Retries of a request the replica answered 429 (over its revalidation
// rate limit): up to maxRetries, each after the answer's Retry-After (1s if
// it names none), at most maxRetryWait.
const (
	maxRetries   = 5
	maxRetryWait = 30 * time.Second
)

// An apiClient calls a replica's admin API with the token.
type apiClient struct {
	base  string // -server, without a trailing slash
	token string
	http  *http.Client
	// wait waits d before a retry, or until ctx is done. If nil, a timer.
	wait func(ctx context.Context, d time.Duration) error
}

// newAPIClient checks -server and reads the token.
func (c *cli) newAPIClient() (*apiClient, error) {
	base, err := c.baseURL()
	if err != nil {
		return nil, err
	}
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	return &apiClient{base: base, token: tok, http: &http.Client{Timeout: c.timeout}}, nil
}

// An apiAnswer is a complete answer of the admin API.
type apiAnswer struct {
	Status int
	Body   []byte
}

// do sends method to base+target with the token in an Authorization
// header (never in the URL, so it stays out of access logs and errors)
// and reads the answer. An answer 429 is retried after its Retry-After,
// up to maxRetries times.
func (a *apiClient) do(ctx context.Context, method, target string, body []byte) (apiAnswer, error) {
	for attempt := 0; ; attempt++ {
		ans, retryAfter, err := a.once(ctx, method, target, body)
		if err != nil || ans.Status != http.StatusTooManyRequests || attempt == maxRetries {
			return ans, err
		}
		wait := a.wait
		if wait == nil {
			wait = sleepCtx
		}
		if err := wait(ctx, retryAfter); err != nil {
			return ans, err
		}
	}
}

// once sends one request for do, and returns the answer and how long its
// Retry-After says to wait.
func (a *apiClient) once(ctx context.Context, method, target string, body []byte) (apiAnswer, time.Duration, error) {
	var rb io.Reader
	if body != nil {
		rb = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+target, rb)
	if err != nil {
		return apiAnswer{}, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return apiAnswer{}, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return apiAnswer{}, 0, fmt.Errorf("%s %s: reading the answer: %w", method, a.base+target, err)
	}
	wait := time.Second
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		wait = min(time.Duration(secs)*time.Second, maxRetryWait)
	}
	return apiAnswer{Status: resp.StatusCode, Body: b}, wait, nil
}

// sleepCtx waits d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// message returns the "message" field of a JSON answer, or the start of a
// non-JSON one.
func (a apiAnswer) message() string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(a.Body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := strings.TrimSpace(string(a.Body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = http.StatusText(a.Status)
	}
	return s
}

// apiError explains an answer that is not a success, with a hint for the
// statuses an operator can fix.
func apiError(a apiAnswer, endpoint string) error {
	msg := fmt.Sprintf("the server answered %d: %s", a.Status, a.message())
	switch a.Status {
	case http.StatusUnauthorized:
		msg += " (the token was refused: check ISR_REVALIDATE_SECRET or the secret file against the replicas' ISR_REVALIDATE_SECRET)"
	case http.StatusTooManyRequests:
		msg += fmt.Sprintf(" (still over the replicas' ISR_REVALIDATE_RATE or ISR_REVALIDATE_RATE_TOTAL after %d retries)", maxRetries)
	case http.StatusNotFound:
		if strings.Contains(msg, "disabled") {
			break
		}
		msg += " (" + endpoint + " is disabled when the replicas have no ISR_REVALIDATE_SECRET, or missing on an older isrcache)"
	}
	return fmt.Errorf("%s", msg)
}
