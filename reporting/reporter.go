// Package reporting answers supervisors and reporting jobs: lists of interactions with
// filters, one interaction with its whole timeline, aggregates over a time window, and the
// state of an interaction rebuilt from its events (with an audit that compares the rebuild
// with the stored state). It reads only, from the reporting database (a read replica, or the
// main database when none is given), and never holds up the writers.
package reporting

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
)

// Reporter reads the reports from one database.
type Reporter struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

func New(pool *pgxpool.Pool) *Reporter {
	return &Reporter{pool: pool, q: db.New(pool)}
}
