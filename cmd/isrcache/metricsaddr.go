package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/isrcache/isrcache/internal/config"
)

// mainMetrics returns the handler of GET /metrics on the main listener:
// metrics when ISR_METRICS_ADDR is empty, else nil (the path then goes to
// the cache like any page).
func mainMetrics(cfg config.Config, metrics http.Handler) http.Handler {
	if cfg.MetricsAddr != "" {
		return nil
	}
	return metrics
}

// A metricsServer is the separate listener of ISR_METRICS_ADDR. It serves
// GET /metrics and GET /healthz, and answers 404 to anything else. A nil
// *metricsServer stands for no such listener: its methods do nothing.
type metricsServer struct {
	hs   *http.Server
	ln   net.Listener
	done chan error // Serve's result; buffered, so Serve never blocks on it
}

// listenMetrics opens cfg.MetricsAddr for metrics and logs
// {"msg":"listening metrics","addr":"HOST:PORT"} with the actual address.
// It returns nil when cfg.MetricsAddr is empty. It serves nothing until
// start.
func listenMetrics(cfg config.Config, metrics http.Handler, log *zap.Logger) (*metricsServer, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics) // GET patterns match HEAD too
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(log),
	}
	log.Info("listening metrics", zap.String("addr", ln.Addr().String()))
	return &metricsServer{hs: hs, ln: ln, done: make(chan error, 1)}, nil
}

// start serves in a goroutine of its own.
func (s *metricsServer) start() {
	if s == nil {
		return
	}
	go func() { s.done <- s.hs.Serve(s.ln) }()
}

// failed returns a channel that receives Serve's error should it stop
// before shutdown; nil (never ready) when there is no listener.
func (s *metricsServer) failed() <-chan error {
	if s == nil {
		return nil
	}
	return s.done
}

// shutdown stops the listener and waits for running scrapes until ctx is
// done, then closes what is left.
func (s *metricsServer) shutdown(ctx context.Context, log *zap.Logger) {
	if s == nil {
		return
	}
	if err := s.hs.Shutdown(ctx); err != nil {
		log.Warn("metrics shutdown", zap.Error(err))
		_ = s.hs.Close()
	}
}
