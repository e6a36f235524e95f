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
	logStart(cfg, log)
	r, err := start(ctx, cfg, sec, log, stderr)
	if err != nil {
		return err
	}
	defer r.closeBackend()
	return r.run(ctx)
}

// logStart logs the configuration a replica starts with, secrets left out.
func logStart(cfg config.Config, log *zap.Logger) {
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
}

// An app is a started replica: its engine, its servers and their open
// listeners. Nothing is served until run.
type app struct {
	cfg          config.Config
	log          *zap.Logger
	h            *isr.Handler
	srv          *server.Server
	hs           *http.Server
	ln           net.Listener
	ms           *metricsServer
	closeBackend func()
}

// start opens the store, builds the engine and the servers, and opens the
// listeners, logging "listening" with the address.
func start(ctx context.Context, cfg config.Config, sec secrets, log *zap.Logger, stderr io.Writer) (*app, error) {
	m, err := newMetrics()
	if err != nil {
		return nil, &exitError{1, err}
	}
	backend, budget, closeBackend, err := openBackend(ctx, cfg, log, m.EventApplied, m.RedisHook())
	if err != nil {
		return nil, &exitError{1, err}
	}
	r := &app{cfg: cfg, log: log, closeBackend: closeBackend}
	fail := func(code int, err error) (*app, error) {
		closeBackend()
		return nil, &exitError{code, err}
	}
	origin, proxy := newOrigin(cfg, log)
	r.h, err = isr.New(isr.Options{
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
		return fail(2, err)
	}
	if err := watchMetrics(m, r.h, backend); err != nil {
		return fail(1, err)
	}
	r.srv = server.New(server.Options{Handler: r.h, Tokens: sec.tokens,
		RateLimit: server.RateLimit{PerClient: cfg.RevalidateRate, Total: cfg.RevalidateRateTotal,
			TrustedProxies: cfg.TrustedProxies},
		Logger: log, Metrics: mainMetrics(cfg, m.Handler()), Observer: m, WaitTimeout: cfg.RevalidateWaitTimeout})
	r.hs = newHTTPServer(cfg, r.srv, log)
	if r.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fail(1, err)
	}
	if r.ms, err = listenMetrics(cfg, m.Handler(), log); err != nil {
		_ = r.ln.Close()
		return fail(1, err)
	}
	log.Info("listening", zap.String("addr", r.ln.Addr().String()))
	_ = log.Sync() // callers read the address from this line: write it now
	return r, nil
}

// run serves until ctx is done (SIGTERM: drain, then shut down) or a part
// fails, and returns the failure, if any.
func (r *app) run(ctx context.Context) error {
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	runDone := make(chan error, 1)
	go func() { runDone <- r.h.Run(runCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- r.hs.Serve(r.ln) }()
	r.ms.start()

	var failure error
	select {
	case <-ctx.Done():
		r.log.Info("shutting down", zap.Duration("drain_delay", r.cfg.DrainDelay))
		r.srv.Drain()
		sleep(r.cfg.DrainDelay)
	case err := <-serveDone:
		failure = &exitError{1, fmt.Errorf("http server: %w", err)}
		serveDone <- nil
	case err := <-r.ms.failed():
		failure = &exitError{1, fmt.Errorf("metrics server: %w", err)}
	case err := <-runDone:
		if err == nil {
			err = errors.New("returned early")
		}
		failure = &exitError{1, fmt.Errorf("invalidation listener stopped: %w", err)}
		runDone <- nil
	}
	r.shutdown(ctx, serveDone, stopRun, runDone)
	if failure == nil {
		r.log.Info("stopped")
	}
	return failure
}

// shutdown stops, within ShutdownTimeout, the HTTP server (in-flight
// requests finish), then the regenerations, the metrics listener and the
// invalidation listener, logging what did not stop cleanly.
func (r *app) shutdown(ctx context.Context, serveDone <-chan error, stopRun func(), runDone <-chan error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.ShutdownTimeout)
	defer cancel()
	if err := r.hs.Shutdown(sctx); err != nil {
		r.log.Warn("http shutdown", zap.Error(err))
	}
	if err := <-serveDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		r.log.Warn("http server", zap.Error(err))
	}
	if err := r.h.Shutdown(sctx); err != nil {
		r.log.Warn("regenerations did not finish", zap.Error(err))
	}
	r.ms.shutdown(sctx, r.log)
	stopRun()
	if err := <-runDone; err != nil {
		r.log.Warn("invalidation listener", zap.Error(err))
	}
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
