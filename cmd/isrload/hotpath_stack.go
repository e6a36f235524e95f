package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// hpStack is the hot-path benchmark's processes: the bare server (also the
// origin), redis-server, and three isrcache replicas, each alone in its
// configuration.
type hpStack struct {
	procs     []*proc
	servers   map[string]*url.URL // bare, default, warn, redis
	redisAddr string
	pprofAddr string
	client    *http.Client
}

// startHotpath starts the processes with their logs in dir and waits until
// each is ready. With pprof, the default replica serves net/http/pprof.
func startHotpath(ctx context.Context, bins binaries, dir string, pprof bool) (_ *hpStack, err error) {
	s := &hpStack{servers: map[string]*url.URL{}, client: newClient(4, 0)}
	s.client.Transport.(*http.Transport).DisableCompression = true
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	s.redisAddr, s.pprofAddr = addr(0), addr(5)
	redisProc, err := startProc(dir, "redis", bins.redis, []string{"--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir}, nil)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, redisProc)
	if err := waitFor(ctx, redisProc, readyLimit, func(ctx context.Context) error { return redisPing(ctx, s.redisAddr) }); err != nil {
		return nil, err
	}
	bare, err := startProc(dir, "bare", bins.origin, []string{"bare", "-addr", addr(1)}, nil)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, bare)
	s.servers["bare"] = &url.URL{Scheme: "http", Host: addr(1)}
	if err := waitFor(ctx, bare, readyLimit, s.probe(s.servers["bare"], "/8k")); err != nil {
		return nil, err
	}
	origin := "ISR_ORIGIN=" + s.servers["bare"].String()
	common := []string{origin, "ISR_DRAIN_DELAY=0", "ISR_SHUTDOWN_TIMEOUT=3s"}
	replicas := []struct {
		name string
		port int
		env  []string
	}{
		{"default", 2, nil},
		{"warn", 3, []string{"ISR_LOG_LEVEL=warn"}},
		{"redis", 4, []string{"ISR_LOG_LEVEL=warn", "ISR_REDIS_URL=redis://" + s.redisAddr + "/0"}},
	}
	for _, r := range replicas {
		env := append(append([]string{"ISR_ADDR=" + addr(r.port)}, common...), r.env...)
		if r.name == "default" && pprof {
			env = append(env, "ISR_PPROF_ADDR="+s.pprofAddr)
		}
		p, err := startProc(dir, "isrcache-"+r.name, bins.isrcache, nil, env)
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, p)
		u := &url.URL{Scheme: "http", Host: addr(r.port)}
		s.servers[r.name] = u
		if err := waitFor(ctx, p, readyLimit, s.probe(u, "/readyz")); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// probe returns a readiness check: GET base+path answers 200.
func (s *hpStack) probe(base *url.URL, path string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+path, nil)
		if err != nil {
			return err
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", req.URL, resp.Status)
		}
		return nil
	}
}

// close stops the processes, the last started first.
func (s *hpStack) close() {
	stopAll(s.procs)
	s.procs = nil
	s.client.CloseIdleConnections()
}

// alive returns an error if a process has exited.
func (s *hpStack) alive() error {
	return firstExit(s.procs)
}

// RedisPage is what Redis holds for one page of the benchmark.
type RedisPage struct {
	Key string `json:"key"`
	// HTMLBytes is the page's size as the origin sent it.
	HTMLBytes int `json:"html_bytes"`
	// BodyBytes is the size of the stored body field.
	BodyBytes int64 `json:"body_bytes"`
	// MemoryBytes is MEMORY USAGE of the page's hash: everything Redis
	// keeps for the page, overhead included.
	MemoryBytes int64 `json:"memory_bytes"`
}

// redisPages reads the benchmark pages' sizes in Redis.
func (s *hpStack) redisPages(ctx context.Context) ([]RedisPage, error) {
	c := redis.NewClient(&redis.Options{Addr: s.redisAddr})
	defer c.Close()
	keys, err := c.Keys(ctx, "isr:p:*").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var out []RedisPage
	for _, k := range keys {
		key, err := c.HGet(ctx, k, "key").Result()
		if err != nil {
			continue // a hash holding only counters
		}
		size, ok := benchPageSizes[key]
		if !ok {
			continue
		}
		body, err := c.HStrLen(ctx, k, "body").Result()
		if err != nil {
			return nil, err
		}
		mem, err := c.MemoryUsage(ctx, k, 0).Result() // SAMPLES 0: every field
		if err != nil {
			return nil, err
		}
		out = append(out, RedisPage{Key: key, HTMLBytes: size, BodyBytes: body, MemoryBytes: mem})
	}
	return out, nil
}
