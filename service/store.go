// Package service is ixnstore's domain: sessions, interactions, parties and user data, and the
// interaction events each change of them causes. Every change is one transaction that writes
// the state and its events together. Nothing here knows HTTP.
package service

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// Store reads and changes the state kept in PostgreSQL.
type Store struct {
	pool           *pgxpool.Pool
	q              *db.Queries
	conn           conn
	written        func()
	requestTimeout time.Duration
	nodeLease      time.Duration
	// checkpointKeep: how many versions of a session's checkpoint are kept;
	// checkpointMaxBytes: the largest checkpoint taken.
	checkpointKeep     int
	checkpointMaxBytes int
	idempotencyTTL     time.Duration
	// shared applies party state changes with others in shared commits; nil when they are
	// off, and in a Store bound to one transaction (whose changes commit with it).
	shared *sharedCommits
}

// Config is how a Store behaves. The zero Config is valid: each zero field takes its default.
type Config struct {
	// RequestTimeout is how long the media side has to answer an action request that gives no
	// timeout of its own (DefaultRequestTimeout).
	RequestTimeout time.Duration
	// NodeLease is the lease of nodes that register without one (DefaultNodeLease).
	NodeLease time.Duration
	// CheckpointKeep is how many versions of each session's checkpoint are kept: the current
	// one and, above 1, those before it for audit (DefaultCheckpointKeep: the current alone).
	CheckpointKeep int
	// CheckpointMaxBytes is the largest checkpoint taken, in bytes of its JSON
	// (DefaultCheckpointMaxBytes).
	CheckpointMaxBytes int
	// IdempotencyTTL is how long an Idempotency-Key and the first answer to its write are kept
	// (DefaultIdempotencyTTL).
	IdempotencyTTL time.Duration
	// Written is called after each committed change that wrote events: the dispatcher's
	// wake-up.
	Written func()
	// SharedCommits is how many shared commits may be written at once (service/shared.go):
	// party state changes that arrive while that many are being written wait for the next
	// and commit together. 0 turns sharing off: each change is a transaction of its own.
	SharedCommits int
}

// Validate says what is wrong with c, in the words of its fields.
func (c Config) Validate() error {
	if c.RequestTimeout != 0 && (c.RequestTimeout < MinRequestTimeout || c.RequestTimeout > MaxRequestTimeout) {
		return fmt.Errorf("the request timeout must be from %s to %s", MinRequestTimeout, MaxRequestTimeout)
	}
	if c.NodeLease != 0 && (c.NodeLease < MinNodeLease || c.NodeLease > MaxNodeLease) {
		return fmt.Errorf("the node lease must be from %s to %s", MinNodeLease, MaxNodeLease)
	}
	if c.CheckpointKeep < 0 || c.CheckpointKeep > MaxCheckpointKeep {
		return fmt.Errorf("the checkpoint versions kept must be from 1 to %d (0 takes the default)", MaxCheckpointKeep)
	}
	if c.CheckpointMaxBytes < 0 || c.CheckpointMaxBytes > MaxCheckpointMaxBytes {
		return fmt.Errorf("the checkpoint size limit must be at most %d bytes", MaxCheckpointMaxBytes)
	}
	if c.SharedCommits < 0 || c.SharedCommits > MaxSharedCommits {
		return fmt.Errorf("the shared commits at once must be from 0 (off) to %d", MaxSharedCommits)
	}
	if c.IdempotencyTTL < 0 || c.IdempotencyTTL > MaxIdempotencyTTL {
		return fmt.Errorf("the idempotency key time must be at most %s (0 takes the default)", MaxIdempotencyTTL)
	}
	return nil
}

// New makes a Store on pool. A Config that does not Validate is a programming error: callers
// that take it from a person validate it first and say what is wrong.
func New(pool *pgxpool.Pool, cfg Config) *Store {
	if err := cfg.Validate(); err != nil {
		panic("service: " + err.Error())
	}
	s := &Store{pool: pool, q: db.New(pool), conn: pool, written: cfg.Written, requestTimeout: cfg.RequestTimeout,
		nodeLease: cfg.NodeLease, idempotencyTTL: cfg.IdempotencyTTL}
	if s.idempotencyTTL == 0 {
		s.idempotencyTTL = DefaultIdempotencyTTL
	}
	if s.written == nil {
		s.written = func() {}
	}
	if s.requestTimeout == 0 {
		s.requestTimeout = DefaultRequestTimeout
	}
	if s.nodeLease == 0 {
		s.nodeLease = DefaultNodeLease
	}
	if cfg.SharedCommits > 0 {
		s.shared = newSharedCommits(s.q, cfg.SharedCommits)
	}
	s.checkpointKeep, s.checkpointMaxBytes = cfg.CheckpointKeep, cfg.CheckpointMaxBytes
	if s.checkpointKeep == 0 {
		s.checkpointKeep = DefaultCheckpointKeep
	}
	if s.checkpointMaxBytes == 0 {
		s.checkpointMaxBytes = DefaultCheckpointMaxBytes
	}
	return s
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return database.Translate(s.pool.Ping(ctx))
}

// change runs one state change. Each is a single statement (a function of sql/functions/),
// so it is its own transaction and costs one round trip;
// units of more than one statement go through WithTx.
func (s *Store) change(ctx context.Context, validate func() error, run func(ctx context.Context) ([]db.Outbox, error)) ([]Event, error) {
	if validate != nil {
		if err := validate(); err != nil {
			return nil, err
		}
	}
	rows, err := run(ctx)
	if err != nil {
		return nil, database.Translate(err)
	}
	if len(rows) > 0 {
		s.written()
	}
	return eventsFromRows(rows), nil
}

// CreateSession creates an active session; an empty SessionID is given a new UUID.
func (s *Store) CreateSession(ctx context.Context, in NewSession) (Session, error) {
	session, _, err := s.CreateSessionOnce(ctx, in)
	return session, err
}

// CreateSessionOnce is CreateSession, idempotent like the other creations: a session that
// already exists with the same tenant and owner is answered as it now is, with created false
// and nothing written; one with another tenant or owner is a conflict.
func (s *Store) CreateSessionOnce(ctx context.Context, in NewSession) (session Session, created bool, err error) {
	if in.SessionID == "" {
		in.SessionID = uuid.NewString()
	}
	if err := in.validate(); err != nil {
		return Session{}, false, err
	}
	row, err := s.q.SessionCreate(ctx, db.SessionCreateParams{
		SessionID: in.SessionID, TenantID: in.TenantID, OwnerNode: in.OwnerNode,
	})
	if err == nil {
		return sessionFromRow(row), true, nil
	}
	if err = database.Translate(err); !database.IsKind(err, fault.ErrConflict) {
		return Session{}, false, err
	}
	// Only on a conflict: the session as it is, to compare with the creation.
	row, err = s.q.SessionGet(ctx, in.SessionID)
	if err != nil {
		return Session{}, false, database.Translate(err)
	}
	if !reflect.DeepEqual(row.TenantID, in.TenantID) || !reflect.DeepEqual(row.OwnerNode, in.OwnerNode) {
		return Session{}, false, fault.Errorf(fault.ErrConflict, "session %s already exists with another tenant or owner", in.SessionID)
	}
	return sessionFromRow(row), false, nil
}

// GetSession returns the session with its live interactions, their parties and user data, as
// of one snapshot.
func (s *Store) GetSession(ctx context.Context, sessionID string) (SessionState, error) {
	return database.WithTxValue(ctx, s.conn, database.ReadSnapshot, func(ctx context.Context, q *db.Queries) (SessionState, error) {
		return readSessionState(ctx, q, sessionID)
	})
}

// readSessionState reads a session's whole state with q: one snapshot when q's transaction
// is repeatable read, or what the session's row lock, held by q's transaction, lets no one
// else change.
func readSessionState(ctx context.Context, q *db.Queries, sessionID string) (SessionState, error) {
	row, err := q.SessionGet(ctx, sessionID)
	if err != nil {
		return SessionState{}, notFound(err, "session %s not found", sessionID)
	}
	ixns, err := q.InteractionListBySession(ctx, sessionID)
	if err != nil {
		return SessionState{}, err
	}
	parties, err := q.PartyListBySession(ctx, sessionID)
	if err != nil {
		return SessionState{}, err
	}
	udata, err := q.UserDataListBySession(ctx, sessionID)
	if err != nil {
		return SessionState{}, err
	}
	version, err := q.CheckpointVersion(ctx, sessionID)
	if err != nil {
		return SessionState{}, err
	}
	state := SessionState{Session: sessionFromRow(row), Interactions: make([]Interaction, len(ixns))}
	if version > 0 {
		state.CheckpointVersion = &version
	}
	index := make(map[string]*Interaction, len(ixns))
	for i, r := range ixns {
		state.Interactions[i] = interactionFromRow(r)
		index[r.InteractionID] = &state.Interactions[i]
	}
	for _, p := range parties {
		if ix := index[p.InteractionID]; ix != nil {
			ix.Parties = append(ix.Parties, partyFromRow(p))
		}
	}
	for _, u := range udata {
		if ix := index[u.InteractionID]; ix != nil {
			ix.UserData[u.Key] = u.Value
		}
	}
	return state, nil
}

// GetInteraction returns one interaction of a session, deleted or not, with its parties and
// user data.
func (s *Store) GetInteraction(ctx context.Context, sessionID, interactionID string) (Interaction, error) {
	return database.WithTxValue(ctx, s.conn, database.ReadSnapshot, func(ctx context.Context, q *db.Queries) (Interaction, error) {
		row, err := q.InteractionGet(ctx, db.InteractionGetParams{SessionID: sessionID, InteractionID: interactionID})
		if err != nil {
			return Interaction{}, notFound(err, "interaction %s not found in session %s", interactionID, sessionID)
		}
		ix := interactionFromRow(row)
		parties, err := q.PartyListByInteraction(ctx, db.PartyListByInteractionParams{SessionID: sessionID, InteractionID: interactionID})
		if err != nil {
			return Interaction{}, err
		}
		for _, p := range parties {
			ix.Parties = append(ix.Parties, partyFromRow(p))
		}
		udata, err := q.UserDataListByInteraction(ctx, db.UserDataListByInteractionParams{SessionID: sessionID, InteractionID: interactionID})
		if err != nil {
			return Interaction{}, err
		}
		for _, u := range udata {
			ix.UserData[u.Key] = u.Value
		}
		return ix, nil
	})
}

// MaxEventsPage is the most events one ListEvents call returns.
const MaxEventsPage = 1000

// ListEvents returns the session's events numbered after afterSeq, in order.
func (s *Store) ListEvents(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]Event, error) {
	if afterSeq < 0 {
		return nil, fault.Errorf(fault.ErrInvalid, "after must be 0 or more")
	}
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	rows, err := s.q.OutboxListBySession(ctx, db.OutboxListBySessionParams{
		SessionID: sessionID, AfterSeq: afterSeq, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		// An empty page: the session may not exist at all, which is a 404, not an empty list.
		if _, err := s.q.SessionGet(ctx, sessionID); err != nil {
			return nil, notFound(err, "session %s not found", sessionID)
		}
	}
	return eventsFromRows(rows), nil
}

// EndSession ends the session. Interactions it still holds leave it: each gets
// interaction.notcontrolled (resultof detach) when the session controlled it, then
// interaction.deleted.
func (s *Store) EndSession(ctx context.Context, t Target) ([]Event, error) {
	return s.change(ctx, nil, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.SessionEnd(ctx, db.SessionEndParams{SessionID: t.SessionID, Epoch: t.Epoch})
	})
}

// AddInteraction adds an interaction to the session: interaction.added. Parties and user data
// it already has come with it.
func (s *Store) AddInteraction(ctx context.Context, t Target, in NewInteraction) ([]Event, error) {
	events, _, err := s.AddInteractionOnce(ctx, t, in)
	return events, err
}

// AddInteractionOnce is AddInteraction, idempotent like the other creations: an interaction
// live in the session that was added with the same media, type, parent, tenant and parties is
// answered with the interaction.added event that added it, created false and nothing written.
// Its user data and Genesys properties are not compared: their own routes change them.
func (s *Store) AddInteractionOnce(ctx context.Context, t Target, in NewInteraction) (events []Event, created bool, err error) {
	events, err = s.addInteraction(ctx, t, in)
	if !database.IsKind(err, fault.ErrConflict) {
		return events, err == nil, err
	}
	type origin struct {
		PartyID  string `json:"party_id"`
		Resource string `json:"resource"`
		State    string `json:"state"`
	}
	parties := make([]origin, len(in.Parties))
	for i, p := range in.Parties {
		parties[i] = origin{p.PartyID, p.Resource, p.State}
	}
	given, merr := json.Marshal(parties)
	if merr != nil {
		return nil, false, merr
	}
	rows, qerr := s.q.InteractionAddedAs(ctx, db.InteractionAddedAsParams{
		SessionID: t.SessionID, InteractionID: in.InteractionID, Media: in.Media, Type: db.InteractionType(in.Type),
		ParentID: in.ParentID, TenantID: in.TenantID, Parties: given,
	})
	if qerr != nil || len(rows) == 0 {
		return nil, false, err // the conflict stands
	}
	return eventsFromRows(rows), false, nil
}

func (s *Store) addInteraction(ctx context.Context, t Target, in NewInteraction) ([]Event, error) {
	return s.change(ctx, in.validate, func(ctx context.Context) ([]db.Outbox, error) {
		parties, err := json.Marshal(nonNil(in.Parties))
		if err != nil {
			return nil, err
		}
		udata, err := json.Marshal(nonNilMap(in.UserData))
		if err != nil {
			return nil, fault.Errorf(fault.ErrInvalid, "udata: %v", err)
		}
		props := []byte("{}")
		if in.Genesys != nil {
			if props, err = json.Marshal(in.Genesys); err != nil {
				return nil, fault.Errorf(fault.ErrInvalid, "genesys: %v", err)
			}
		}
		return s.q.InteractionAdd(ctx, db.InteractionAddParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: in.InteractionID, Media: in.Media,
			Type: db.InteractionType(in.Type), ParentID: in.ParentID, TenantID: in.TenantID, Parties: parties, Udata: udata,
			Properties: props,
		})
	})
}

// PresentInteraction puts the interaction under the session's control: interaction.present.
func (s *Store) PresentInteraction(ctx context.Context, t Target, interactionID string) ([]Event, error) {
	return s.change(ctx, nil, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.InteractionPresent(ctx, db.InteractionPresentParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID,
		})
	})
}

// ReleaseControl takes the interaction out of the session's control while the session keeps
// it: interaction.notcontrolled with resultof (deletion or detach).
func (s *Store) ReleaseControl(ctx context.Context, t Target, interactionID, resultOf string) ([]Event, error) {
	validate := func() error {
		var c checker
		c.oneOf("resultof", resultOf, ResultOfValues)
		return c.err()
	}
	return s.change(ctx, validate, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.InteractionNotControlled(ctx, db.InteractionNotControlledParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID, Resultof: resultOf,
		})
	})
}

// DeleteInteraction takes the interaction out of the session: interaction.notcontrolled
// (resultof deletion) when the session controlled it, then interaction.deleted.
func (s *Store) DeleteInteraction(ctx context.Context, t Target, interactionID string) ([]Event, error) {
	return s.change(ctx, nil, func(ctx context.Context) ([]db.Outbox, error) {
		return s.q.InteractionDelete(ctx, db.InteractionDeleteParams{
			SessionID: t.SessionID, Epoch: t.Epoch, InteractionID: interactionID,
		})
	})
}

func notFound(err error, format string, args ...any) error {
	err = database.Translate(err)
	if database.IsKind(err, fault.ErrNotFound) {
		return fault.Errorf(fault.ErrNotFound, format, args...)
	}
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return map[string]json.RawMessage{}
	}
	return m
}
