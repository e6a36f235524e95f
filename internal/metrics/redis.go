package metrics

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisCmds are the command labels of the Redis metrics: the commands the
// Redis backend and its lock send, and pipeline for a pipeline. Any other
// command is "other".
var redisCmds = []string{
	"evalsha", "eval", "get", "ping", "smembers", "subscribe", "publish",
	"hello", "client", "pipeline", "other",
}

// RedisHook returns a go-redis hook that counts, times and classifies
// every command and pipeline the client sends. Add it with
// client.AddHook before the client is used. Connections are not counted;
// a failed dial shows as a failed command.
func (m *Metrics) RedisHook() redis.Hook {
	return redisHook{m}
}

// redisHook is the redis.Hook that Metrics.RedisHook returns.
type redisHook struct{ m *Metrics }

// DialHook passes dials through.
func (redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook records one command.
func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.record(oneOf(strings.ToLower(cmd.Name()), redisCmds), time.Since(start), err)
		return err
	}
}

// ProcessPipelineHook records a pipeline as one command named pipeline:
// it failed if any of its commands did.
func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		if err == nil {
			for _, c := range cmds {
				if cerr := c.Err(); redisFailed(cerr) {
					err = cerr
					break
				}
			}
		}
		h.record("pipeline", time.Since(start), err)
		return err
	}
}

// record counts and times one command.
func (h redisHook) record(cmd string, d time.Duration, err error) {
	h.m.redisDuration.WithLabelValues(cmd).Observe(d.Seconds())
	result := "ok"
	if redisFailed(err) {
		result = "error"
		h.m.redisErrors.WithLabelValues(cmd).Inc()
	}
	h.m.redisCommands.WithLabelValues(cmd, result).Inc()
}

// redisFailed reports whether err is a failure. redis.Nil (a missing key)
// is an answer, and NOSCRIPT is the expected first answer of EVALSHA after
// Redis restarts (the client then sends EVAL).
func redisFailed(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	return !strings.HasPrefix(err.Error(), "NOSCRIPT ")
}
