package store

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// SQLite in WAL mode copies committed pages back into the database file in
// a checkpoint. By default the writer runs one itself, inside the commit
// that pushes the WAL past 1000 pages, and that commit then waits for the
// copy and an fsync: on the pipeline benchmark a quarter of the commit time.
// A PASSIVE checkpoint needs no writer lock, so the checkpointer runs them on
// a connection of its own, on another core, shortly after commits; the
// writer's own automatic checkpoint stays as a backstop at a far larger WAL
// (walBackstopPages) for when the checkpointer falls behind or cannot finish
// (a long read holding an old snapshot).

// walBackstopPages is the writer's wal_autocheckpoint: 64 MiB of 4 KiB pages.
const walBackstopPages = 16384

const (
	// checkpointDelay coalesces the commits of a busy writer into one
	// checkpoint: a checkpoint per commit would copy the hottest pages
	// (indexes) again and again.
	checkpointDelay = 200 * time.Millisecond
	// checkpointTimeout bounds one checkpoint, so Close never waits on a
	// stuck disk for longer.
	checkpointTimeout = 30 * time.Second
)

// checkpointResult is what PRAGMA wal_checkpoint answers: whether it was
// blocked, the WAL's frames and how many of them are now in the database.
type checkpointResult struct {
	busy, log, checkpointed int64
}

type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	last checkpointResult
	// ran, when set (tests), hears every checkpoint's result.
	ran func(checkpointResult, error)
}

// startCheckpointer owns db (one connection to the WAL database) and the
// goroutine that checkpoints through it, until close.
func startCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed tells the checkpointer that the writer committed; it never
// blocks, and a nil checkpointer (PostgreSQL) ignores it.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointDelay):
		}
		r, err := c.checkpoint()
		c.mu.Lock()
		if err == nil {
			c.last = r
		}
		ran := c.ran
		c.mu.Unlock()
		if ran != nil {
			ran(r, err)
		}
		if err != nil {
			// Nothing is lost: the writer's backstop checkpoints, and the
			// next commit tries again.
			c.log.Debug("background WAL checkpoint failed", "err", err)
		}
	}
}

func (c *checkpointer) checkpoint() (checkpointResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var r checkpointResult
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&r.busy, &r.log, &r.checkpointed)
	return r, err
}

// close stops the goroutine, waiting for a running checkpoint, and closes
// the connection; later calls do nothing.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}
