package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MasterName is the name the Sentinel group monitors its primary under.
const MasterName = "mymaster"

// Sentinels is a Sentinel group on loopback: a primary, one replica and
// three sentinels (quorum 2) that promote the replica within about two
// seconds of the primary failing.
type Sentinels struct {
	t         testing.TB
	Servers   []*Server // the primary first, then its replica
	Sentinels []*Server
}

// StartSentinel starts the primary, its replica and three sentinels, and
// waits until each sentinel knows the replica and the other sentinels.
func StartSentinel(t testing.TB) *Sentinels {
	t.Helper()
	g := &Sentinels{t: t}
	master := Start(t, WithArgs("--repl-diskless-sync-delay", "0"))
	replica := Start(t, WithArgs("--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", strconv.Itoa(master.port)))
	g.Servers = []*Server{master, replica}
	conf := func(int) string {
		return fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\n"+
			"sentinel parallel-syncs %[1]s 1\n", MasterName, master.port)
	}
	for range 3 {
		g.Sentinels = append(g.Sentinels, Start(t, func(c *config) { c.sentinelConf = conf }))
	}
	g.wait("the group to form", func() error {
		for _, s := range g.Sentinels {
			res, err := s.plainClient().Do(context.Background(), "SENTINEL", "MASTER", MasterName).Result()
			if err != nil {
				return err
			}
			m := stringMap(res)
			if m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
				return fmt.Errorf("%s: %s replicas, %s other sentinels", s.Addr(), m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return g.replicaInSync()
	})
	return g
}

// URL returns the group's URL as go-redis's ParseFailoverURL reads it: the
// first sentinel as host, the others as addr= parameters, and master_name.
func (g *Sentinels) URL() string {
	return "redis://" + g.Sentinels[0].Addr() + "/0?master_name=" + MasterName +
		"&addr=" + g.Sentinels[1].Addr() + "&addr=" + g.Sentinels[2].Addr()
}

// Master returns the server the sentinels name as the primary, or nil.
func (g *Sentinels) Master() *Server {
	for _, s := range g.Sentinels {
		if !s.running() {
			continue
		}
		addr, err := s.plainClient().Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName).StringSlice()
		if err != nil || len(addr) != 2 {
			continue
		}
		for _, n := range g.Servers {
			if n.Addr() == net.JoinHostPort(addr[0], addr[1]) {
				return n
			}
		}
	}
	return nil
}

// Failover runs SENTINEL FAILOVER and waits until the former replica is
// the primary and the former primary replicates it. It returns the new
// primary.
func (g *Sentinels) Failover() *Server {
	g.t.Helper()
	old := g.Master()
	if err := g.Sentinels[0].plainClient().Do(context.Background(), "SENTINEL", "FAILOVER", MasterName).Err(); err != nil {
		g.t.Fatalf("redistest: SENTINEL FAILOVER: %v", err)
	}
	var now *Server
	g.wait("the failover", func() error {
		if now = g.Master(); now == nil || now == old {
			return fmt.Errorf("the primary is still %v", old.Addr())
		}
		return g.replicaInSync()
	})
	return now
}

// replicaInSync reports why the replica of the primary is not in sync yet.
func (g *Sentinels) replicaInSync() error {
	for _, n := range g.Servers {
		repl, err := n.plainClient().Info(context.Background(), "replication").Result()
		if err != nil {
			return err
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("%s: replica link down", n.Addr())
		}
	}
	return nil
}

// wait polls cond until it returns nil, failing the test after 30s.
func (g *Sentinels) wait(what string, cond func() error) {
	g.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("redistest: waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stringMap reads a RESP3 map or a RESP2 flat list of fields and values.
func stringMap(v any) map[string]string {
	m := map[string]string{}
	switch v := v.(type) {
	case map[any]any:
		for k, x := range v {
			m[fmt.Sprint(k)] = fmt.Sprint(x)
		}
	case []any:
		for i := 0; i+1 < len(v); i += 2 {
			m[fmt.Sprint(v[i])] = fmt.Sprint(v[i+1])
		}
	}
	return m
}
