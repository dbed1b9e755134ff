package service

import (
	"context"
	"time"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// PublishedEvent is an event with its place in the publication order, which is what a
// subscriber resumes from.
type PublishedEvent struct {
	PubSeq int64 `json:"pub_seq"`
	Event
}

// PublishedFilter narrows a read of published events to one session or to the sessions a
// node owned when their events were written; empty reads everything.
type PublishedFilter struct {
	SessionID string
	NodeID    string
}

// MaxPublishedPage is the most published events one ListPublished call returns.
const MaxPublishedPage = 5000

// ListPublished returns published events after afterPubSeq in publication order. Events of
// one session come in seq order, without gaps.
func (s *Store) ListPublished(ctx context.Context, f PublishedFilter, afterPubSeq int64, limit int) ([]PublishedEvent, error) {
	if afterPubSeq < 0 {
		return nil, fault.Errorf(fault.ErrInvalid, "after must be 0 or more")
	}
	if limit <= 0 || limit > MaxPublishedPage {
		limit = MaxPublishedPage
	}
	var out []PublishedEvent
	switch {
	case f.SessionID != "" && f.NodeID != "":
		return nil, fault.Errorf(fault.ErrInvalid, "filter by session_id or by node_id, not both")
	case f.SessionID != "":
		rows, err := s.q.PublishedListAfterBySession(ctx, db.PublishedListAfterBySessionParams{
			SessionID: f.SessionID, AfterPubSeq: afterPubSeq, MaxRows: int32(limit)})
		if err != nil {
			return nil, database.Translate(err)
		}
		for _, r := range rows {
			out = append(out, published(db.PublishedListAfterRow(r)))
		}
	case f.NodeID != "":
		rows, err := s.q.PublishedListAfterByNode(ctx, db.PublishedListAfterByNodeParams{
			NodeID: &f.NodeID, AfterPubSeq: afterPubSeq, MaxRows: int32(limit)})
		if err != nil {
			return nil, database.Translate(err)
		}
		for _, r := range rows {
			out = append(out, published(db.PublishedListAfterRow(r)))
		}
	default:
		rows, err := s.q.PublishedListAfter(ctx, db.PublishedListAfterParams{AfterPubSeq: afterPubSeq, MaxRows: int32(limit)})
		if err != nil {
			return nil, database.Translate(err)
		}
		for _, r := range rows {
			out = append(out, published(r))
		}
	}
	return out, nil
}

// LastPubSeq returns the newest publication number, 0 when nothing is published: where a
// reader that wants only what comes next starts.
func (s *Store) LastPubSeq(ctx context.Context) (int64, error) {
	n, err := s.q.PublishedLastSeq(ctx)
	return n, database.Translate(err)
}

func published(r db.PublishedListAfterRow) PublishedEvent {
	return PublishedEvent{PubSeq: r.PubSeq, Event: eventFromRow(db.Outbox{
		ID: r.ID, SessionID: r.SessionID, Seq: r.Seq, Name: r.Name, Attrs: r.Attrs,
		NodeID: r.NodeID, Epoch: r.Epoch, CreatedAt: r.CreatedAt,
	})}
}

// DroppedDay is a day of published events that retention removed, with about how many
// events it held.
type DroppedDay struct {
	Day         time.Time
	EventsAbout int64
}

// DropPublishedDays removes the days of publication (published events, one partition per UTC
// day) that ended at or before before, oldest first, at most maxDays of them. Only published
// events are in publication, so nothing unpublished is removed; a day goes whole, as one table.
func (s *Store) DropPublishedDays(ctx context.Context, before time.Time, maxDays int) ([]DroppedDay, error) {
	rows, err := s.q.PublicationDrop(ctx, db.PublicationDropParams{Before: before, MaxDays: int32(maxDays)})
	if err != nil {
		return nil, database.Translate(err)
	}
	days := make([]DroppedDay, len(rows))
	for i, r := range rows {
		days[i] = DroppedDay{Day: r.Day.Time, EventsAbout: r.EventsAbout}
	}
	return days, nil
}

// PublishedDaysAhead makes the day partitions of publication from today (UTC) to days ahead,
// those that do not exist yet, and returns how many it made.
func (s *Store) PublishedDaysAhead(ctx context.Context, now time.Time, days int) (int, error) {
	made, err := s.q.PublicationDays(ctx, db.PublicationDaysParams{FromAt: now, ToAt: now.AddDate(0, 0, days)})
	return int(made), database.Translate(err)
}

// PruneOrigins removes up to limit interaction origins written before before (the events
// they point at go with the days of publication) and returns how many it removed, so a
// caller repeats it until it returns less than limit.
func (s *Store) PruneOrigins(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := s.q.OriginsDeleteExpired(ctx, db.OriginsDeleteExpiredParams{Before: before, MaxRows: int32(limit)})
	return int(n), database.Translate(err)
}

// VacuumOutbox vacuums the outbox, which every published event leaves as a dead row: so that
// it stays the size of what is waiting to be published, with autovacuum on or off.
func (s *Store) VacuumOutbox(ctx context.Context) error {
	return database.Translate(s.q.OutboxVacuum(ctx))
}
