package isrredis

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/redis/go-redis/v9"
)

// Replica registry and delivery confirmation.
//
// Every Listen call registers its replica in the sorted set
// <prefix>:replicas, with an expiry (by Redis's clock) renewed at every
// delivery probe and at every attempt to subscribe: a replica that stops
// listening, dies or cannot reach Redis leaves the live set after
// ReplicaTTL; one that reaches Redis but hears no events (its subscription
// is cut) stays, and does not confirm.
//
// Confirm publishes a barrier message "0 b <nonce> <name>" on the event
// channel. Redis delivers a channel's messages to each subscriber in the
// order they were published, and a listener applies each event (through
// the engine's callback, which returns once the hot cache dropped the
// page) before it reads the next message: so a listener that receives the
// barrier has applied every event published before it. It then answers
// "0 a <nonce> <its name>", which the confirming backend's own listener
// hands to the waiting Confirm call. A listener that reconnected in
// between sent a Reset first (every copy dropped), which confirms as well.
//
// The order holds for the messages of one Redis server. On Redis Cluster,
// PUBLISH is relayed between nodes and messages published on different
// nodes may reach a subscriber in either order: a barrier published on one
// node can overtake an event published by another node's script, so a
// confirmation there is a strong hint, not a proof.

//go:embed lua/heartbeat.lua
var heartbeatLua string

//go:embed lua/replicas.lua
var replicasLua string

// DefaultReplicaTTL is how long a replica stays in the live set after its
// last heartbeat, when the delivery probe runs every DefaultProbeInterval.
const DefaultReplicaTTL = 5 * DefaultProbeInterval

var _ isr.Confirmer = (*Backend)(nil)

func (b *Backend) replicasKey() string { return b.prefix + ":replicas" }

// Replicas returns the names of the live replicas, sorted.
func (b *Backend) Replicas(ctx context.Context) ([]string, error) {
	names, err := b.replicasScript.Run(ctx, b.client, []string{b.replicasKey()}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("isrredis: replicas: %w", err)
	}
	return names, nil
}

// heartbeat registers name as live for the replica TTL.
func (b *Backend) heartbeat(ctx context.Context, name string) error {
	return b.heartbeatScript.Run(ctx, b.client, []string{b.replicasKey()}, name, ms(b.replicaTTL)).Err()
}

// leave removes name from the live set.
func (b *Backend) leave(ctx context.Context, name string) {
	_ = b.client.ZRem(ctx, b.replicasKey(), name).Err()
}

// Confirm waits until every live replica's listener has applied every
// event published before the call, or ctx is done; see [isr.Confirmer]. It
// needs a Listen call running on this Backend, which receives the
// acknowledgements: without one, no replica is ever confirmed.
func (b *Backend) Confirm(ctx context.Context) (isr.Confirmation, error) {
	start := time.Now()
	nonce, w := b.acks.open()
	defer b.acks.close(nonce)
	live, err := b.Replicas(ctx)
	if err != nil {
		return isr.Confirmation{}, fmt.Errorf("isrredis: confirm: %w", err)
	}
	barrier := message{kind: 'b', gen: nonce, key: b.name}.String()
	sent, err := b.publishBarrier(ctx, barrier)
	if err != nil {
		return isr.Confirmation{}, fmt.Errorf("isrredis: confirm: %w", err)
	}
	w.mu.Lock()
	w.need = sent
	w.mu.Unlock()
	for {
		acked := w.names()
		if isr.NewConfirmation(live, acked, 0).Complete() {
			return isr.NewConfirmation(live, acked, time.Since(start)), nil
		}
		select {
		case <-w.notify:
		case <-ctx.Done():
			return isr.NewConfirmation(live, w.names(), time.Since(start)), nil
		}
	}
}

// ackWaits are the Confirm calls waiting for acknowledgements, by nonce.
type ackWaits struct {
	mu sync.Mutex
	m  map[int64]*ackWait
}

// ackWait collects the acknowledgements of one barrier.
type ackWait struct {
	mu     sync.Mutex
	acked  []string
	need   int           // acknowledgements a replica sends: one per copy of the barrier
	notify chan struct{} // capacity 1: signalled at each acknowledgement
}

func (a *ackWaits) open() (int64, *ackWait) {
	var buf [8]byte
	_, _ = rand.Read(buf[:])
	nonce := int64(binary.BigEndian.Uint64(buf[:]) >> 1) // >= 0, as a message's gen
	w := &ackWait{notify: make(chan struct{}, 1)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[int64]*ackWait{}
	}
	a.m[nonce] = w
	return nonce, w
}

func (a *ackWaits) close(nonce int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, nonce)
}

// deliver records name's acknowledgement of the barrier nonce, if a
// Confirm call of this backend waits for it. It never blocks.
func (a *ackWaits) deliver(nonce int64, name string) {
	a.mu.Lock()
	w := a.m[nonce]
	a.mu.Unlock()
	if w == nil {
		return
	}
	w.mu.Lock()
	w.acked = append(w.acked, name)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// names returns the replicas that acknowledged every copy of the barrier.
func (w *ackWait) names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	count := map[string]int{}
	var out []string
	for _, n := range w.acked {
		if count[n]++; count[n] == max(w.need, 1) {
			out = append(out, n)
		}
	}
	return out
}

// publishBarrier publishes barrier and returns how many copies were sent.
// A channel's messages reach a subscriber in the order they were published
// only when they come from one node: on Redis Cluster, where the scripts'
// events are published by the master of their slot and relayed over the
// cluster bus, the barrier is published on every master, and a replica has
// applied every event published before it once it acknowledged every copy.
func (b *Backend) publishBarrier(ctx context.Context, barrier string) (int, error) {
	cc, ok := b.client.(*redis.ClusterClient)
	if !ok {
		return 1, b.client.Publish(ctx, b.channel(), barrier).Err()
	}
	var mu sync.Mutex
	n := 0
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if err := m.Publish(ctx, b.channel(), barrier).Err(); err != nil {
			return err
		}
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	})
	return n, err
}
