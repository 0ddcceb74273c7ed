package sqlite

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database.
// Between checkpoints the WAL grows by what was written meanwhile.
const checkpointEvery = time.Second

// walLimit bounds the WAL file. A passive checkpoint never lets the WAL
// start over while writes keep coming (new frames always follow the last
// copied one), so under steady load the file would grow for ever. Past
// walLimit the checkpointer runs a TRUNCATE checkpoint instead: it waits
// for the current write transaction, holds the next one back while it
// waits for readers (at most checkpointWait) and copies at most walLimit
// bytes, and empties the file.
const walLimit = 16 << 20

// checkpointWait bounds how long a checkpoint waits for readers (SQLite's
// busy timeout on the checkpointer's connection), and so how long a
// TRUNCATE checkpoint can hold back the writer.
const checkpointWait = 200 * time.Millisecond

// checkpointer copies the WAL into the database file in the background,
// off the writer's path, so a checkpoint's I/O and fsync never delay the
// commit of a waiting report.
type checkpointer struct {
	db   *sql.DB
	wal  string // path of the WAL file
	stop chan struct{}
	done chan struct{}
	once sync.Once
	err  error
}

func startCheckpointer(db *sql.DB, wal string) *checkpointer {
	c := &checkpointer{db: db, wal: wal, stop: make(chan struct{}), done: make(chan struct{})}
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
			mode := "PASSIVE"
			if fi, err := os.Stat(c.wal); err == nil && fi.Size() > walLimit {
				mode = "TRUNCATE"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.db.ExecContext(ctx, "PRAGMA wal_checkpoint("+mode+")")
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
