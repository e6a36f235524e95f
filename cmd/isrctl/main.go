// Command isrctl is the admin CLI of isrcache: it revalidates, purges and
// inspects pages, and warms the cache, by talking HTTP to any replica (or
// the Service or Ingress in front of them).
//
//	isrctl [-server URL] [-secret-file FILE] [-timeout D] COMMAND [flags] [args]
//
// Run "isrctl -h" for the commands. The token of /api/revalidate and
// /api/inspect comes from ISR_REVALIDATE_SECRET or a file, never from a
// flag value, so that it does not show in ps; it is never printed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
