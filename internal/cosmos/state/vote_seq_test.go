package state_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Migration 0009 upgrades a store in place: the votes stored before it
// keep stored_seq 0 (the analyzer's first pass re-checks its whole window,
// which covers them), and the sequence hands out values from 1.
func TestVotesKeptByMigration9(t *testing.T) {
	for name, dsn := range map[string]func(t testing.TB) string{
		"sqlite":   func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "v.db") },
		"postgres": storetest.PostgresDSN,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			url := dsn(t)
			log := slog.New(slog.DiscardHandler)
			old, err := store.Open(ctx, url, "", log, store.WithMigrations(migrationsBefore(t, 9)))
			if err != nil {
				t.Fatal(err)
			}
			if err := old.InTx(ctx, "fixture", func(tx *sql.Tx) error {
				_, err := tx.Exec("INSERT INTO cosmos_votes (chain, height, round, type, validator_address, validator_index, block_hash, timestamp, signature, endpoint, seen_at) " +
					"VALUES ('c-1', 7, 0, 2, 'V', 0, 'AA', 1, 's', 'e', 1)")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			old.Close()
			db, err := store.Open(ctx, url, "", log, store.WithMigrations(state.Migrations()))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var seq int64
			if err := db.Reader().QueryRow("SELECT stored_seq FROM cosmos_votes WHERE height = 7").Scan(&seq); err != nil || seq != 0 {
				t.Errorf("stored_seq of a vote stored before 0009: %d (%v), want 0", seq, err)
			}
			if seq, err := state.VoteSeq(ctx, db); err != nil || seq != 0 {
				t.Errorf("vote sequence after 0009: %d (%v), want 0", seq, err)
			}
			var first int64
			if err := db.InTx(ctx, "take", func(tx *sql.Tx) error {
				var err error
				first, err = state.TakeVoteSeqs(ctx, tx, 3)
				return err
			}); err != nil || first != 1 {
				t.Errorf("first values taken after 0009: from %d (%v), want 1", first, err)
			}
			if seq, err := state.VoteSeq(ctx, db); err != nil || seq != 3 {
				t.Errorf("vote sequence after taking 3: %d (%v), want 3", seq, err)
			}
		})
	}
}

// On PostgreSQL, two transactions taking stored_seq values commit in the
// order of their values: the second waits for the first's end, and until
// then VoteSeq does not show the first's values, so a reader never sees a
// value while a lower one can still commit (what a sequence or a clock
// would allow, and the analyzer's late-vote re-check would then miss).
func TestVoteSeqsCommitInOrder(t *testing.T) {
	db := storetest.Postgres(t, store.WithMigrations(state.Migrations()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	took, release, firstDone := make(chan int64, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		firstDone <- db.InTx(ctx, "first", func(tx *sql.Tx) error {
			first, err := state.TakeVoteSeqs(ctx, tx, 5)
			if err != nil {
				return err
			}
			took <- first
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var first int64
	select {
	case first = <-took:
	case err := <-firstDone:
		t.Fatalf("first transaction: %v", err)
	}
	pids, secondDone := make(chan int, 1), make(chan error, 1)
	var second int64
	go func() {
		secondDone <- db.InTx(ctx, "second", func(tx *sql.Tx) error {
			var pid int
			if err := tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return err
			}
			pids <- pid
			var err error
			second, err = state.TakeVoteSeqs(ctx, tx, 2)
			return err
		})
	}()
	pid := <-pids
	// Wait (bounded by ctx) until the second waits for the row lock.
	for {
		var waiting bool
		if err := db.Reader().QueryRowContext(ctx, "SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&waiting); err != nil {
			t.Fatalf("watch the second transaction: %v", err)
		}
		if waiting {
			break
		}
		select {
		case err := <-secondDone:
			t.Fatalf("the second transaction took values (from %d) while the first, holding %d.., was open: %v", second, first, err)
		case <-ctx.Done():
			t.Fatal("the second transaction never waited for the first")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if seq, err := state.VoteSeq(ctx, db); err != nil || seq >= first {
		t.Errorf("vote sequence %d (%v) while the values from %d are not committed", seq, err, first)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	if second != first+5 {
		t.Errorf("second transaction took from %d, want %d (after the first's %d..%d)", second, first+5, first, first+4)
	}
}
