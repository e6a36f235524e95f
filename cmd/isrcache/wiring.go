package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/isrcache/isrcache/internal/config"
	"github.com/isrcache/isrcache/internal/redact"
	"github.com/isrcache/isrcache/internal/secretfile"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrbreaker"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// redisPingTimeout bounds the startup check that Redis answers.
const redisPingTimeout = 5 * time.Second

// The log's buffer (see asyncWriter): written at least every
// logFlushInterval, or once it holds logBufferBytes.
const (
	logFlushInterval = 250 * time.Millisecond
	logBufferBytes   = 256 << 10
)

// newLogger returns a JSON logger writing to w at level, tagged with the
// host name (the pod name in Kubernetes), and the function that flushes it
// and stops its flusher, to call once at exit. Every byte it writes, to w
// or to errw (zap's own errors), passes through scrub first, one entry at a
// time, so that no line at any level can show a secret, whatever field or
// message carries it.
//
// Lines are buffered and written by a goroutine of their own (asyncWriter)
// at least every logFlushInterval, on Sync (after the "listening" line),
// and at exit: one write(2) per request line cost about a tenth of a HIT's
// throughput, and a full buffer written inline by the request that filled
// it showed in the p99 (docs/benchmarks.md). A process killed with SIGKILL
// loses at most the last logFlushInterval of lines; a fatal entry is
// written at once.
func newLogger(w, errw io.Writer, level zapcore.Level, scrub *redact.Scrubber) (*zap.Logger, func()) {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	// Scrubbing runs outside the lock: only the write itself is serialised
	// (the buffer has a lock of its own).
	buf := newAsyncWriter(zapcore.AddSync(w), logBufferBytes, logFlushInterval)
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), scrub.WriteSyncer(buf), level)
	log := zap.New(core, zap.ErrorOutput(scrub.WriteSyncer(zapcore.Lock(zapcore.AddSync(errw)))))
	if host, err := os.Hostname(); err == nil {
		log = log.With(zap.String("replica", host))
	}
	return log, func() { _ = buf.Stop() }
}

// openBackend returns the page store and the regeneration budget: in
// memory when no Redis URL is set, else on Redis in the configured (or
// detected) mode, checked with a PING, with hooks added to its client.
// close releases them.
func openBackend(ctx context.Context, cfg config.Config, log *zap.Logger, onApply func(time.Duration), hooks ...redis.Hook) (b isr.Backend, budget isr.Budget, close func(), err error) {
	if cfg.RedisURL == "" {
		log.Warn("embedded in-memory store: one replica only",
			zap.String("hint", "set ISR_REDIS_URL to share pages between replicas"))
		return isrmem.New(nil), isrmem.NewBudget(cfg.RegenBudget, nil), func() {}, nil
	}
	// go-redis logs pool and reconnect trouble through a process-wide
	// logger, in plain text on stderr by default: route it into our JSON log.
	redis.SetLogger(redisLog{log.With(zap.String("component", "go-redis"))})
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	poolSize := 10 * runtime.GOMAXPROCS(0)
	client, mode, err := isrredis.Connect(pctx, cfg.RedisURL, &isrredis.ConnectOptions{
		Mode: cfg.RedisMode, PoolSize: poolSize, Hooks: hooks})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("redis unreachable: %w", err)
	}
	log.Info("redis connected", zap.String("redis", cfg.RedactedRedisURL()), zap.String("mode", string(mode)),
		zap.Int("pool_size", poolSize))
	closeClient := func() {
		if err := client.Close(); err != nil {
			log.Warn("closing redis", zap.Error(err))
		}
	}
	return isrredis.New(client, &isrredis.Options{Prefix: cfg.KeyPrefix, Mode: mode, Replica: replicaName(), OnApply: onApply}), isrredis.NewBudget(client, cfg.KeyPrefix, cfg.RegenBudget), closeClient, nil
}

// replicaName is the name under which this replica registers in Redis and
// confirms revalidations with wait=all: the host name (the pod name in
// Kubernetes) and the process id, unique even with several replicas on
// one host.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "isrcache"
	}
	return host + "/" + strconv.Itoa(os.Getpid())
}

// guard puts a circuit breaker with the default options (see
// isrbreaker.Options: each call bounded to 500ms, open after 5 failures in
// a row) in front of a Redis backend, so that a hung Redis costs a request
// at most one call's deadline, then nothing while the breaker is open. Its
// state changes go to onChange (the metrics) and the log. The in-memory
// backend cannot hang and is returned as is.
func guard(b isr.Backend, log *zap.Logger, onChange func(from, to isrbreaker.State)) isr.Backend {
	if _, ok := b.(*isrredis.Backend); !ok {
		return b
	}
	return isrbreaker.New(b, isrbreaker.Options{OnStateChange: func(from, to isrbreaker.State) {
		onChange(from, to)
		msg, fields := "redis circuit breaker "+to.String(), []zap.Field{zap.String("from", from.String())}
		if to == isrbreaker.Open {
			log.Warn(msg, append(fields, zap.String("effect",
				"store calls fail at once: pages come from the hot cache, or from the origin unstored"))...)
			return
		}
		log.Info(msg, fields...)
	}})
}

// newOrigin returns the origin renderer and the reverse proxy for requests
// that bypass the cache. They share one transport, whose
// ResponseHeaderTimeout is the render timeout.
func newOrigin(cfg config.Config, log *zap.Logger) (isr.Origin, http.Handler) {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: cfg.RenderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		ForceAttemptHTTP2:     true,
	}
	origin := &isr.HTTPOrigin{URL: cfg.Origin, Client: &http.Client{Transport: transport}}
	proxy := newProxy(cfg.Origin, transport, log)
	return origin, proxy
}

// newHTTPServer returns the http.Server of handler with every timeout set.
// WriteTimeout leaves room for a cold miss that waits for another replica's
// render and then renders itself.
func newHTTPServer(cfg config.Config, handler http.Handler, log *zap.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2*cfg.RenderTimeout + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log),
	}
}

// redisLog adapts a zap logger to go-redis's logging interface.
type redisLog struct{ log *zap.Logger }

// Printf logs one go-redis message as a warning.
func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...))
}

// secrets are the secrets of a replica that may change while it runs, each
// a source of its current value: a file read again when it changes, a
// fixed value, or nil when not set.
type secrets struct {
	token, previous func() string // of /api/revalidate
	previewID       func() string // the Next.js preview id (changes with Next's builds)
}

// openSecrets opens the secret sources of cfg.
func openSecrets(cfg config.Config) (secrets, error) {
	var s secrets
	var err error
	if s.token, err = secretSource("ISR_REVALIDATE_SECRET_FILE", cfg.RevalidateSecretFile, cfg.RevalidateSecret); err != nil {
		return s, err
	}
	if s.previous, err = secretSource("ISR_REVALIDATE_SECRET_PREVIOUS_FILE", cfg.RevalidateSecretPreviousFile, cfg.RevalidateSecretPrevious); err != nil {
		return s, err
	}
	s.previewID, err = secretSource("ISR_NEXTJS_PREVIEW_ID_FILE", cfg.NextPreviewIDFile, cfg.NextPreviewID)
	return s, err
}

// follow returns scrub following every source of s.
func (s secrets) follow(scrub *redact.Scrubber) *redact.Scrubber {
	for _, src := range []func() string{s.token, s.previous, s.previewID} {
		if src != nil {
			scrub = scrub.Follow(src)
		}
	}
	return scrub
}

// tokens returns the current revalidate tokens, for server.Options.Tokens.
func (s secrets) tokens() (secret, previous string) {
	return current(s.token), current(s.previous)
}

// current returns src's value, or "" for a nil src.
func current(src func() string) string {
	if src == nil {
		return ""
	}
	return src()
}

// secretSource returns the source of a secret: the file, read again when
// it changes, if file is set; else the fixed value; nil if neither is.
// name names the file's setting in errors.
func secretSource(name, file, fixed string) (func() string, error) {
	switch {
	case file != "":
		f, err := secretfile.Open(file, secretfile.Options{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return f.Value, nil
	case fixed != "":
		return func() string { return fixed }, nil
	}
	return nil, nil
}
