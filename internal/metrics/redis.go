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
// Redis backend and its lock send, pipeline for a pipeline, and connect for
// the commands go-redis sends to set up a new connection. Any other command
// is "other".
var redisCmds = []string{
	"evalsha", "eval", "get", "ping", "smembers", "subscribe", "publish",
	"pipeline", "connect", "other",
}

// setupCmds are the commands go-redis sends on a new connection. It
// tolerates their error replies (an older Redis lacks CLIENT SETINFO), so
// those are not failures.
var setupCmds = map[string]bool{"hello": true, "client": true, "auth": true, "select": true, "readonly": true}

// RedisHook returns a go-redis hook that counts, times and classifies
// every command and pipeline the client sends. Add it with
// client.AddHook before the client is used. Dials are not counted: a
// failed dial shows as a failed command.
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
		h.record(cmdLabel([]redis.Cmder{cmd}, false), time.Since(start), err)
		return err
	}
}

// ProcessPipelineHook records a pipeline as one command, named pipeline
// (connect for a connection's setup): it failed if any of its commands did.
func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		label := cmdLabel(cmds, true)
		if err == nil {
			for _, c := range cmds {
				if cerr := c.Err(); redisFailed(label, cerr) {
					err = cerr
					break
				}
			}
		}
		h.record(label, time.Since(start), err)
		return err
	}
}

// cmdLabel returns the label of one command, or of a pipeline of cmds.
func cmdLabel(cmds []redis.Cmder, pipeline bool) string {
	setup := len(cmds) > 0
	for _, c := range cmds {
		setup = setup && setupCmds[strings.ToLower(c.Name())]
	}
	switch {
	case setup:
		return "connect"
	case !pipeline && len(cmds) == 1:
		return oneOf(strings.ToLower(cmds[0].Name()), redisCmds)
	}
	return "pipeline"
}

// record counts and times one command.
func (h redisHook) record(cmd string, d time.Duration, err error) {
	h.m.redisDuration.WithLabelValues(cmd).Observe(d.Seconds())
	result := "ok"
	if redisFailed(cmd, err) {
		result = "error"
		h.m.redisErrors.WithLabelValues(cmd).Inc()
	}
	h.m.redisCommands.WithLabelValues(cmd, result).Inc()
}

// redisFailed reports whether err is a failure of a command labelled cmd.
// redis.Nil (a missing key) is an answer; NOSCRIPT is the expected first
// answer of EVALSHA after Redis restarts (the client then sends EVAL); and
// error replies to a connection's setup are tolerated by go-redis.
func redisFailed(cmd string, err error) bool {
	var reply redis.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return false
	case cmd == "connect" && errors.As(err, &reply):
		return false
	}
	return !strings.HasPrefix(err.Error(), "NOSCRIPT ")
}
