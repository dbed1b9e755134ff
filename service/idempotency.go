package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
)

// The time an idempotency key and its answer are kept.
const (
	DefaultIdempotencyTTL = 24 * time.Hour
	MaxIdempotencyTTL     = 30 * 24 * time.Hour
)

// IdempotencyKey names a write sent with an Idempotency-Key: the session it writes to, the
// client's key, and a hash of the request, so that the key sent again with another request is
// told apart from a retry.
type IdempotencyKey struct {
	SessionID   string
	Key         string
	RequestHash []byte
}

// Answer is an answer as it was sent: its HTTP status and its body.
type Answer struct {
	Status int
	Body   []byte
}

// Idempotent runs write once for its key. In one transaction, it records the key (or finds it)
// under the session, runs write on a Store whose statements run in that transaction, and
// stores write's answer with the key, so that the answer is kept if and only if the write is.
// A retry of the same request gets the first answer (replayed true) and writes nothing; the key
// with another request is refused (fault.ErrIdempotencyKeyReused). A write that returns an
// error is rolled back whole, its key with it, so that a retry is tried afresh. Two retries at
// once wait for each other on the key.
//
// Only writes sent with a key pay for this (an explicit transaction: begin, the key, the write,
// its answer, commit); the others remain one statement.
func (s *Store) Idempotent(ctx context.Context, k IdempotencyKey, write func(ctx context.Context, st *Store) (Answer, error)) (answer Answer, replayed bool, err error) {
	wrote := false
	answer, err = database.InTx(ctx, s.pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (Answer, error) {
		q := db.New(tx)
		prior, err := q.IdempotencyBegin(ctx, db.IdempotencyBeginParams{
			SessionID: k.SessionID, Key: k.Key, RequestHash: k.RequestHash, TtlMs: s.idempotencyTTL.Milliseconds(),
		})
		if err != nil {
			return Answer{}, err
		}
		if len(prior) > 0 {
			if prior[0].Status == nil {
				return Answer{}, fmt.Errorf("service: the idempotency key %q of session %s has no answer", k.Key, k.SessionID)
			}
			replayed = true
			return Answer{Status: int(*prior[0].Status), Body: prior[0].Body}, nil
		}
		st := *s
		st.q, st.conn, st.shared = q, nestedTx{tx}, nil
		st.written = func() { wrote = true }
		a, err := write(ctx, &st)
		if err != nil {
			return Answer{}, err
		}
		status := int16(a.Status)
		return a, q.IdempotencyFinish(ctx, db.IdempotencyFinishParams{
			SessionID: k.SessionID, Key: k.Key, Status: &status, Body: a.Body,
		})
	})
	if err != nil {
		return Answer{}, false, err
	}
	if wrote {
		s.written() // after the commit: the dispatcher finds the events
	}
	return answer, replayed, nil
}

// PruneIdempotencyKeys removes up to limit idempotency keys past their time and says how many.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, limit int) (int, error) {
	n, err := s.q.IdempotencyDeleteExpired(ctx, int32(limit))
	return int(n), database.Translate(err)
}

// conn is what the Store runs its multi-statement units on: the pool, or, inside Idempotent,
// the transaction there (nestedTx).
type conn interface {
	database.TxBeginner
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// nestedTx runs the units that begin a transaction of their own inside an open one, as a
// savepoint: their statements are part of the outer transaction, and their reads see its
// writes. The options (a read-only snapshot, say) do not apply inside it.
type nestedTx struct{ pgx.Tx }

func (n nestedTx) BeginTx(ctx context.Context, _ pgx.TxOptions) (pgx.Tx, error) { return n.Begin(ctx) }

var _ conn = nestedTx{}
