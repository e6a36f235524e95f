package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
)

// code returns the "code" field of a JSON answer.
func code(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var m struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	return m.Code
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	auth := []string{"Authorization", "Bearer " + testSecret}
	tests := []struct {
		name, method, target, body string
		header                     []string
		status                     int
		code                       string
	}{
		{"method", http.MethodGet, "/api/revalidate?path=/a", "", auth, 405, codeMethod},
		{"token", http.MethodPost, "/api/revalidate?path=/a", "", nil, 401, codeInvalidToken},
		{"bad request", http.MethodPost, "/api/revalidate", `{"paths":`, auth, 400, codeBadRequest},
		{"bad path", http.MethodPost, "/api/revalidate?path=a", "", auth, 400, codeBadPath},
		{"too large", http.MethodPost, "/api/revalidate", strings.Repeat(" ", 65<<10), auth, 413, codeTooLarge},
		{"inspect method", http.MethodPost, "/api/inspect?path=/a", "", auth, 405, codeMethod},
		{"inspect token", http.MethodGet, "/api/inspect?path=/a", "", nil, 401, codeInvalidToken},
		{"inspect bad path", http.MethodGet, "/api/inspect?path=a", "", auth, 400, codeBadPath},
		{"inspect no path", http.MethodGet, "/api/inspect", "", auth, 400, codeBadRequest},
		{"inspect not cached", http.MethodGet, "/api/inspect?path=/nope", "", auth, 404, codeNotCached},
	}
	f := newFixture(t, testSecret)
	for _, tt := range tests {
		rec := f.do(t, tt.method, tt.target, tt.body, tt.header...)
		if rec.Code != tt.status || code(t, rec) != tt.code {
			t.Errorf("%s: got %d %s, want %d and code %q", tt.name, rec.Code, rec.Body, tt.status, tt.code)
		}
	}
	off := newFixture(t, "")
	if rec := off.do(t, http.MethodPost, "/api/revalidate?path=/a", ""); code(t, rec) != codeDisabled {
		t.Errorf("disabled: got %s, want code %q", rec.Body, codeDisabled)
	}
}

// redisOOM is the error a Redis script returns under OOM, with the
// script's hash: an internal detail no answer may show.
const redisOOM = "OOM command not allowed when used memory > 'maxmemory'. script: 8a1b2c3d4e5f60718293a4b5c6d7e8f901234567"

// oomBackend is the in-memory store whose invalidations fail as Redis's do
// under OOM.
type oomBackend struct{ *isrmem.Backend }

func (oomBackend) Invalidate(context.Context, isr.Mode, ...string) ([]bool, error) {
	return nil, errors.New(redisOOM)
}

func TestRevalidateStoreFailureHidesDetails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret, func(o *Options) {
		h, err := isr.New(isr.Options{Backend: oomBackend{isrmem.New(nil)}, Origin: isr.OriginFunc(
			func(context.Context, *http.Request) (*isr.Response, error) { return nil, errors.New("unused") }),
			Next: http.NotFoundHandler()})
		if err != nil {
			t.Fatal(err)
		}
		o.Handler = h
	})
	rec := f.do(t, http.MethodPost, "/api/revalidate?path=/a", "", "Authorization", "Bearer "+testSecret)
	body := rec.Body.String()
	if rec.Code != 500 || code(t, rec) != codeRevalidateFailed || message(t, rec) != msgSeeLog {
		t.Errorf("got %d %s, want 500, code %q and the stable message", rec.Code, body, codeRevalidateFailed)
	}
	if strings.Contains(body, "OOM") || strings.Contains(body, "8a1b2c3d") {
		t.Errorf("the answer shows the store's error: %s", body)
	}
	if logged := f.logs.FilterMessage("revalidate failed").All(); len(logged) != 1 ||
		!strings.Contains(logged[0].ContextMap()["error"].(string), redisOOM) {
		t.Errorf("got log %v, want the store's error logged once", logged)
	}
}

func TestRevalidatePageFailureHidesDetails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testSecret)
	f.do(t, http.MethodGet, "/a", "")
	f.fail.Store(true)
	rec := f.do(t, http.MethodPost, "/api/revalidate?path=/a", "", "Authorization", "Bearer "+testSecret)
	rv := decodeRevalidation(t, rec)
	if rec.Code != 500 || rv.Revalidated || len(rv.Results) != 1 || rv.Results[0].Result != isr.ResultFailed ||
		rv.Results[0].Error != msgPageFailed {
		t.Fatalf("got %d %s, want 500 and one failed page with the stable message", rec.Code, rec.Body)
	}
	logged := f.logs.FilterMessage("revalidate page failed").All()
	if len(logged) != 1 || !strings.Contains(logged[0].ContextMap()["error"].(string), "origin down") {
		t.Errorf("got log %v, want the page's error logged once", logged)
	}
}
