package isrmem_test

import (
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

func TestConformance(t *testing.T) {
	isrtest.TestBackend(t, func(t *testing.T) isr.Backend {
		return isrmem.New(nil)
	})
}

func TestBudgetConformance(t *testing.T) {
	isrtest.TestBudget(t, func(t *testing.T, limit int) isr.Budget {
		return isrmem.NewBudget(limit, nil)
	})
}
