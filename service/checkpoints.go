package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// The defaults and bounds of the checkpoints a Store keeps.
const (
	// One version: the current checkpoint alone, rewritten in place. Each kept version more
	// costs every checkpoint write a row copied to the history (docs/benchmarks.md).
	DefaultCheckpointKeep     = 1
	MaxCheckpointKeep         = 1000
	DefaultCheckpointMaxBytes = 256 << 10
	MaxCheckpointMaxBytes     = 64 << 20
	maxConfigurationStates    = 1000
	maxTimers                 = 1000
	// A timer may be due at most this far ahead: SCXML delays are seconds to hours.
	maxTimerDelay = 30 * 24 * time.Hour
)

// NewCheckpoint is what a routing node sends to persist its SCXML session: the data model
// (a JSON object), the ids of the active states, and the scheduled timers (delayed <send>s).
// ExpectedVersion, when given, refuses the write unless it is the current version (0: none
// yet), with fault.ErrConflict.
type NewCheckpoint struct {
	ExpectedVersion *int64          `json:"expected_version,omitempty"`
	DataModel       json.RawMessage `json:"datamodel" shape:"object"`
	Configuration   []string        `json:"configuration"`
	Timers          []NewTimer      `json:"timers"`
}

// NewTimer is a scheduled event: due at DueAt, or DelayMS after the write by the database's
// clock (a node's own clock need not agree with the database's). Exactly one of the two.
type NewTimer struct {
	SendID  string          `json:"sendid"`
	Event   string          `json:"event"`
	Target  *string         `json:"target,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	DueAt   *time.Time      `json:"due_at,omitempty"`
	DelayMS *int64          `json:"delay_ms,omitempty"`
}

// Checkpoint is a stored version of a session's checkpoint.
type Checkpoint struct {
	SessionID     string          `json:"session_id"`
	Version       int64           `json:"version"`
	DataModel     json.RawMessage `json:"datamodel"`
	Configuration []string        `json:"configuration"`
	Timers        []Timer         `json:"timers"`
	// The epoch and owner of the session when it was written.
	Epoch     int64     `json:"epoch"`
	NodeID    *string   `json:"node_id,omitempty"`
	WrittenAt time.Time `json:"written_at"`
	SizeBytes int       `json:"size_bytes"`
}

// Timer is a stored timer, due at DueAt in the database's time. RemainingMS, in the current
// checkpoint as read (and in a claim's answer), is DueAt less the database's now at the read,
// 0 when it is past: what the node that continues the session waits before it fires.
type Timer struct {
	SendID      string          `json:"sendid"`
	Event       string          `json:"event"`
	Target      *string         `json:"target,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	DueAt       time.Time       `json:"due_at"`
	RemainingMS *int64          `json:"remaining_ms,omitempty"`
}

// validate checks the checkpoint and returns its timers as JSON and its size: the bytes of
// its JSON as sent.
func (in NewCheckpoint) validate(maxBytes int) (timers []byte, size int, err error) {
	var c checker
	dm := bytes.TrimSpace(in.DataModel)
	if len(dm) == 0 || dm[0] != '{' || !json.Valid(dm) {
		c.addf("datamodel is required and must be a JSON object")
	}
	if in.ExpectedVersion != nil && *in.ExpectedVersion < 0 {
		c.addf("expected_version must be 0 or more")
	}
	if len(in.Configuration) > maxConfigurationStates {
		c.addf("configuration has %d states, at most %d are allowed", len(in.Configuration), maxConfigurationStates)
	}
	for i, st := range in.Configuration {
		c.text(fmt.Sprintf("configuration[%d]", i), st, true)
	}
	if len(in.Timers) > maxTimers {
		c.addf("timers has %d timers, at most %d are allowed", len(in.Timers), maxTimers)
	}
	seen := map[string]bool{}
	for i, tm := range in.Timers {
		f := fmt.Sprintf("timers[%d].", i)
		c.text(f+"sendid", tm.SendID, true)
		if seen[tm.SendID] {
			c.addf("%ssendid %q is given twice: a sendid names one timer", f, tm.SendID)
		}
		seen[tm.SendID] = true
		c.text(f+"event", tm.Event, true)
		if tm.Target != nil {
			c.text(f+"target", *tm.Target, false)
		}
		if len(tm.Data) > 0 && !json.Valid(tm.Data) {
			c.addf("%sdata must be JSON", f)
		}
		switch {
		case (tm.DueAt == nil) == (tm.DelayMS == nil):
			c.addf("%s: exactly one of due_at and delay_ms is required", f[:len(f)-1])
		case tm.DelayMS != nil && (*tm.DelayMS < 0 || *tm.DelayMS > maxTimerDelay.Milliseconds()):
			c.addf("%sdelay_ms must be from 0 to %d", f, maxTimerDelay.Milliseconds())
		}
	}
	if err := c.err(); err != nil {
		return nil, 0, err
	}
	timers, err = json.Marshal(nonNil(in.Timers))
	if err != nil {
		return nil, 0, fault.Errorf(fault.ErrInvalid, "timers: %v", err)
	}
	config, _ := json.Marshal(nonNil(in.Configuration)) // strings always marshal
	if size = len(dm) + len(config) + len(timers); size > maxBytes {
		return nil, 0, fault.Errorf(fault.ErrCheckpointTooLarge,
			"the checkpoint is %d bytes of JSON, more than the limit of %d", size, maxBytes)
	}
	return timers, size, nil
}

// checkpointParams validates in and makes the parameters of its write.
func (s *Store) checkpointParams(t Target, in NewCheckpoint) (db.CheckpointWriteParams, error) {
	timers, size, err := in.validate(s.checkpointMaxBytes)
	if err != nil {
		return db.CheckpointWriteParams{}, err
	}
	return db.CheckpointWriteParams{
		SessionID: t.SessionID, Epoch: t.Epoch, ExpectedVersion: in.ExpectedVersion,
		Datamodel: bytes.TrimSpace(in.DataModel), Configuration: nonNil(in.Configuration), Timers: timers,
		Keep: int32(s.checkpointKeep), Size: int32(size),
	}, nil
}

// WriteCheckpoint stores a new version of the session's checkpoint, fenced by t.Epoch like
// every write. It writes no event.
func (s *Store) WriteCheckpoint(ctx context.Context, t Target, in NewCheckpoint) (Checkpoint, error) {
	p, err := s.checkpointParams(t, in)
	if err != nil {
		return Checkpoint{}, err
	}
	row, err := s.q.CheckpointWrite(ctx, p)
	if err != nil {
		return Checkpoint{}, database.Translate(err)
	}
	return checkpointFromRow(row, nil)
}

// GetCheckpoint returns the session's current checkpoint, each timer with its time left by
// the database's clock.
func (s *Store) GetCheckpoint(ctx context.Context, sessionID string) (Checkpoint, error) {
	ck, err := readCheckpoint(ctx, s.q, sessionID)
	if err != nil {
		return Checkpoint{}, err
	}
	if ck == nil {
		if _, err := s.q.SessionGet(ctx, sessionID); err != nil {
			return Checkpoint{}, notFound(err, "session %s not found", sessionID)
		}
		return Checkpoint{}, fault.Errorf(fault.ErrNotFound, "session %s has no checkpoint", sessionID)
	}
	return *ck, nil
}

// CheckpointHistory returns the kept versions of the session's checkpoint, the latest first.
func (s *Store) CheckpointHistory(ctx context.Context, sessionID string) ([]Checkpoint, error) {
	rows, err := s.q.CheckpointHistory(ctx, sessionID)
	if err != nil {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		if _, err := s.q.SessionGet(ctx, sessionID); err != nil {
			return nil, notFound(err, "session %s not found", sessionID)
		}
	}
	out := make([]Checkpoint, len(rows))
	for i, r := range rows {
		if out[i], err = checkpointFromRow(r, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readCheckpoint reads the current checkpoint with q, nil when there is none: within a
// claim's transaction, under the session's lock, so it is the one the restored state goes with.
func readCheckpoint(ctx context.Context, q *db.Queries, sessionID string) (*Checkpoint, error) {
	row, err := q.CheckpointCurrent(ctx, sessionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, database.Translate(err)
	}
	ck, err := checkpointFromRow(row.SessionCheckpoint, &row.DbNow)
	return &ck, err
}

// checkpointFromRow: with now (the database's), each timer gets its remaining time.
func checkpointFromRow(r db.SessionCheckpoint, now *time.Time) (Checkpoint, error) {
	ck := Checkpoint{
		SessionID: r.SessionID, Version: r.Version, DataModel: r.Datamodel, Configuration: nonNil(r.Configuration),
		Timers: []Timer{}, Epoch: r.Epoch, NodeID: r.NodeID, WrittenAt: r.WrittenAt, SizeBytes: int(r.SizeBytes),
	}
	if err := json.Unmarshal(r.Timers, &ck.Timers); err != nil {
		return Checkpoint{}, fmt.Errorf("the stored timers of session %s: %w", r.SessionID, err)
	}
	if now != nil {
		for i := range ck.Timers {
			left := max(ck.Timers[i].DueAt.Sub(*now).Milliseconds(), 0)
			ck.Timers[i].RemainingMS = &left
		}
	}
	return ck, nil
}

// Written is the answer of a state change sent with a checkpoint: the events of the change
// and the checkpoint version written with it.
type Written struct {
	Events     []Event            `json:"events"`
	Checkpoint *WrittenCheckpoint `json:"checkpoint,omitempty"`
}

// WrittenCheckpoint is what the writer of a checkpoint sent with a change learns of it: its
// version, and the epoch, owner and time it was written under. Not its content, which the
// writer has: sending kilobytes of data model back with every change would cost both sides.
type WrittenCheckpoint struct {
	SessionID string    `json:"session_id"`
	Version   int64     `json:"version"`
	Epoch     int64     `json:"epoch"`
	NodeID    *string   `json:"node_id,omitempty"`
	WrittenAt time.Time `json:"written_at"`
	SizeBytes int       `json:"size_bytes"`
}

// ChangePartyStateWithCheckpoint is ChangePartyState and WriteCheckpoint in one transaction
// and one round trip: both are written, or neither.
func (s *Store) ChangePartyStateWithCheckpoint(ctx context.Context, t Target, interactionID, partyID string, in PartyStateChange, ck NewCheckpoint) (Written, error) {
	if err := in.validate(); err != nil {
		return Written{}, err
	}
	return s.withCheckpoint(ctx, t, ck, func(q *db.Queries) {
		_, _ = q.PartyStateChange(ctx, db.PartyStateChangeParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, PartyID: partyID,
			State: db.PartyState(in.State), Hints: hintsOrEmpty(in.Hints),
		})
	})
}

// ReplaceUserDataWithCheckpoint and MergeUserDataWithCheckpoint are the user data changes
// with a checkpoint, in one transaction and one round trip.
func (s *Store) ReplaceUserDataWithCheckpoint(ctx context.Context, t Target, interactionID string, in UserDataChange, ck NewCheckpoint) (Written, error) {
	return s.userDataWithCheckpoint(ctx, t, interactionID, in, true, ck)
}

func (s *Store) MergeUserDataWithCheckpoint(ctx context.Context, t Target, interactionID string, in UserDataChange, ck NewCheckpoint) (Written, error) {
	return s.userDataWithCheckpoint(ctx, t, interactionID, in, false, ck)
}

func (s *Store) userDataWithCheckpoint(ctx context.Context, t Target, interactionID string, in UserDataChange, replace bool, ck NewCheckpoint) (Written, error) {
	if err := in.validate(); err != nil {
		return Written{}, err
	}
	data, err := json.Marshal(in.Data)
	if err != nil {
		return Written{}, fault.Errorf(fault.ErrInvalid, "data: %v", err)
	}
	return s.withCheckpoint(ctx, t, ck, func(q *db.Queries) {
		_, _ = q.UserDataWrite(ctx, db.UserDataWriteParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, Data: data,
			Replace: replace, FromMedia: in.Origin == OriginMedia,
		})
	})
}

// withCheckpoint sends a state change (a generated query returning outbox rows, which change
// calls on the Queries it is given) and the checkpoint's write as one pgx batch: the
// statements of a batch are sent together and followed by a single Sync, so PostgreSQL runs
// them in one implicit transaction, and an error in either rolls back both. One round trip
// once the statements are prepared, where an explicit transaction would cost four.
func (s *Store) withCheckpoint(ctx context.Context, t Target, ck NewCheckpoint, change func(q *db.Queries)) (Written, error) {
	p, err := s.checkpointParams(t, ck)
	if err != nil {
		return Written{}, err
	}
	// The generated queries run their statement on a DBTX; a recorder takes the statement
	// and its arguments instead, so the batch sends exactly what the single routes send.
	var changeStmt, ckStmt recorder
	change(db.New(&changeStmt))
	_, _ = db.New(&ckStmt).CheckpointWriteBrief(ctx, db.CheckpointWriteBriefParams(p))
	if changeStmt.sql == "" || ckStmt.sql == "" {
		return Written{}, errors.New("service: a batched change recorded no statement")
	}
	b := &pgx.Batch{}
	b.Queue(changeStmt.sql, changeStmt.args...)
	b.Queue(ckStmt.sql, ckStmt.args...)
	br := s.conn.SendBatch(ctx, b)
	out, err := func() (Written, error) {
		rows, err := br.Query()
		if err != nil {
			return Written{}, err
		}
		// Positional: SELECT * of a function returning outbox gives the table's columns in
		// order, which is the order of the generated model's fields; the brief write's
		// columns are those of its generated row.
		events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[db.Outbox])
		if err != nil {
			return Written{}, err
		}
		rows, err = br.Query()
		if err != nil {
			return Written{}, err
		}
		row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[db.CheckpointWriteBriefRow])
		if err != nil {
			return Written{}, err
		}
		return Written{Events: eventsFromRows(events), Checkpoint: &WrittenCheckpoint{
			SessionID: row.SessionID, Version: row.Version, Epoch: row.Epoch, NodeID: row.NodeID,
			WrittenAt: row.WrittenAt, SizeBytes: int(row.SizeBytes),
		}}, nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Written{}, database.Translate(err)
	}
	if len(out.Events) > 0 {
		s.written()
	}
	return out, nil
}

// recorder is a db.DBTX that runs nothing: it keeps the statement it is given.
type recorder struct {
	sql  string
	args []any
}

var errRecorded = errors.New("service: recorded, not run")

func (r *recorder) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r.sql, r.args = sql, args
	return pgconn.CommandTag{}, errRecorded
}

func (r *recorder) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	r.sql, r.args = sql, args
	return nil, errRecorded
}

func (r *recorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.sql, r.args = sql, args
	return recordedRow{}
}

func (r *recorder) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errRecorded
}

type recordedRow struct{}

func (recordedRow) Scan(...any) error { return errRecorded }
