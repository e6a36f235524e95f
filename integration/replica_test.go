package integration

import (
	"fmt"
	"testing"

	"github.com/isrcache/isrcache/internal/replicatest"
)

// replicaConfig configures in-process replicas (see replicatest.Config;
// the store, the origin and the token are the cluster's).
type replicaConfig = replicatest.Config

// replica is an in-process isrcache replica (see replicatest.Replica).
type replica = replicatest.Replica

// startReplicas starts n replicas named r1..rn with cfg, and returns once
// every one of them is subscribed to the event channel. They stop at the
// end of the test; their logs are printed if it failed.
func (c *cluster) startReplicas(t *testing.T, n int, cfg replicaConfig) []*replica {
	t.Helper()
	reps := make([]*replica, n)
	for i := range reps {
		reps[i] = c.startReplica(t, fmt.Sprintf("r%d", i+1), cfg)
	}
	return reps
}

// startReplica starts one replica of the cluster and waits for its event
// subscription.
func (c *cluster) startReplica(t *testing.T, name string, cfg replicaConfig) *replica {
	t.Helper()
	cfg.RedisURL, cfg.OriginURL, cfg.Secret = c.redisURL, c.origin.URL, testSecret
	return replicatest.Start(t, name, cfg)
}
