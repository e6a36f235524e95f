package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/internal/replicatest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// testSecret is the replicas' token. Its odd spelling makes it easy to
// find in output, where it must never appear.
const testSecret = "ctl-T0ken-q8Vw-never-printed"

// A stack is a real redis-server, a counting origin, and in-process
// replicas (isr.Handler + server.New over httptest on 127.0.0.1), wired as
// cmd/isrcache wires them. Everything stops at the end of the test.
type stack struct {
	redis    *redistest.Server
	admin    *redis.Client
	origin   *isrtest.Origin
	replicas []string // base URLs
}

// newStack starts redis, the origin and n replicas, and returns once every
// replica is subscribed to the invalidation events.
func newStack(t *testing.T, n int) *stack {
	t.Helper()
	rs := redistest.Start(t)
	s := &stack{redis: rs, admin: rs.Client(t), origin: &isrtest.Origin{}}
	ots := httptest.NewServer(s.origin)
	t.Cleanup(ots.Close)
	cfg := replicatest.Config{RedisURL: "redis://" + rs.Addr(), OriginURL: ots.URL, Secret: testSecret,
		Options: isr.Options{Routes: []isr.Route{{Pattern: "/posts/{id}", Tags: []string{"posts"}}}}}
	for i := range n {
		s.replicas = append(s.replicas, replicatest.Start(t, fmt.Sprintf("r%d", i+1), cfg).URL)
	}
	return s
}

// entry reads the page stored under key straight from Redis.
func (s *stack) entry(t *testing.T, key string) *isr.Entry {
	t.Helper()
	e, err := isrredis.New(s.admin, nil).Get(t.Context(), key)
	if errors.Is(err, isr.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A page is one answer of a replica.
type page struct {
	Cache string // X-ISR-Cache
	Body  string
}

// get GETs path from the replica at base.
func get(t *testing.T, base, path string) page {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{Cache: resp.Header.Get("X-ISR-Cache"), Body: string(b)}
}

// result is the outcome of one isrctl run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%sstderr:\n%s", r.code, r.stdout, r.stderr)
}

// ctl runs isrctl against the first replica with the right token, unless
// env overrides them ("" removes a variable).
func (s *stack) ctl(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	vars := map[string]string{"ISR_REVALIDATE_SECRET": testSecret}
	if len(s.replicas) > 0 {
		vars["ISRCTL_SERVER"] = s.replicas[0]
	}
	for k, v := range env {
		vars[k] = v
	}
	return ctl(t, stdin, vars, args...)
}

// ctl runs isrctl with exactly the environment vars and checks that
// the token never appears in its output.
func ctl(t *testing.T, stdin string, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errw, func(k string) string { return vars[k] })
	r := result{code, out.String(), errw.String()}
	for _, secret := range []string{testSecret, vars["ISR_REVALIDATE_SECRET"]} {
		if secret != "" && strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("isrctl %v printed the token %q:\n%v", args, secret, r)
		}
	}
	return r
}

// eventually retries fn until it returns nil, failing the test after 10s.
func eventually(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after 10s", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
