package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// Commits are followed by a background checkpoint that copies every WAL
// frame into the database, without the writer's own automatic checkpoint
// (whose threshold is far above what this test writes).
func TestBackgroundCheckpointCopiesTheWAL(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", t.TempDir(), nil, WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	results := make(chan checkpointResult, 100)
	db.ck.mu.Lock()
	db.ck.ran = func(r checkpointResult, err error) {
		if err != nil {
			t.Errorf("checkpoint: %v", err)
			return
		}
		select {
		case results <- r:
		default:
		}
	}
	db.ck.mu.Unlock()

	if err := db.InTx(ctx, "create", func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := db.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != walBackstopPages {
		t.Fatalf("writer's wal_autocheckpoint = %d (%v), want the backstop %d", auto, err, walBackstopPages)
	}
	pad := strings.Repeat("x", 1000)
	for i := 0; i < 200; i++ {
		if err := db.InTx(ctx, "insert", func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, pad)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// 200 KB in 201 commits is ~250 frames, well under the backstop of
	// walBackstopPages: only the checkpointer can have copied them.
	deadline := time.After(20 * time.Second)
	for {
		select {
		case r := <-results:
			if r.log > 0 && r.checkpointed == r.log {
				goto done
			}
		case <-deadline:
			t.Fatal("no background checkpoint copied the whole WAL within 20 s")
		}
	}
done:
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 200 {
		t.Fatalf("rows after checkpoint: %d, %v", n, err)
	}
}

// Close stops the checkpointer's goroutine and may be called again.
func TestCloseStopsTheCheckpointer(t *testing.T) {
	db, err := Open(context.Background(), "", t.TempDir(), nil, WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	ck := db.ck
	ck.committed() // a checkpoint pending when Close comes
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ck.done:
	default:
		t.Fatal("checkpointer goroutine still running after Close")
	}
	if err := ck.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	ck.committed() // must not block or panic after close
}
