package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/isrcache/isrcache/internal/config"
	"github.com/isrcache/isrcache/internal/redact"
	"github.com/isrcache/isrcache/internal/server"
	"github.com/isrcache/isrcache/pkg/isr"
)

// run runs one replica until ctx is done, then shuts it down gracefully and
// returns nil. args are the command-line arguments without the program
// name; getenv reads the environment. Logs go to stdout as JSON lines;
// configuration errors go to stderr as one line.
//
// Once the listener is open, run logs {"msg":"listening","addr":"HOST:PORT"}
// with the actual address, so a caller that set ISR_ADDR to 127.0.0.1:0
// learns its port by reading stdout. When ISR_METRICS_ADDR is set, the
// metrics listener is open and logged ({"msg":"listening metrics"}) before
// that line.
//
// When args start with "healthcheck", run only probes a running replica
// and returns: see healthcheck.
//
// Shutdown: /readyz answers 503 at once, the replica keeps serving for
// ISR_DRAIN_DELAY, then the listener closes and in-flight requests and
// regenerations get ISR_SHUTDOWN_TIMEOUT to finish (regeneration locks are
// released), then the metrics listener (if any) closes, the event listener
// stops and Redis is closed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := config.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(stdout)
		return nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "isrcache: %v\n", err)
		return &exitError{2, err}
	}
	sec, err := openSecrets(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "isrcache: %v\n", err)
		return &exitError{1, err}
	}
	// The logger removes every secret from what it writes, whichever value
	// a secret's file holds at the time.
	log, flushLog := newLogger(stdout, stderr, cfg.LogLevel, sec.follow(redact.New(cfg.Secrets()...)))
	defer flushLog()
	if err := serve(ctx, cfg, sec, log, stderr); err != nil {
		log.Error("exiting", zap.Error(err))
		return err
	}
	return nil
}

// serve wires the replica from cfg and its secrets, and serves until ctx
// is done.
func serve(ctx context.Context, cfg config.Config, sec secrets, log *zap.Logger, stderr io.Writer) error {
	log.Info("starting",
		zap.String("origin", cfg.Origin.Redacted()),
		zap.String("redis", cfg.RedactedRedisURL()),
		zap.Bool("revalidate_endpoint", cfg.RevalidateSecret != ""),
		zap.Bool("nextjs_preview_id", cfg.NextPreviewID != ""),
		zap.Int("routes", len(cfg.Routes)),
		zap.Duration("revalidate", cfg.Revalidate))
	if cfg.RevalidateSecret == "" {
		log.Warn("revalidation endpoint disabled: ISR_REVALIDATE_SECRET is empty")
	}
	m, err := newMetrics()
	if err != nil {
		return &exitError{1, err}
	}
	backend, budget, closeBackend, err := openBackend(ctx, cfg, log, m.EventApplied, m.RedisHook())
	if err != nil {
		return &exitError{1, err}
	}
	defer closeBackend()

	origin, proxy := newOrigin(cfg, log)
	h, err := isr.New(isr.Options{
		Backend:       guard(backend, log, m.BreakerStateChange),
		Origin:        m.Origin(origin),
		Next:          proxy,
		Routes:        cfg.Routes,
		Revalidate:    cfg.Revalidate,
		Expire:        cfg.Expire,
		RenderTimeout: cfg.RenderTimeout,
		L1Bytes:       cfg.L1Bytes,
		L1MaxAge:      cfg.L1MaxAge,
		Budget:        budget,
		NextPreviewID: sec.previewID,
		Logger:        log,
		Observer:      m,
	})
	if err != nil {
		fmt.Fprintf(stderr, "isrcache: %v\n", err)
		return &exitError{2, err}
	}
	if err := watchMetrics(m, h, backend); err != nil {
		return &exitError{1, err}
	}
	srv := server.New(server.Options{Handler: h, Tokens: sec.tokens,
		RateLimit: server.RateLimit{PerClient: cfg.RevalidateRate, Total: cfg.RevalidateRateTotal,
			TrustedProxies: cfg.TrustedProxies},
		Logger: log, Metrics: mainMetrics(cfg, m.Handler()), Observer: m, WaitTimeout: cfg.RevalidateWaitTimeout})
	hs := newHTTPServer(cfg, srv, log)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &exitError{1, err}
	}
	ms, err := listenMetrics(cfg, m.Handler(), log)
	if err != nil {
		_ = ln.Close()
		return &exitError{1, err}
	}
	log.Info("listening", zap.String("addr", ln.Addr().String()))
	_ = log.Sync() // callers read the address from this line: write it now

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	runDone := make(chan error, 1)
	go func() { runDone <- h.Run(runCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- hs.Serve(ln) }()
	ms.start()

	var failure error
	select {
	case <-ctx.Done():
		log.Info("shutting down", zap.Duration("drain_delay", cfg.DrainDelay))
		srv.Drain()
		sleep(cfg.DrainDelay)
	case err := <-serveDone:
		failure = &exitError{1, fmt.Errorf("http server: %w", err)}
		serveDone <- nil
	case err := <-ms.failed():
		failure = &exitError{1, fmt.Errorf("metrics server: %w", err)}
	case err := <-runDone:
		if err == nil {
			err = errors.New("returned early")
		}
		failure = &exitError{1, fmt.Errorf("invalidation listener stopped: %w", err)}
		runDone <- nil
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", zap.Error(err))
	}
	if err := <-serveDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http server", zap.Error(err))
	}
	if err := h.Shutdown(sctx); err != nil {
		log.Warn("regenerations did not finish", zap.Error(err))
	}
	ms.shutdown(sctx, log)
	stopRun()
	if err := <-runDone; err != nil {
		log.Warn("invalidation listener", zap.Error(err))
	}
	if failure == nil {
		log.Info("stopped")
	}
	return failure
}

// sleep waits for d.
func sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	<-t.C
}
