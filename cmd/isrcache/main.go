// Command isrcache is an Incremental Static Regeneration cache in front of
// an origin. Replicas share pages through Redis (ISR_REDIS_URL), or keep
// them in memory when there is one replica. Run isrcache -h for the
// settings.
//
// "isrcache healthcheck" checks that the replica listening on ISR_ADDR is
// ready (GET /readyz), for container health checks in images without a
// shell or curl: exit status 0 if it is, 1 if not.
//
// Exit status: 0 after a graceful shutdown (SIGTERM, SIGINT), 1 on a runtime
// failure (Redis unreachable at startup, listener error), 2 on bad
// configuration.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

// exitError carries the exit status of a failed run. The error has already
// been reported (on stderr or in the log) when run returns it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode returns the process exit status for run's error.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}
