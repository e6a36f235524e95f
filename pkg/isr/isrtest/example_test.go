package isrtest_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// A backend runs the conformance suite from its own tests.
func ExampleTestBackend() {
	// In the backend's package, for example isrmem/conformance_test.go:
	_ = func(t *testing.T) {
		isrtest.TestBackend(t, func(t *testing.T) isr.Backend {
			return isrmem.New(nil) // a fresh, isolated backend per call
		})
	}
}

func ExampleOrigin() {
	o := &isrtest.Origin{}
	o.SetVersion("/posts/1", 2)
	o.SetHeader("/posts/1", "Cache-Control", "s-maxage=60")
	srv := httptest.NewServer(o)
	defer srv.Close()

	for range 2 {
		resp, err := srv.Client().Get(srv.URL + "/posts/1")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Header.Get("Cache-Control"), string(body))
	}
	fmt.Println("renders:", o.Renders("/posts/1"), "total:", o.Total())
	// Output:
	// s-maxage=60 /posts/1 v2 render #1
	// s-maxage=60 /posts/1 v2 render #2
	// renders: 2 total: 2
}
