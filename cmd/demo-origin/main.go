// Command demo-origin serves the blog from the ISR article, as an origin for
// isrcache demos and tests. See package [blog] for the pages and the admin
// endpoints that make it slow, failing or edited at run time.
//
// Usage:
//
//	demo-origin [-addr :3000] [-delay 0s] [-fail none|500|truncate] [-smaxage 10] [-posts 100] [-padding 0] [-log-level info]
//
// Each flag has an environment variable: DEMO_ADDR, DEMO_DELAY, DEMO_FAIL,
// DEMO_SMAXAGE, DEMO_POSTS, DEMO_PADDING, DEMO_LOG_LEVEL. A flag wins over
// its variable.
//
// "demo-origin healthcheck" checks that the origin listening on DEMO_ADDR
// answers (GET /_admin/config, which renders nothing), for container health
// checks in images without a shell or curl: exit status 0 if it does, 1 if
// not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo-origin:", err)
		os.Exit(1)
	}
}
