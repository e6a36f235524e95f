package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Bounds of the harness's waits. They bound how long a failing test hangs,
// they are not expectations: a passing test returns as soon as its
// condition holds.
const (
	eventuallyTimeout = 20 * time.Second
	requestTimeout    = 30 * time.Second
)

// An answer is what a replica answered to one request.
type answer struct {
	Status int
	State  string // the X-ISR-Cache header: HIT, STALE, MISS or BYPASS
	Body   string
	Header http.Header
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s %q", a.Status, a.State, a.Body)
}

// newClient returns an HTTP client for the test's requests, with enough
// idle connections per host for a burst, closed at the end of the test.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: requestTimeout}
}

// do sends a request and reads the whole answer. hdr holds header name and
// value pairs. It is safe to call from any goroutine.
func do(ctx context.Context, c *http.Client, method, url, body string, hdr ...string) (answer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading body: %w", method, url, err)
	}
	return answer{Status: resp.StatusCode, State: resp.Header.Get("X-ISR-Cache"), Body: string(b), Header: resp.Header}, nil
}

// mustDo is do that fails the test on a transport error. Call it from the
// test's goroutine only.
func mustDo(t *testing.T, c *http.Client, method, url, body string, hdr ...string) answer {
	t.Helper()
	a, err := do(t.Context(), c, method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

// mustGet GETs url and fails the test unless the answer is a 200.
func mustGet(t *testing.T, c *http.Client, url string) answer {
	t.Helper()
	a := mustDo(t, c, http.MethodGet, url, "")
	if a.Status != http.StatusOK {
		t.Fatalf("GET %s = %v, want 200", url, a)
	}
	return a
}

// revalidateResult is the JSON answer of POST /api/revalidate.
type revalidateResult struct {
	Revalidated bool   `json:"revalidated"`
	Message     string `json:"message"`
	Results     []struct {
		Path   string `json:"path"`
		Key    string `json:"key"`
		Result string `json:"result"`
		Error  string `json:"error"`
	} `json:"results"`
}

// decodeRevalidate parses a revalidation answer's body.
func decodeRevalidate(t *testing.T, a answer) revalidateResult {
	t.Helper()
	var r revalidateResult
	if err := json.Unmarshal([]byte(a.Body), &r); err != nil {
		t.Fatalf("revalidate answer %v is not JSON: %v", a, err)
	}
	return r
}

// eventually polls cond until it returns nil, and fails the test with what
// and cond's last error if that does not happen within eventuallyTimeout.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	within(t, eventuallyTimeout, what, cond)
}

// within is eventually with a bound of d, for a claim that holds only if
// cond comes true before something else could make it true (such as the
// origin's own cache expiring).
func within(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// serves returns a cond for eventually: GET url answers 200 with a body
// containing want and, if state is not empty, X-ISR-Cache state.
func serves(ctx context.Context, c *http.Client, url, want, state string) func() error {
	return func() error {
		a, err := do(ctx, c, http.MethodGet, url, "")
		switch {
		case err != nil:
			return err
		case a.Status != http.StatusOK || !strings.Contains(a.Body, want) || (state != "" && a.State != state):
			return fmt.Errorf("GET %s = %v, want 200 %s with %q", url, a, state, want)
		}
		return nil
	}
}
