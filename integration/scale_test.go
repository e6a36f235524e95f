package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// Sizes of the scale simulation: the replicas of one deployment and the
// body of every page.
const (
	simReplicas = 20
	simBody     = 4 << 10
)

// BenchmarkScale simulates simReplicas replicas in one process (each an
// isr.Handler with its own go-redis client and event listener) in front of
// a Redis Cluster (3 masters + 3 replicas, cluster mode: 256 event shards),
// with 2,000 and 10,000 pages of 4 KiB. Each op is one visit, to a page
// drawn from a Zipf distribution (s = 1.1), on a replica drawn at random;
// pages stay fresh (s-maxage=3600): the steady state between regenerations.
// It reports, as measured:
//
//   - redis-cmds/req: the Redis commands the replicas sent per visit (a
//     go-redis hook counts each command, pipelined ones included), less
//     the background (event probes, shard counter polls, heartbeats)
//     measured over an idle period;
//   - bg-cmds/s/replica: that background, per replica and second;
//   - heap-MB/replica: the Go heap in use after the run (after GC), less
//     before the replicas started, per replica;
//   - l1-MB/replica: the hot cache's bytes, per replica;
//   - redis-KB/page: the masters' used_memory, less before the pages were
//     stored, per page.
//
// docs/scale.md extrapolates them to 20 replicas and 100,000 pages.
func BenchmarkScale(b *testing.B) {
	rc := redistest.StartCluster(b)
	for _, pages := range []int{2000, 10000} {
		b.Run("pages="+strconv.Itoa(pages), func(b *testing.B) { simulate(b, rc, pages) })
	}
}

// simulate runs one simulation on rc with its own key prefix.
func simulate(b *testing.B, rc *redistest.Cluster, pages int) {
	ctx := context.Background()
	admin := rc.Client(b)
	body := strings.Repeat("x", simBody)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "s-maxage=3600")
		_, _ = w.Write([]byte(body))
	})
	prefix := fmt.Sprintf("sim%d", pages)
	memBefore := usedMemory(b, admin)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse

	var cmds atomic.Int64
	hs := make([]*isr.Handler, simReplicas)
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	for i := range hs {
		client, mode, err := isrredis.Connect(ctx, rc.URL(), &isrredis.ConnectOptions{
			Mode: isrredis.ModeCluster, PoolSize: 8, Hooks: []redis.Hook{counter{&cmds}}})
		if err != nil {
			b.Fatal(err)
		}
		be := isrredis.New(client, &isrredis.Options{Mode: mode, Prefix: prefix, Replica: "sim" + strconv.Itoa(i)})
		if hs[i], err = isr.New(isr.Options{Backend: be, Next: origin, Budget: isrredis.NewBudget(client, prefix, isr.DefaultRegenBudget)}); err != nil {
			b.Fatal(err)
		}
		running.Go(func() { _ = hs[i].Run(runCtx) })
		b.Cleanup(func() { _ = client.Close() })
	}
	b.Cleanup(func() { stop(); running.Wait() })
	visit := func(r, p int) {
		w := httptest.NewRecorder()
		hs[r].ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/sim/"+strconv.Itoa(p), nil))
		if w.Code != http.StatusOK {
			b.Fatalf("GET /sim/%d on replica %d: %d", p, r, w.Code)
		}
	}
	for p := range pages { // the first visit of every page stores it
		visit(p%simReplicas, p)
	}
	idle := time.Second
	bg0 := cmds.Load()
	time.Sleep(idle)
	bgPerSec := float64(cmds.Load()-bg0) / idle.Seconds()

	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, uint64(pages-1))
	pick := rand.New(rand.NewPCG(3, 4))
	n, start, c0 := 0, time.Now(), cmds.Load()
	for b.Loop() {
		visit(pick.IntN(simReplicas), int(zipf.Uint64()))
		n++
	}
	took := time.Since(start)
	reqCmds := float64(cmds.Load()-c0) - bgPerSec*took.Seconds()

	runtime.GC()
	runtime.ReadMemStats(&ms)
	var l1 int64
	for _, h := range hs {
		l1 += h.Stats().L1Bytes
	}
	b.ReportMetric(max(reqCmds, 0)/float64(n), "redis-cmds/req")
	b.ReportMetric(bgPerSec/simReplicas, "bg-cmds/s/replica")
	b.ReportMetric(float64(int64(ms.HeapInuse)-int64(heapBefore))/simReplicas/(1<<20), "heap-MB/replica")
	b.ReportMetric(float64(l1)/simReplicas/(1<<20), "l1-MB/replica")
	b.ReportMetric(float64(usedMemory(b, admin)-memBefore)/float64(pages)/1024, "redis-KB/page")
}

// usedMemory sums the masters' used_memory.
func usedMemory(b *testing.B, cc *redis.ClusterClient) int64 {
	var mu sync.Mutex
	var sum int64
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		info, err := m.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				mu.Lock()
				sum += n
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return sum
}

// counter is a go-redis hook counting the commands a client sends.
type counter struct{ n *atomic.Int64 }

func (c counter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (c counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
