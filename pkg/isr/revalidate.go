package isr

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// maxRevalidateParallel bounds the eager regenerations one call runs at
// once, so a large tag cannot flood the origin.
const maxRevalidateParallel = 8

// target is one page a revalidation acts on.
type target struct {
	path string // as given: a path, or a key found through a tag
	key  string
	rl   *rule
}

// Revalidate revalidates pages across the cluster: those under Paths and
// those carrying one of Tags. It validates every path first and returns an
// error wrapping ErrBadPath, having changed nothing, if one is invalid.
//
// Every page is first marked stale (or deleted) in the store, which every
// replica hears of and drops from its hot cache. With ModeEager each page
// is then regenerated at once under the cluster lock; until it is stored,
// visitors get the old page as STALE. A page not cached yet is rendered and
// stored. A regeneration that fails keeps the old page, marked stale.
func (h *Handler) Revalidate(ctx context.Context, rv Revalidation) ([]PageResult, error) {
	targets, err := h.targets(rv.Paths)
	if err != nil {
		return nil, err
	}
	for _, tag := range rv.Tags {
		if err := CheckTag(tag); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadPath, err)
		}
	}
	for _, tag := range rv.Tags {
		keys, err := h.opts.Backend.TagKeys(ctx, tag)
		if err != nil {
			return nil, fmt.Errorf("isr: revalidate tag %q: %w", tag, err)
		}
		for _, k := range keys {
			k = BaseKey(k) // a variant's page: revalidating it covers the variant
			p, _ := splitKey(k)
			targets = append(targets, target{path: k, key: k, rl: h.routes.match(p)})
		}
	}
	targets = dedupe(targets)
	keys := make([]string, len(targets))
	for i, t := range targets {
		keys[i] = t.key
	}
	found, err := h.opts.Backend.Invalidate(ctx, rv.Mode, keys...)
	if err != nil {
		return nil, fmt.Errorf("isr: revalidate: %w", err)
	}
	h.dropLocal(ctx, keys)
	if rv.Mode == ModeDelete {
		for _, k := range keys {
			h.local.drop(k) // a takedown: nothing of it may be served again
		}
	}
	results := make([]PageResult, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxRevalidateParallel)
	for i, t := range targets {
		results[i] = PageResult{Path: t.path, Key: t.key, Result: simpleResult(rv.Mode, found[i])}
		p, _ := splitKey(t.key)
		if rv.Mode != ModeEager || !t.rl.serves(p) || t.rl.Bypass {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := h.regenerateEager(ctx, t.key, t.rl)
			results[i].Result = res
			if err != nil {
				results[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	h.opts.Logger.Info("revalidated", zap.Int("pages", len(targets)), zap.Int("mode", int(rv.Mode)))
	return results, nil
}

// dropLocal drops the pages under keys and their variants from the hot
// cache, for read-your-writes on this replica; the store's events reach the
// others (and this one too, a moment later).
func (h *Handler) dropLocal(ctx context.Context, keys []string) {
	now := h.opts.Now()
	for _, k := range keys {
		h.hot.apply(k, 0, now)
	}
	variants, err := h.opts.Backend.Variants(ctx, keys...)
	if err != nil {
		h.storeTrouble("revalidation: variants not listed; their events will drop them", "", err)
		return
	}
	for _, vs := range variants {
		for _, k := range vs {
			h.hot.apply(k, 0, now)
		}
	}
}

// targets validates and canonicalises paths. A Next.js data route's path
// stands for its page.
func (h *Handler) targets(paths []string) ([]target, error) {
	out := make([]target, 0, len(paths))
	for _, raw := range paths {
		p, q, _ := strings.Cut(raw, "?")
		cp, err := ParsePath(p)
		if err != nil {
			return nil, err
		}
		if _, page, ok := dataRoute(cp); ok {
			cp = page
		}
		rl := h.routes.match(cp)
		out = append(out, target{path: raw, key: joinKey(cp, canonicalQuery(q, rl.Query)), rl: rl})
	}
	return out, nil
}

func dedupe(ts []target) []target {
	seen := map[string]bool{}
	out := ts[:0]
	for _, t := range ts {
		if !seen[t.key] {
			seen[t.key] = true
			out = append(out, t)
		}
	}
	return out
}

func simpleResult(m Mode, found bool) Result {
	switch {
	case !found && m != ModeEager:
		return ResultNotCached
	case m == ModeDelete:
		return ResultDeleted
	}
	return ResultStale
}

// Inspect returns the stored entry for a page path (optionally with a
// query), read from the store, not the hot cache, together with the cache
// key it maps to. It returns a wrapped ErrBadPath for an invalid path and
// ErrNotFound when nothing is stored.
func (h *Handler) Inspect(ctx context.Context, path string) (key string, e *Entry, err error) {
	ts, err := h.targets([]string{path})
	if err != nil {
		return "", nil, err
	}
	key = ts[0].key
	e, err = h.opts.Backend.Get(ctx, key)
	return key, e, err
}
