package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
)

// Secrets of TestLogNeverShowsSecrets: the revalidate token, the previous
// one, and the password of a Redis ACL user.
const (
	tokenNow  = "k3y-Alpha-0123456789"
	tokenPrev = "k3y-Bravo-9876543210"
	redisPass = "pw-Charlie-555555555"
	previewA  = "0f1e2d3c4b5a69788796a5b4c3d2e1f0" // the Next.js preview id, then
	previewB  = "a5b4c3d2e1f00f1e2d3c4b5a69788796" // after a rebuild
)

// TestLogNeverShowsSecrets runs a replica at debug level against a Redis
// that needs a password, sends it every secret hidden in malformed and
// well-formed queries, paths and headers (the four among them), and
// finds none of them, raw or escaped, in anything it logged.
func TestLogNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, redistest.WithArgs("--user", "isr", "on", ">"+redisPass, "~*", "&*", "+@all"))
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/hangup/") { // the proxy logs a failed origin request
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Cache-Control", "s-maxage=60")
		fmt.Fprint(w, "page")
	}))
	t.Cleanup(origin.Close)
	idFile := filepath.Join(t.TempDir(), "preview-id")
	if err := os.WriteFile(idFile, []byte(previewA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, map[string]string{
		"ISR_ORIGIN": origin.URL, "ISR_LOG_LEVEL": "debug", "ISR_REVALIDATE_RATE": "0",
		"ISR_REVALIDATE_SECRET": tokenNow, "ISR_REVALIDATE_SECRET_PREVIOUS": tokenPrev,
		"ISR_REDIS_URL":              "redis://isr:" + redisPass + "@" + rs.Addr() + "/0",
		"ISR_NEXTJS_PREVIEW_ID_FILE": idFile,
	})
	secrets := []string{tokenNow, tokenPrev, redisPass, previewA}
	leak(t, r, secrets)
	// Next was rebuilt: a new preview id, which the replica reads again
	// (at most once a second); the old and the new one stay hidden.
	if err := os.WriteFile(idFile, []byte(previewB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	r.do(t, "GET", "/p/"+previewB, "") // the replica notices the new file
	secrets = append(secrets, previewB)
	leak(t, r, secrets)
	// Authenticated: the token's own bytes sit inside the revalidated path.
	if resp, body := r.do(t, "POST", "/api/revalidate?path=/p/"+tokenNow, tokenPrev); resp.StatusCode != 200 {
		t.Errorf("revalidate with the previous token: got %d %s", resp.StatusCode, body)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	logs := r.out.String()
	for _, sec := range secrets {
		for _, sp := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), sec[:12]} {
			if strings.Contains(logs, sp) {
				t.Errorf("the log shows %q", sp)
			}
		}
	}
	if n := strings.Count(logs, "REDACTED"); n < 3*len(secrets) {
		t.Errorf("REDACTED %d times, want the scrubber to have met every secret at least 3 times:\n%s", n, logs)
	}
	lines := strings.Count(logs, "\n")
	if lines < 40 {
		t.Errorf("only %d log lines: the requests were not logged at debug level", lines)
	}
	t.Logf("%d secrets, %d log lines at debug level, %d secrets removed", len(secrets), lines, strings.Count(logs, "REDACTED"))
}

// leak sends r every secret hidden in malformed and well-formed queries,
// paths and headers, the four among them.
func leak(t *testing.T, r *replica, secrets []string) {
	t.Helper()
	for _, sec := range secrets {
		q := url.QueryEscape(sec)
		for _, target := range []string{
			"/api/revalidate?path=/x?secret=" + sec,
			"/api/revalidate?path=/x;secret=" + sec,
			"/api/revalidate?x=1;secret=" + sec,
			"/api/revalidate?secret%3D" + q,
			"/api/revalidate?path=%2Fx%3Fsecret%3D" + q,
			"/api/revalidate/?secret=" + sec,
			"/api/inspect?x=%zz;secret=" + sec,
		} {
			if resp, body := r.do(t, "POST", target, ""); resp.StatusCode != 401 && resp.StatusCode != 405 &&
				resp.StatusCode != 200 {
				t.Errorf("POST %s: got %d %s", target, resp.StatusCode, body)
			}
		}
		for _, target := range []string{"/page?secret%3D" + q, "/page?x=1;secret=" + sec, "/p/" + sec, "/%2e%2e/" + sec} {
			r.do(t, "GET", target, "")
		}
		r.do(t, "POST", "/hangup/"+sec+"?secret="+q, sec)
		r.do(t, "GET", "/page", sec+"-not-quite")
	}
}

// TestBadChunkedBody sends bodies with a broken chunked encoding through
// the bypass proxy of a real replica: each is answered 400, not 502, and
// the origin is not blamed in the log.
func TestBadChunkedBody(t *testing.T) {
	t.Parallel()
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL})
	addr := strings.TrimPrefix(r.base, "http://")
	for name, body := range map[string]string{
		"bare LF after size":  "5\nhello\r\n0\r\n\r\n",
		"bare LF after data":  "5\r\nhello\n0\r\n\r\n",
		"bad size":            "zz\r\nhello\r\n0\r\n\r\n",
		"size larger than it": "ffffffffffffffffff\r\nx\r\n",
	} {
		status := rawPost(t, addr, "/form", body)
		if status != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", name, status)
		}
	}
	if status := rawPost(t, addr, "/form", "5\r\nhello\r\n0\r\n\r\n"); status != http.StatusOK {
		t.Errorf("good chunked body: got %d, want 200", status)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if logs := r.out.String(); strings.Contains(logs, "origin request failed") || !strings.Contains(logs, "bad request body") {
		t.Errorf("want the bad bodies logged as such, never as an origin failure:\n%s", logs)
	}
}

// rawPost sends a POST with a chunked body written as is, and returns the
// answer's status.
func rawPost(t *testing.T, addr, path, chunked string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%s", path, chunked)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRevalidateRateLimit floods a real replica's /api/revalidate from one
// client address (127.0.0.1) with and without the token: beyond
// ISR_REVALIDATE_RATE's burst every answer is 429 with Retry-After, and
// another client address (127.0.0.2) is still served; the 401s of the
// flood did not use up the overall limit of the token holders. Then a
// replica that trusts 127.0.0.0/8 as its load balancers counts clients by
// X-Forwarded-For.
func TestRevalidateRateLimit(t *testing.T) {
	t.Parallel()
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok",
		"ISR_REVALIDATE_RATE": "5", "ISR_REVALIDATE_RATE_TOTAL": "5"})
	post := func(local, token string, hdr ...string) *http.Response {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext}}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", r.base+"/api/revalidate?path=/a&mode=stale", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	codes := map[int]int{}
	for range 40 {
		resp := post("127.0.0.1", "guess")
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if codes[401] < 5 || codes[429] < 30 || codes[401]+codes[429] != 40 {
		t.Errorf("40 guesses from one address: %v, want about 5 401s (the burst) and the rest 429", codes)
	}
	if resp := post("127.0.0.2", "tok"); resp.StatusCode != 200 {
		t.Errorf("the token holder at another address: got %d, want 200", resp.StatusCode)
	}
	// 127.0.0.1 is not a trusted proxy here: its X-Forwarded-For is ignored.
	if resp := post("127.0.0.1", "tok", "X-Forwarded-For", "198.51.100.7"); resp.StatusCode != 429 {
		t.Errorf("a forged X-Forwarded-For from the flooding address: got %d, want 429", resp.StatusCode)
	}
}

// TestRevalidateRateLimitTrustedProxies: behind trusted load balancers,
// clients are told apart by X-Forwarded-For; the same client through two
// balancers shares one allowance.
func TestRevalidateRateLimitTrustedProxies(t *testing.T) {
	t.Parallel()
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_SECRET": "tok",
		"ISR_REVALIDATE_RATE": "1", "ISR_TRUSTED_PROXIES": "127.0.0.0/8"})
	post := func(lb, client string) int {
		t.Helper()
		c := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(lb)}}).DialContext}}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", r.base+"/api/revalidate?path=/a&mode=stale", nil)
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{post("127.0.0.1", "198.51.100.1"), post("127.0.0.2", "198.51.100.1"), post("127.0.0.1", "198.51.100.2")}
	if got[0] != 200 || got[1] != 429 || got[2] != 200 {
		t.Errorf("client 1 via LB 1, client 1 via LB 2, client 2 via LB 1: %v, want 200, 429, 200", got)
	}
}

// TestRotateTokenFiles rotates the revalidate token of a running replica
// through its files, as a Kubernetes Secret update does, without a
// restart: the new token is accepted as soon as the replica sees the file
// change (it looks at most once a second), the old one while it is the
// previous token, then no longer; neither shows in the log.
func TestRotateTokenFiles(t *testing.T) {
	t.Parallel()
	const one, two = "rotate-token-one-111111", "rotate-token-two-222222"
	dir := t.TempDir()
	cur, prev := filepath.Join(dir, "token"), filepath.Join(dir, "previous")
	write := func(file, tok string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cur, one)
	write(prev, one)
	origin, _ := startOrigin(t)
	r := startReplica(t, map[string]string{"ISR_ORIGIN": origin.URL, "ISR_REVALIDATE_RATE": "0",
		"ISR_REVALIDATE_SECRET_FILE": cur, "ISR_REVALIDATE_SECRET_PREVIOUS_FILE": prev})
	status := func(tok string) int {
		t.Helper()
		resp, _ := r.do(t, "POST", "/api/revalidate?path=/a&mode=stale", tok)
		return resp.StatusCode
	}
	if s1, s2 := status(one), status(two); s1 != 200 || s2 != 401 {
		t.Fatalf("before the rotation: token one %d, two %d; want 200, 401", s1, s2)
	}
	write(cur, two) // step 1: the new token, the old one as the previous
	time.Sleep(1100 * time.Millisecond)
	if s1, s2 := status(one), status(two); s1 != 200 || s2 != 200 {
		t.Errorf("during the rotation: token one %d, two %d; want 200, 200", s1, s2)
	}
	write(prev, two) // step 2: the callers moved; the old token goes
	time.Sleep(1100 * time.Millisecond)
	if s1, s2 := status(one), status(two); s1 != 401 || s2 != 200 {
		t.Errorf("after the rotation: token one %d, two %d; want 401, 200", s1, s2)
	}
	r.do(t, "GET", "/p/"+one+"/"+two, "")
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if logs := r.out.String(); strings.Contains(logs, one) || strings.Contains(logs, two) {
		t.Errorf("the log shows a token:\n%s", logs)
	}
}
