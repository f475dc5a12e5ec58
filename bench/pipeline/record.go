package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/devnet"
	"github.com/valtrack/valtrack/internal/cosmos/sentry"
)

// line is one recorded event: what the sentry handed its publisher.
type line struct {
	Subject string          `json:"subject"`
	ID      string          `json:"id"`
	Data    json.RawMessage `json:"data"`
}

// recorder is a domain.Publisher that writes every event as a JSON line.
type recorder struct {
	mu sync.Mutex
	w  *bufio.Writer
	n  int
}

func (r *recorder) Publish(_ context.Context, subject, msgID string, data []byte) error {
	b, err := json.Marshal(line{subject, msgID, data})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if _, err := r.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return nil
}

// record starts a 4-validator devnet in a temp dir, watches its 4 RPC
// endpoints with a cosmos sentry for d, and stops validator 3 from 40% to
// 70% of d, so the recording holds real misses. The events go to path
// (gzip-compressed JSON lines).
func record(ctx context.Context, path string, d time.Duration, log *slog.Logger) error {
	dir, err := os.MkdirTemp("", "valtrack-record-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dn, err := devnet.Start(ctx, devnet.Options{Validators: 4, Dir: dir})
	if err != nil {
		return err
	}
	defer dn.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	rec := &recorder{w: bufio.NewWriter(zw)}
	info := dn.Info()
	var eps []string
	for _, v := range info.Validators {
		eps = append(eps, v.RPC)
	}
	s, err := sentry.New(sentry.Config{Chain: info.ChainID, Endpoints: eps, Publisher: rec, SentryID: "record", Log: log})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(sctx) }()
	began := time.Now()
	step := func(at time.Duration, what string, f func() error) error {
		time.Sleep(time.Until(began.Add(at)))
		fmt.Fprintf(os.Stderr, "record: %s at %s (%d events so far)\n", what, time.Since(began).Round(time.Second), rec.count())
		return f()
	}
	if err := step(d*4/10, "stop validator 3", func() error { return dn.StopValidator(3) }); err != nil {
		cancel()
		return err
	}
	if err := step(d*7/10, "start validator 3", func() error { return dn.StartValidator(3) }); err != nil {
		cancel()
		return err
	}
	_ = step(d, "stop", func() error { return nil })
	cancel()
	if err := <-done; err != nil {
		return err
	}
	if err := rec.w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "record: %d events of chain %s written to %s\n", rec.count(), info.ChainID, path)
	return f.Close()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
