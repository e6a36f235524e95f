//go:build pprof

package main

import (
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// A binary built with -tags pprof serves net/http/pprof on ISR_PPROF_ADDR
// (if set), for profiling under load: `isrload -hotpath -profile FILE`
// builds such a binary. Release builds leave this file out.
func init() {
	addr := os.Getenv("ISR_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
}
