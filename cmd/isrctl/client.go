package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxAPIBody bounds the answers of the admin API that isrctl reads.
const maxAPIBody = 16 << 20

// userAgent identifies isrctl's requests in the replicas' logs.
const userAgent = "isrctl"

// An apiClient calls a replica's admin API with the token.
type apiClient struct {
	base  string // -server, without a trailing slash
	token string
	http  *http.Client
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
// and reads the answer.
func (a *apiClient) do(ctx context.Context, method, target string, body []byte) (apiAnswer, error) {
	var rb io.Reader
	if body != nil {
		rb = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+target, rb)
	if err != nil {
		return apiAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return apiAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return apiAnswer{}, fmt.Errorf("%s %s: reading the answer: %w", method, a.base+target, err)
	}
	return apiAnswer{Status: resp.StatusCode, Body: b}, nil
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
	case http.StatusNotFound:
		if strings.Contains(msg, "disabled") {
			break
		}
		msg += " (" + endpoint + " is disabled when the replicas have no ISR_REVALIDATE_SECRET, or missing on an older isrcache)"
	}
	return fmt.Errorf("%s", msg)
}
