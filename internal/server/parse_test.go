package server

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
)

func TestParseRevalidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query, body string
		want              isr.Revalidation
		err               string
	}{
		{name: "query", query: "path=/a&path=/b&tag=t", want: isr.Revalidation{Paths: []string{"/a", "/b"}, Tags: []string{"t"}}},
		{name: "body", body: `{"paths":["/a"],"tags":["t"],"mode":"stale"}`,
			want: isr.Revalidation{Paths: []string{"/a"}, Tags: []string{"t"}, Mode: isr.ModeStale}},
		{name: "both", query: "path=/q&mode=delete", body: ` {"paths":["/b"]} `,
			want: isr.Revalidation{Paths: []string{"/q", "/b"}, Mode: isr.ModeDelete}},
		{name: "eager", query: "tag=t&mode=eager", want: isr.Revalidation{Tags: []string{"t"}}},
		{name: "whitespace body", query: "path=/a", body: "\n", want: isr.Revalidation{Paths: []string{"/a"}}},
		{name: "eager then stale", query: "path=/a&mode=eager&mode=stale", err: "conflicting modes"},
		{name: "null lists", body: `{"paths":null,"tags":null}`, err: "nothing to revalidate"},
		{name: "wrong type", body: `{"paths":"/a"}`, err: "bad JSON body"},
		{name: "limit", query: "path=/a" + strings.Repeat("&tag=t", 999), want: isr.Revalidation{
			Paths: []string{"/a"}, Tags: strings.Split(strings.Repeat("t", 999), "")}},
		{name: "over limit", query: "path=/a" + strings.Repeat("&tag=t", 1000), err: "too many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRevalidation(q, []byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseRevalidate(f *testing.F) {
	f.Add("path=/a&tag=t", []byte(`{"paths":["/b"],"tags":["u"],"mode":"stale"}`))
	f.Add("mode=delete", []byte(`{"paths":["/b"]}`))
	f.Add("", []byte(`{"paths":["/a"]} x`))
	f.Add("path=", []byte(`{"mode":"eager","paths":[""]}`))
	f.Add("tag=%00", []byte(`{"tags":["\u0000"]}`))
	f.Add("", []byte(`{"paths":[`+strings.Repeat(`"/a",`, 1001)+`"/a"]}`))
	f.Add("path=/a&wait=all", []byte(`{"wait":"all"}`))
	f.Add("path=/a&wait=some", []byte(`{"wait":"all","paths":["/b"]}`))
	f.Fuzz(func(t *testing.T, rawQuery string, body []byte) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		rv, err := parseRevalidation(q, body)
		if err != nil {
			return
		}
		n := len(rv.Paths) + len(rv.Tags)
		if n == 0 || n > MaxRevalidateTargets {
			t.Fatalf("accepted %d targets", n)
		}
		if rv.Mode != isr.ModeEager && rv.Mode != isr.ModeStale && rv.Mode != isr.ModeDelete {
			t.Fatalf("accepted mode %d", rv.Mode)
		}
		all, err := parseWait(q, body)
		var b struct{ Wait string }
		_ = json.Unmarshal(body, &b)
		if err == nil && all != (slices.Contains(q["wait"], "all") || b.Wait == "all") {
			t.Fatalf("wait=all %v for query %q and body %q", all, rawQuery, body)
		}
	})
}
