package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/history"
)

// TestClusterHistory is the history checker (issue 7): replica processes
// of cmd/isrcache on a real redis-server, readers on every replica, writers
// that change a page at the origin and revalidate it (mode=eager,
// wait=all) on a random replica, and a nemesis that injects faults. Every
// read, revalidation and fault is recorded, then checked by
// internal/history: monotonic reads per replica, read-your-revalidation
// (a strict bound outside fault windows, ISR_L1_MAX_AGE + 1s inside), no
// lost update, at most 1.1 origin renders per revalidation, no failed read.
//
// Writers alternate: one asks for wait=all (the replicas that confirmed get
// no time at all: a read that starts after the answer must see the new
// version), the other not (a read may still see the old version for the
// strict bound, 100ms). By default it runs 30 seconds of traffic with three replicas and
// these faults: pub/sub connections killed, Redis paused for 1s (commands
// sent meanwhile are executed late), a replica SIGKILLed and restarted, a
// replica's pub/sub link cut silently for 2s (each replica reaches Redis
// through a proxy of its own, see linkProxy). With ISR_SOAK=1 (make soak)
// it runs 100s with four replicas, and adds 2s and 3s Redis pauses. ISR_HISTORY_REPORT=FILE writes the
// report as JSON.
func TestClusterHistory(t *testing.T) {
	cfg := historyConfig{
		replicas: 3, paths: 20, readers: 2, writers: 2, duration: 30 * time.Second,
		l1MaxAge: 2 * time.Second, strict: 100 * time.Millisecond,
		faults: []nemesisStep{
			{at: 3 * time.Second, fault: killPubSub},
			{at: 10 * time.Second, fault: pauseRedis(time.Second)},
			{at: 17 * time.Second, fault: killReplica},
			{at: 23 * time.Second, fault: cutPubSub(2 * time.Second)},
		},
	}
	if os.Getenv("ISR_SOAK") == "1" {
		cfg.replicas, cfg.duration = 4, 100*time.Second
		cfg.faults = []nemesisStep{
			{at: 5 * time.Second, fault: killPubSub},
			{at: 12 * time.Second, fault: pauseRedis(time.Second)},
			{at: 22 * time.Second, fault: pauseRedis(3 * time.Second)},
			{at: 35 * time.Second, fault: killReplica},
			{at: 45 * time.Second, fault: cutPubSub(3 * time.Second)},
			{at: 55 * time.Second, fault: pauseRedis(3 * time.Second)},
			{at: 66 * time.Second, fault: killPubSub},
			{at: 72 * time.Second, fault: pauseRedis(2 * time.Second)},
			{at: 82 * time.Second, fault: killReplica},
			{at: 90 * time.Second, fault: cutPubSub(3 * time.Second)},
		}
	} else if testing.Short() {
		t.Skip("the history checker runs for about a minute: not in -short")
	}
	runHistory(t, cfg)
}

// historyConfig is the shape of one checker run.
type historyConfig struct {
	replicas, paths, readers, writers int
	duration, l1MaxAge, strict        time.Duration
	faults                            []nemesisStep
}

// A nemesisStep injects a fault at a time since the start of the traffic.
type nemesisStep struct {
	at    time.Duration
	fault func(t *testing.T, r *historyRun) history.Fault
}

// historyRun is the state of one run: the cluster, its replicas (replaced
// when killed) and the recorded history.
type historyRun struct {
	c   *cluster
	bin string
	env map[string]string

	mu      sync.Mutex
	procs   []*process
	proxies map[string]*linkProxy // each replica's link to Redis, by name
	pids    map[string]string     // registry name suffix "/<pid>" → process name
	h       history.History
}

func runHistory(t *testing.T, cfg historyConfig) {
	c := newCluster(t)
	r := &historyRun{c: c, bin: buildBinary(t), pids: map[string]string{}, proxies: map[string]*linkProxy{},
		env: map[string]string{
			"ISR_REVALIDATE": "3600", "ISR_L1_MAX_AGE": cfg.l1MaxAge.String(),
			"ISR_LOG_LEVEL": "info", "ISR_RENDER_TIMEOUT": "5s",
			"ISR_REVALIDATE_RATE": "0", "ISR_REVALIDATE_RATE_TOTAL": "0",
		}}
	for i := range cfg.replicas {
		r.start(t, fmt.Sprintf("p%d", i+1))
	}
	paths := make([]string, cfg.paths)
	for i := range paths {
		paths[i] = fmt.Sprintf("/h/%d", i)
		mustGet(t, c.client, r.replica(0).URL+paths[i])
	}

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for i := range cfg.replicas {
		for range cfg.readers {
			wg.Add(1)
			go func() { defer wg.Done(); r.readLoop(ctx, i, paths) }()
		}
	}
	versions := &pathVersions{v: map[string]int{}, locks: map[string]*sync.Mutex{}}
	for i := range cfg.writers {
		wg.Add(1)
		go func() { defer wg.Done(); r.writeLoop(ctx, paths, versions, i%2 == 0) }()
	}
	start := time.Now()
	for _, step := range cfg.faults {
		sleepUntil(t, start.Add(step.at))
		f := step.fault(t, r)
		r.mu.Lock()
		r.h.Faults = append(r.h.Faults, f)
		r.mu.Unlock()
		t.Logf("fault %s: %v to %v after the start", f.Name, f.Start.Sub(start).Round(time.Millisecond), f.End.Sub(start).Round(time.Millisecond))
	}
	sleepUntil(t, start.Add(cfg.duration))
	stop()
	wg.Wait()

	// Past every bound, read every page on every replica once more.
	bounds := history.Bounds{Strict: cfg.strict, Relaxed: cfg.l1MaxAge + time.Second,
		Recovery: isrBreakerMaxRecovery, MaxRendersPerRevalidation: 1.1}
	time.Sleep(bounds.Relaxed)
	for i := range cfg.replicas {
		for _, p := range paths {
			r.h.Final = append(r.h.Final, r.read(t.Context(), i, p))
		}
	}
	for _, p := range paths {
		r.h.Renders += c.origin.Renders(p)
	}
	r.h.Paths = len(paths)
	rep := history.Check(r.h, bounds)
	t.Logf("history: %d replicas, %d paths, %v of traffic: %s", cfg.replicas, cfg.paths, cfg.duration, rep)
	if f := os.Getenv("ISR_HISTORY_REPORT"); f != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, v := range rep.Violations() {
		t.Error(v)
	}
}

// isrBreakerMaxRecovery extends each fault window for the replicas'
// circuit breakers to close again after Redis came back (their first
// cooldown is 2s) and their subscriptions to come back (a probe interval).
const isrBreakerMaxRecovery = 3 * time.Second

// start starts replica name (or restarts it in its slot) and records its pid.
func (r *historyRun) start(t *testing.T, name string) *process {
	r.mu.Lock()
	proxy := r.proxies[name]
	if proxy == nil {
		proxy = newLinkProxy(t, r.c.redis.Addr())
		r.proxies[name] = proxy
	}
	r.mu.Unlock()
	env := maps.Clone(r.env)
	env["ISR_REDIS_URL"] = proxy.URL()
	p := r.c.startProcess(t, r.bin, name, env)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pids["/"+strconv.Itoa(p.cmd.Process.Pid)] = name
	for i, old := range r.procs {
		if old.Name == name {
			r.procs[i] = p
			return p
		}
	}
	r.procs = append(r.procs, p)
	return p
}

func (r *historyRun) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.procs)
}

func (r *historyRun) replica(i int) *process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.procs[i]
}

var versionRE = regexp.MustCompile(` v(\d+) `)

// read GETs path from replica i and returns the record of it.
func (r *historyRun) read(ctx context.Context, i int, path string) history.Read {
	p := r.replica(i)
	rd := history.Read{Replica: p.Name, Path: path, Start: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a, err := do(rctx, r.c.client, http.MethodGet, p.URL+path, "")
	rd.End = time.Now()
	if err != nil {
		rd.Err = err.Error()
		return rd
	}
	rd.Status, rd.State = a.Status, a.State
	if m := versionRE.FindStringSubmatch(a.Body); m != nil && strings.HasPrefix(a.Body, path+" ") {
		rd.Version, _ = strconv.Atoi(m[1])
	}
	return rd
}

func (r *historyRun) readLoop(ctx context.Context, i int, paths []string) {
	for ctx.Err() == nil {
		rd := r.read(ctx, i, paths[rand.IntN(len(paths))])
		if ctx.Err() != nil {
			return // a read cut short by the end of the run
		}
		r.mu.Lock()
		r.h.Reads = append(r.h.Reads, rd)
		r.mu.Unlock()
	}
}

// pathVersions hands out the origin's versions: one writer per path at a
// time, so versions and revalidations of a path are in order.
type pathVersions struct {
	mu    sync.Mutex
	v     map[string]int
	locks map[string]*sync.Mutex
}

func (pv *pathVersions) lock(path string) (next int, unlock func()) {
	pv.mu.Lock()
	l := pv.locks[path]
	if l == nil {
		l = &sync.Mutex{}
		pv.locks[path] = l
	}
	pv.mu.Unlock()
	l.Lock()
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return max(pv.v[path], 1) + 1, func() {
		pv.mu.Lock()
		pv.v[path] = max(pv.v[path], 1) + 1
		pv.mu.Unlock()
		l.Unlock()
	}
}

// writeLoop changes a random page at the origin and revalidates it on a
// random replica, with a pause between writes.
func (r *historyRun) writeLoop(ctx context.Context, paths []string, pv *pathVersions, waitAll bool) {
	for ctx.Err() == nil {
		path := paths[rand.IntN(len(paths))]
		v, unlock := pv.lock(path)
		r.c.origin.SetVersion(path, v)
		rv := r.revalidate(ctx, rand.IntN(r.count()), path, v, waitAll)
		unlock()
		if ctx.Err() == nil {
			r.mu.Lock()
			r.h.Revalidations = append(r.h.Revalidations, rv)
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(20+rand.IntN(60)) * time.Millisecond):
		}
	}
}

// revalidate revalidates path eagerly on replica i, waiting for every
// replica's confirmation if waitAll.
func (r *historyRun) revalidate(ctx context.Context, i int, path string, version int, waitAll bool) history.Revalidation {
	p := r.replica(i)
	rv := history.Revalidation{Replica: p.Name, Path: path, Version: version, Start: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	q := "/api/revalidate?mode=eager&path=" + path
	if waitAll {
		q += "&wait=all"
	}
	a, err := do(rctx, r.c.client, http.MethodPost, p.URL+q, "",
		"Authorization", "Bearer "+testSecret)
	rv.End = time.Now()
	if err != nil || a.Status != http.StatusOK {
		return rv
	}
	var res struct {
		Results []struct{ Result string }
		Wait    *struct {
			Acked []string `json:"acked"`
		} `json:"wait"`
	}
	if json.Unmarshal([]byte(a.Body), &res) != nil || len(res.Results) != 1 || res.Results[0].Result != "regenerated" {
		return rv
	}
	rv.OK = true
	if res.Wait != nil {
		rv.Acked = []string{}
		r.mu.Lock()
		for _, name := range res.Wait.Acked {
			for suffix, proc := range r.pids {
				if strings.HasSuffix(name, suffix) {
					rv.Acked = append(rv.Acked, proc)
				}
			}
		}
		r.mu.Unlock()
	}
	return rv
}

// killPubSub kills every pub/sub connection in Redis (CLIENT KILL TYPE
// pubsub): events published until the replicas resubscribe are lost.
func killPubSub(t *testing.T, r *historyRun) history.Fault {
	f := history.Fault{Name: "pubsub connections killed", Start: time.Now()}
	if err := r.c.admin.Do(t.Context(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Errorf("CLIENT KILL TYPE pubsub: %v", err)
	}
	f.End = time.Now()
	return f
}

// pauseRedis stops redis-server with SIGSTOP for d: connections stay open,
// nothing answers; requests that time out meanwhile are executed late.
func pauseRedis(d time.Duration) func(*testing.T, *historyRun) history.Fault {
	return func(t *testing.T, r *historyRun) history.Fault {
		f := history.Fault{Name: "redis paused " + d.String(), Start: time.Now()}
		r.c.redis.Pause()
		time.Sleep(d)
		r.c.redis.Resume()
		f.End = time.Now()
		return f
	}
}

// cutPubSub cuts the first replica's pub/sub link to Redis silently for d
// (see linkProxy): it hears no event, and its data connections still work.
func cutPubSub(d time.Duration) func(*testing.T, *historyRun) history.Fault {
	return func(t *testing.T, r *historyRun) history.Fault {
		p := r.replica(0)
		r.mu.Lock()
		proxy := r.proxies[p.Name]
		r.mu.Unlock()
		f := history.Fault{Name: "pub/sub link of " + p.Name + " cut silently for " + d.String(), Start: time.Now()}
		proxy.setCut(true)
		time.Sleep(d)
		proxy.setCut(false)
		f.End = time.Now()
		return f
	}
}

// killReplica SIGKILLs the last replica and starts it again.
func killReplica(t *testing.T, r *historyRun) history.Fault {
	p := r.replica(r.count() - 1)
	f := history.Fault{Name: "replica " + p.Name + " SIGKILLed", Start: time.Now(), Replica: p.Name}
	p.signal(t, syscall.SIGKILL)
	<-p.exited
	r.start(t, p.Name)
	f.End = time.Now()
	return f
}

func sleepUntil(t *testing.T, when time.Time) {
	select {
	case <-t.Context().Done():
	case <-time.After(time.Until(when)):
	}
}
