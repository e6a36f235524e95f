package isrredis_test

import (
	"fmt"
	"testing"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// TestBudgetConformance runs the budget suite on one redis-server; each
// subtest has a prefix of its own.
func TestBudgetConformance(t *testing.T) {
	srv := redistest.Start(t)
	isrtest.TestBudget(t, func(t *testing.T, limit int) isr.Budget {
		return isrredis.NewBudget(srv.Client(t), fmt.Sprintf("b%d", prefixes.Add(1)), limit)
	})
}
