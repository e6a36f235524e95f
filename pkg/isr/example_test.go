package isr_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// Example puts the ISR cache in front of a Go handler in one process. With
// several replicas, use isrredis.New instead of isrmem.New.
func Example() {
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "s-maxage=60") // the revalidate time
		fmt.Fprintf(w, "page %s", r.URL.Path)
	})
	h, err := isr.New(isr.Options{
		Backend: isrmem.New(nil),
		Next:    pages,
		Routes:  []isr.Route{{Pattern: "/posts/{id}", Tags: []string{"posts"}}},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = h.Run(ctx) }() // applies invalidation events to the hot cache

	for i := 0; i < 2; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/posts/1", nil))
		fmt.Println(rec.Header().Get("X-ISR-Cache"), rec.Body.String())
	}
	res, _ := h.Revalidate(ctx, isr.Revalidation{Tags: []string{"posts"}, Mode: isr.ModeStale})
	fmt.Println(res[0].Key, res[0].Result)

	sctx, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	_ = h.Shutdown(sctx)
	// Output:
	// MISS page /posts/1
	// HIT page /posts/1
	// /posts/1 stale
}
