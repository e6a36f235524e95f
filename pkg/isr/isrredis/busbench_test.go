package isrredis_test

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/redis/go-redis/v9"
)

// BenchmarkClusterBus measures what one event costs on a Redis Cluster's
// bus (3 masters with a replica each, on loopback): the bus messages and
// bytes per operation, summed over the nodes.
//
//   - publish: a Put of a 10 KiB page, whose script announces it with plain
//     PUBLISH (what the backend does): the master relays the event to
//     every other node.
//   - spublish: the same event message sent with SPUBLISH to a shard
//     channel in the page's slot (the alternative): the master relays it
//     to its own replicas only.
//
// Messages come from CLUSTER INFO (cluster_stats_messages_publish_sent,
// ..._publishshard_sent); bytes from the kernel's per-socket counters of
// the bus connections (ss -ti bytes_sent), less the bytes sent over an
// idle period of the same length (the nodes' pings).
func BenchmarkClusterBus(b *testing.B) {
	if _, err := exec.LookPath("ss"); err != nil {
		b.Skip("ss (iproute2) is not installed: bus bytes cannot be read")
	}
	c := redistest.StartCluster(b)
	cc := c.Client(b)
	be := isrredis.New(cc, &isrredis.Options{Mode: isrredis.ModeCluster, Prefix: "bus"})
	ctx := context.Background()
	page := benchPage("/p")
	page.Tags = nil // the tag step is not part of the event
	ops := map[string]func(i int) error{
		"publish": func(i int) error {
			key := "/p/" + strconv.Itoa(i)
			tok, err := be.Token(ctx, key)
			if err == nil {
				_, err = be.Put(ctx, key, tok, page, time.Hour)
			}
			return err
		},
		"spublish": func(i int) error {
			key := "/p/" + strconv.Itoa(i)
			ch := "bus:events:" + be.PageKey(key)[len("bus:p:"):] // the page's hash tag
			return cc.SPublish(ctx, ch, fmt.Sprintf("%d:%d w %d %s", 0, i+1, 1, key)).Err()
		},
	}
	for _, name := range []string{"publish", "spublish"} {
		b.Run(name, func(b *testing.B) {
			msgs0, bytes0 := busCounters(b, c)
			start := time.Now()
			i := 0
			for b.Loop() {
				if err := ops[name](i); err != nil {
					b.Fatal(err)
				}
				i++
			}
			took := time.Since(start)
			msgs1, bytes1 := busCounters(b, c)
			idle := idleBusBytes(b, c, took)
			b.ReportMetric(float64(msgs1-msgs0)/float64(i), "bus-msgs/op")
			b.ReportMetric(float64(bytes1-bytes0-idle)/float64(i), "bus-bytes/op")
		})
	}
}

// idleBusBytes returns the bus bytes sent while nothing happens for d.
func idleBusBytes(b *testing.B, c *redistest.Cluster, d time.Duration) int64 {
	_, before := busCounters(b, c)
	time.Sleep(d)
	_, after := busCounters(b, c)
	return after - before
}

var bytesSent = regexp.MustCompile(`bytes_sent:(\d+)`)

// busCounters returns the pub/sub messages the nodes sent over the bus
// (plain and sharded) and the bytes sent on every bus connection.
func busCounters(b *testing.B, c *redistest.Cluster) (msgs, bytes int64) {
	b.Helper()
	ports := map[string]bool{}
	for _, n := range c.Nodes {
		addr := n.Addr()
		port, _ := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
		ports[strconv.Itoa(port+10000)] = true
		info, err := redis.NewClient(&redis.Options{Addr: addr}).ClusterInfo(context.Background()).Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			if k == "cluster_stats_messages_publish_sent" || k == "cluster_stats_messages_publishshard_sent" {
				n, _ := strconv.ParseInt(v, 10, 64)
				msgs += n
			}
		}
	}
	out, err := exec.Command("ss", "-tinH", "state", "established").Output()
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(string(out), "\n")
	for i := 0; i+1 < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) < 4 {
			continue
		}
		local, peer := f[2][strings.LastIndex(f[2], ":")+1:], f[3][strings.LastIndex(f[3], ":")+1:]
		if !ports[local] && !ports[peer] {
			continue
		}
		if m := bytesSent.FindStringSubmatch(lines[i+1]); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			bytes += n
		}
	}
	return msgs, bytes
}
