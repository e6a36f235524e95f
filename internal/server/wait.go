package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/isrcache/isrcache/pkg/isr"
)

// DefaultWaitTimeout is how long a revalidation with wait=all waits for the
// replicas' confirmations when Options.WaitTimeout is zero.
const DefaultWaitTimeout = 2 * time.Second

// waitResult is the "wait" member of the answer to a revalidation with
// wait=all: which live replicas confirmed that they dropped the old pages
// from their hot cache, and which did not in time.
type waitResult struct {
	Complete bool     `json:"complete"`
	Acked    []string `json:"acked"`
	NotAcked []string `json:"not_acked"`
	TookMS   float64  `json:"took_ms"`
}

// parseWait reads the wait mode: "all" from the wait query parameter or the
// body's "wait" member, or none. Another value, or a query and a body that
// disagree, is an error.
func parseWait(query url.Values, body []byte) (bool, error) {
	var b struct {
		Wait string `json:"wait"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		// The body was validated by parseRevalidation.
		_ = json.Unmarshal(body, &b)
	}
	all := false
	for _, v := range append(query["wait"], b.Wait) {
		if v == "" {
			continue
		}
		if v != "all" {
			return false, fmt.Errorf("wait %q must be all", clip(v))
		}
		all = true
	}
	return all, nil
}

// confirm waits for every live replica's confirmation of the events of a
// revalidation that just returned, for at most the wait timeout.
func (s *Server) confirm(ctx context.Context) *waitResult {
	conf, err := s.cache.Confirm(ctx, s.waitTimeout)
	res := &waitResult{Complete: err == nil && conf.Complete(), Acked: conf.Acked, NotAcked: conf.Missing,
		TookMS: float64(conf.Took.Microseconds()) / 1000}
	if err != nil && !errors.Is(err, isr.ErrNoConfirm) {
		s.log.Warn("revalidate: confirmation failed", zap.Error(err))
	}
	if res.Acked == nil {
		res.Acked = []string{}
	}
	if res.NotAcked == nil {
		res.NotAcked = []string{}
	}
	return res
}
