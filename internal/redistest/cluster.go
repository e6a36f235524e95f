package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterArgs are the settings of every cluster node: a short node timeout,
// so that a failover takes about two seconds, replicas that may always be
// promoted, diskless replication without delay, and slots served by the
// masters that are up while another master is down.
var clusterArgs = []string{
	"--cluster-enabled", "yes",
	"--cluster-config-file", "nodes.conf",
	"--cluster-node-timeout", "1000",
	"--cluster-replica-validity-factor", "0",
	"--cluster-require-full-coverage", "no",
	"--repl-diskless-sync-delay", "0",
	"--appendonly", "no",
}

// Cluster is a Redis Cluster on loopback: three masters with one replica
// each, created by redis-cli --cluster create. Nodes are redis-server
// children of the test, killed at its end.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
}

// StartCluster starts six cluster-enabled redis-servers, joins them into a
// cluster of three masters with one replica each, and waits until every
// node reports cluster_state:ok and every master has its replica in sync.
// opts apply to every node.
func StartCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redistest: redis-cli not found on PATH (install redis-tools): %v", err)
	}
	c := &Cluster{t: t}
	var wg sync.WaitGroup
	c.Nodes = make([]*Server, 6)
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Nodes[i] = Start(t, append([]Option{WithArgs(clusterArgs...)}, opts...)...)
		}()
	}
	wg.Wait()
	for _, n := range c.Nodes {
		if n == nil {
			t.FailNow() // Start reported why
		}
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, tail(string(out)))
	}
	c.WaitHealthy()
	return c
}

// Seeds returns every node's host:port.
func (c *Cluster) Seeds() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// URL returns a cluster URL as go-redis's ParseClusterURL reads it: the first
// node as the host, and the second as an addr= seed.
func (c *Cluster) URL() string {
	return "redis://" + c.Nodes[0].Addr() + "?addr=" + c.Nodes[1].Addr()
}

// Client returns a cluster client with short timeouts, closed at the end of
// t.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	o := testOptions()
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: c.Seeds(), DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		PoolTimeout: o.PoolTimeout, MaxRetries: o.MaxRetries, ContextTimeoutEnabled: true,
		ClusterStateReloadInterval: time.Second, // learn of a promoted replica soon
	})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Node returns the node listening on addr, or nil.
func (c *Cluster) Node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// Master returns the node serving slot as a master, asked of the first node
// that answers, or nil.
func (c *Cluster) Master(slot int) *Server {
	for _, n := range c.Nodes {
		slots, err := nodeClient(n).ClusterSlots(context.Background()).Result()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if slot >= s.Start && slot <= s.End && len(s.Nodes) > 0 {
				return c.Node(s.Nodes[0].Addr)
			}
		}
		return nil
	}
	return nil
}

// WaitHealthy waits until every node that runs reports cluster_state:ok and
// knows one master per slot range with its replicas in sync; it fails the
// test after 30s.
func (c *Cluster) WaitHealthy() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.healthy()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redistest: cluster not healthy after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// healthy reports why the cluster is not healthy yet, or nil.
func (c *Cluster) healthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	masters := 0
	for _, n := range c.Nodes {
		if !n.running() {
			continue
		}
		rc := nodeClient(n)
		info, err := rc.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr(), err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state not ok", n.Addr())
		}
		repl, err := rc.Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Errorf("%s: %w", n.Addr(), err)
		}
		switch {
		case strings.Contains(repl, "role:master"):
			if strings.Contains(repl, "connected_slaves:0") {
				continue // a master left without a replica, after a kill
			}
			masters++
			if !strings.Contains(repl, ",state=online,") {
				return fmt.Errorf("%s: replica not online", n.Addr())
			}
		case !strings.Contains(repl, "master_link_status:up"):
			return fmt.Errorf("%s: replica link down", n.Addr())
		}
	}
	if masters == 0 {
		return fmt.Errorf("no master with a replica")
	}
	return nil
}

// Failover asks the replica of the master of slot to take over with
// CLUSTER FAILOVER (a coordinated failover: no acknowledged write is lost),
// and waits until it serves the slot. It returns the new master.
func (c *Cluster) Failover(slot int) *Server {
	c.t.Helper()
	old := c.Master(slot)
	if old == nil {
		c.t.Fatalf("redistest: no master for slot %d", slot)
	}
	replica := c.replicaOf(old)
	if err := nodeClient(replica).ClusterFailover(context.Background()).Err(); err != nil {
		c.t.Fatalf("redistest: CLUSTER FAILOVER on %s: %v", replica.Addr(), err)
	}
	c.waitMaster(slot, replica)
	return replica
}

// KillMaster SIGKILLs the master of slot and waits until its replica is
// promoted and serves the slot. It returns the killed node and the new
// master.
func (c *Cluster) KillMaster(slot int) (killed, promoted *Server) {
	c.t.Helper()
	old := c.Master(slot)
	if old == nil {
		c.t.Fatalf("redistest: no master for slot %d", slot)
	}
	replica := c.replicaOf(old)
	old.Kill()
	c.waitMaster(slot, replica)
	return old, replica
}

// replicaOf returns the node that replicates master.
func (c *Cluster) replicaOf(master *Server) *Server {
	c.t.Helper()
	ctx := context.Background()
	id, err := nodeClient(master).ClusterMyID(ctx).Result()
	if err != nil {
		c.t.Fatalf("redistest: CLUSTER MYID on %s: %v", master.Addr(), err)
	}
	for _, n := range c.Nodes {
		if n == master || !n.running() {
			continue
		}
		repl, err := nodeClient(n).Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(repl, "role:slave") {
			continue
		}
		nodes, err := nodeClient(n).ClusterNodes(ctx).Result()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(nodes, "\n") {
			f := strings.Fields(line)
			if len(f) > 3 && strings.Contains(f[2], "myself") && f[3] == id {
				return n
			}
		}
	}
	c.t.Fatalf("redistest: no replica of %s", master.Addr())
	return nil
}

// waitMaster waits up to 30s until want serves slot as a master, as the
// cluster's other live nodes see it.
func (c *Cluster) waitMaster(slot int, want *Server) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := c.Master(slot); m == want {
			if repl, err := nodeClient(want).Info(context.Background(), "replication").Result(); err == nil &&
				strings.Contains(repl, "role:master") {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redistest: %s does not serve slot %d after 30s", want.Addr(), slot)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// MigrateSlot moves slot, with its keys, from its master to the master
// of dst (another slot), the way redis-cli --cluster reshard does:
// SETSLOT IMPORTING / MIGRATING, MIGRATE in batches (clients meanwhile get
// ASK redirections), then SETSLOT NODE on every master (then MOVED).
func (c *Cluster) MigrateSlot(slot, dst int) {
	c.t.Helper()
	ctx := context.Background()
	from, to := c.Master(slot), c.Master(dst)
	if from == nil || to == nil || from == to {
		c.t.Fatalf("redistest: migrate slot %d: masters %v and %v", slot, from, to)
	}
	fc, tc := nodeClient(from), nodeClient(to)
	fromID, err1 := fc.ClusterMyID(ctx).Result()
	toID, err2 := tc.ClusterMyID(ctx).Result()
	if err1 != nil || err2 != nil {
		c.t.Fatalf("redistest: migrate: CLUSTER MYID: %v %v", err1, err2)
	}
	must := func(what string, err error) {
		if err != nil {
			c.t.Fatalf("redistest: migrate slot %d: %s: %v", slot, what, err)
		}
	}
	must("IMPORTING", tc.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromID).Err())
	must("MIGRATING", fc.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", toID).Err())
	host, port := splitAddr(to.Addr())
	for {
		keys, err := fc.ClusterGetKeysInSlot(ctx, slot, 10).Result()
		must("GETKEYSINSLOT", err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "REPLACE", "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		must("MIGRATE", fc.Do(ctx, args...).Err())
	}
	must("NODE on target", tc.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err())
	must("NODE on source", fc.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err())
	for _, n := range c.Nodes {
		if n != from && n != to && n.running() {
			_ = nodeClient(n).Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err() // replicas refuse; fine
		}
	}
}

func splitAddr(addr string) (host, port string) {
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// nodeClient returns a plain client of one node; it is closed when the
// node's test ends.
func nodeClient(n *Server) *redis.Client { return n.plainClient() }
