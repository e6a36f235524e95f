package isrredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode is how a replica reaches Redis: one server, a Redis Cluster, or a
// primary found through Sentinel.
type Mode string

// The modes of [Connect]. ModeDetect asks the server.
const (
	ModeDetect   Mode = ""
	ModeSingle   Mode = "single"
	ModeCluster  Mode = "cluster"
	ModeSentinel Mode = "sentinel"
)

// ParseMode reads a mode name: single, cluster, sentinel, or "" (detect).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeDetect, ModeSingle, ModeCluster, ModeSentinel:
		return m, nil
	}
	return "", fmt.Errorf("isrredis: mode %q must be single, cluster or sentinel (or empty: detected)", s)
}

// ConnectOptions configure [Connect]. A nil *ConnectOptions means all
// defaults.
type ConnectOptions struct {
	// Mode selects the client. ModeDetect (the default) reads Sentinel
	// from a master_name= parameter, and otherwise asks the server at the
	// URL's host (INFO server: redis_mode standalone or cluster).
	Mode Mode
	// PoolSize is the connection pool size, per node in a cluster, when
	// the URL has no pool_size. Zero leaves go-redis's default.
	PoolSize int
	// Hooks are added to the client (and, in a cluster, to every node).
	Hooks []redis.Hook
	// Dialer, if set, opens the client's connections instead of
	// go-redis's dialer (for fault injection in tests).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Connect opens the client of rawURL and checks that it answers, bounded by
// ctx. The URL forms are:
//
//   - single: redis://[user:password@]host:port[/db][?option=...], as
//     go-redis's ParseURL reads it;
//   - cluster: redis://[user:password@]host:port[?addr=host:port&...], as
//     go-redis's ParseClusterURL reads it: the host and each addr= are seed
//     nodes, and one seed is enough;
//   - sentinel: redis://[sentinel-user:sentinel-password@]host:port[/db]
//     ?master_name=NAME[&addr=host:port...][&username=U&password=P], as
//     go-redis's ParseFailoverURL reads it: the host and each addr= are
//     sentinels; username and password are the primary's credentials.
//
// Every client gets the bounds of [ClientOptions] unless the URL sets them.
// Connect returns the client, the mode used and an error that never holds
// a password. The caller closes the client.
func Connect(ctx context.Context, rawURL string, opts *ConnectOptions) (redis.UniversalClient, Mode, error) {
	var o ConnectOptions
	if opts != nil {
		o = *opts
	}
	fail := func(err error) (redis.UniversalClient, Mode, error) {
		return nil, "", fmt.Errorf("isrredis: Redis URL %q: %w", RedactURL(rawURL), scrub(err, rawURL))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fail(err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fail(errors.New("scheme must be redis or rediss"))
	}
	mode := o.Mode
	if mode == ModeDetect {
		if mode, err = detect(ctx, u, o.Dialer); err != nil {
			return fail(err)
		}
	}
	client, err := newClient(rawURL, mode, o.PoolSize, o.Dialer)
	if err != nil {
		return fail(err)
	}
	for _, h := range o.Hooks {
		client.AddHook(h)
	}
	if err := check(ctx, client, mode); err != nil {
		_ = client.Close()
		return fail(fmt.Errorf("%s mode: %w", mode, err))
	}
	return client, mode, nil
}

// newClient builds the go-redis client of mode with the package's bounds.
func newClient(rawURL string, mode Mode, poolSize int, dialer func(context.Context, string, string) (net.Conn, error)) (redis.UniversalClient, error) {
	switch mode {
	case ModeSingle:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		bound(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
		o.ContextTimeoutEnabled = true
		setDefaultInt(&o.PoolSize, poolSize)
		o.Dialer = dialer
		return redis.NewClient(o), nil
	case ModeCluster:
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, err
		}
		bound(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
		o.ContextTimeoutEnabled = true
		setDefaultInt(&o.PoolSize, poolSize)
		o.Dialer = dialer
		// go-redis learns of a promoted replica from a MOVED reply or its
		// periodic reload of the slot map, every 60s by default: a master
		// that died (no MOVED from it) would fail its slots that long.
		setDefault(&o.ClusterStateReloadInterval, ClusterReloadInterval)
		return redis.NewClusterClient(o), nil
	case ModeSentinel:
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, err
		}
		if o.MasterName == "" {
			return nil, errors.New("sentinel mode needs master_name=<name of the primary>")
		}
		bound(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
		o.ContextTimeoutEnabled = true
		setDefaultInt(&o.PoolSize, poolSize)
		o.Dialer = dialer
		return redis.NewFailoverClient(o), nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// ClusterReloadInterval is how often a cluster client reloads the slot map
// (one CLUSTER SLOTS) while it is used, unless the URL says otherwise.
const ClusterReloadInterval = time.Second

// bound sets the package's default timeouts and retries where unset.
func bound(dial, read, write, pool *time.Duration, retries *int) {
	setDefault(dial, 2*time.Second)
	setDefault(read, time.Second)
	setDefault(write, time.Second)
	setDefault(pool, 2*time.Second)
	setDefaultInt(retries, 1)
}

func setDefaultInt(n *int, v int) {
	if *n == 0 {
		*n = v
	}
}

// detect tells the mode of the server at u's host: Sentinel when the URL
// names a primary, else what INFO server says.
func detect(ctx context.Context, u *url.URL, dialer func(context.Context, string, string) (net.Conn, error)) (Mode, error) {
	q := u.Query()
	if q.Get("master_name") != "" {
		return ModeSentinel, nil
	}
	probe := &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}
	o, err := redis.ParseURL(probe.String())
	if err != nil {
		return "", err
	}
	bound(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
	o.MaxRetries, o.ContextTimeoutEnabled, o.Dialer = -1, true, dialer
	c := redis.NewClient(o)
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("detect the mode (set ISR_REDIS_MODE to skip): %w", err)
	}
	switch m := infoField(info, "redis_mode"); m {
	case "cluster":
		return ModeCluster, nil
	case "sentinel":
		return "", errors.New("the server is a Sentinel: add master_name=<name of the primary> to the URL")
	case "standalone", "":
		if q.Has("addr") {
			return "", errors.New("addr= seeds are for a Redis Cluster (or sentinels with master_name=), but the server is standalone")
		}
		return ModeSingle, nil
	default:
		return "", fmt.Errorf("unknown redis_mode %q", m)
	}
}

// infoField returns the value of name in an INFO reply, or "".
func infoField(info, name string) string {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && k == name {
			return v
		}
	}
	return ""
}

// check asks the client for PING and, in a cluster, that every slot is
// served.
func check(ctx context.Context, c redis.UniversalClient, mode Mode) error {
	if err := c.Ping(ctx).Err(); err != nil {
		return err
	}
	if mode != ModeCluster {
		return nil
	}
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if s := infoField(info, "cluster_state"); s != "ok" {
		return fmt.Errorf("cluster_state is %q, want ok", s)
	}
	return nil
}
