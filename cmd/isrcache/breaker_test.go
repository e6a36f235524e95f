package main

import (
	"testing"

	"go.uber.org/zap"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrbreaker"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// TestGuard checks that the Redis backend gets a circuit breaker and the
// in-memory one does not.
func TestGuard(t *testing.T) {
	onChange := func(from, to isrbreaker.State) {}
	if _, ok := guard(isrredis.New(nil, nil), zap.NewNop(), onChange).(*isrbreaker.Breaker); !ok {
		t.Error("the Redis backend is not behind a circuit breaker")
	}
	mem := isrmem.New(nil)
	if b := guard(mem, zap.NewNop(), onChange); b != isr.Backend(mem) {
		t.Errorf("the in-memory backend was wrapped: %T", b)
	}
}
