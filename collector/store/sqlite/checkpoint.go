package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database.
// Between checkpoints the WAL grows by what was written meanwhile.
const checkpointEvery = time.Second

// checkpointer copies the WAL into the database file in the background,
// off the writer's path, so a checkpoint's I/O and fsync never delay the
// commit of a waiting report.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	once sync.Once
	err  error
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// PASSIVE: copies what no reader still needs, never blocks
			// the writer or readers. An error is retried on the next tick.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

// close stops the loop and leaves the WAL empty, the database file whole.
// Later calls return the first one's result.
func (c *checkpointer) close() error {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		_, c.err = c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		if err := c.db.Close(); c.err == nil {
			c.err = err
		}
	})
	return c.err
}
