package blog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxAdminBody bounds the body of POST /_admin/config.
const maxAdminBody = 64 << 10

// settingsJSON is the wire form of Settings.
type settingsJSON struct {
	Delay   string `json:"delay"`
	Fail    Fail   `json:"fail"`
	Version int    `json:"version"`
	SMaxAge int    `json:"smaxage"` // seconds
}

func toJSON(s Settings) settingsJSON {
	return settingsJSON{Delay: s.Delay.String(), Fail: s.Fail, Version: s.Version, SMaxAge: int(s.SMaxAge / time.Second)}
}

// update is the body of POST /_admin/config: the switches to change.
type update struct {
	Delay   *string `json:"delay"`
	Fail    *string `json:"fail"`
	Version *int    `json:"version"`
	SMaxAge *int    `json:"smaxage"`
}

// apply returns s changed by u.
func (u update) apply(s Settings) (Settings, error) {
	if u.Delay != nil {
		d, err := time.ParseDuration(*u.Delay)
		if err != nil {
			return s, fmt.Errorf("blog: bad delay: %w", err)
		}
		s.Delay = d
	}
	if u.Fail != nil {
		f, err := ParseFail(*u.Fail)
		if err != nil {
			return s, err
		}
		s.Fail = f
	}
	if u.Version != nil {
		s.Version = *u.Version
	}
	if u.SMaxAge != nil {
		s.SMaxAge = time.Duration(*u.SMaxAge) * time.Second
	}
	return s, s.validate()
}

func (b *Blog) getConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toJSON(b.Settings()))
}

// postConfig changes the switches named in the JSON body and answers with
// all of them. A bad body changes nothing and gets 400 (413 if over
// 64 KiB).
func (b *Blog) postConfig(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	var u update
	err := dec.Decode(&u)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "body over 64 KiB"})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad JSON body: " + err.Error()})
		return
	}
	b.mu.Lock() // hold across read-modify-write so concurrent updates do not mix
	s, err := u.apply(b.set)
	if err == nil {
		b.set = s
	}
	b.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	b.logSettings(s)
	writeJSON(w, http.StatusOK, toJSON(s))
}

func (b *Blog) getStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, b.Stats())
}

func (b *Blog) deleteStats(w http.ResponseWriter, r *http.Request) {
	b.ResetStats()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// writeJSON writes v as an uncacheable JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
