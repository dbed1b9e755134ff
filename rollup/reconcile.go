package rollup

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ixnstore/ixnstore/db"
)

// counted is what one interaction gives the rollups (a report_rollup_counted row, with the
// buckets of its durations). A live one has no handle time (HandleUs nil).
type counted struct {
	SessionID     string    `json:"session_id"`
	InteractionID string    `json:"interaction_id"`
	CreatedAt     time.Time `json:"created_at"`
	Hour          time.Time `json:"hour"`
	Media         string    `json:"media"`
	Node          string    `json:"node"`
	Resources     []string  `json:"resources"`
	Outcome       string    `json:"outcome"`
	HandleUs      *int64    `json:"handle_us"`
	ConnectUs     *int64    `json:"connect_us"`
	Transfers     int32     `json:"transfers"`
	Conferences   int32     `json:"conferences"`
	HandleBucket  *int32    `json:"handle_bucket"`
	ConnectBucket *int32    `json:"connect_bucket"`
}

func (c counted) same(o counted) bool {
	return c.CreatedAt.Equal(o.CreatedAt) && c.Hour.Equal(o.Hour) && c.Media == o.Media && c.Node == o.Node && slices.Equal(c.Resources, o.Resources) &&
		c.Outcome == o.Outcome && equalPtr(c.HandleUs, o.HandleUs) && equalPtr(c.ConnectUs, o.ConnectUs) &&
		c.Transfers == o.Transfers && c.Conferences == o.Conferences &&
		equalPtr(c.HandleBucket, o.HandleBucket) && equalPtr(c.ConnectBucket, o.ConnectBucket)
}

func equalPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// fact is the counted interaction as n of a group's figures.
func (c counted) fact(n int64) Fact {
	f := Fact{Outcome: c.Outcome, N: n, Transfers: n * int64(c.Transfers), Conferences: n * int64(c.Conferences)}
	if c.HandleUs != nil {
		f.HandleBucket, f.HandleSumUs = c.HandleBucket, n*(*c.HandleUs)
	}
	if c.ConnectUs != nil {
		f.ConnectBucket, f.Connected, f.ConnectSumUs = c.ConnectBucket, n, n*(*c.ConnectUs)
	}
	return f
}

// group is one group of one hour or block of hours: a row of report_rollups.
type group struct {
	dim   string
	block Block
	key   string
}

// groups are the groups an interaction counts in: by media, node and each resource, in its
// hour and in each block that holds the hour.
func (c counted) groups() []group {
	g := make([]group, 0, (2+len(c.Resources))*len(spans))
	for _, h := range spans {
		b := BlockOf(c.Hour, h)
		g = append(g, group{"media", b, c.Media}, group{"node", b, c.Node})
		for _, r := range c.Resources {
			g = append(g, group{"resource", b, r})
		}
	}
	return g
}

// reconcile brings what the rollups hold of each interaction to what its row says now, live or
// ended; one that has no row (removed) not at all. It returns how many interactions changed
// in the rollups, and those of the keys that are connected now.
func reconcile(ctx context.Context, q *db.Queries, keys []key) (int, []key, error) {
	if len(keys) == 0 {
		return 0, nil, nil
	}
	sessions, interactions := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		sessions[i], interactions[i] = k.session, k.interaction
	}
	facts, err := q.RollupFactsOf(ctx, db.RollupFactsOfParams{SessionIds: sessions, InteractionIds: interactions})
	if err != nil {
		return 0, nil, err
	}
	held, err := q.RollupCountedOf(ctx, db.RollupCountedOfParams{SessionIds: sessions, InteractionIds: interactions})
	if err != nil {
		return 0, nil, err
	}
	now := map[key]counted{}
	var connected []key
	for _, f := range facts {
		k := key{f.SessionID, f.InteractionID}
		now[k] = countedFromFact(f)
		if f.Connected {
			connected = append(connected, k)
		}
	}
	was := map[key]counted{}
	for _, h := range held {
		was[key{h.SessionID, h.InteractionID}] = countedFromHeld(h)
	}

	deltas := map[group]*Sums{}
	add := func(c counted, n int64) {
		for _, g := range c.groups() {
			if deltas[g] == nil {
				deltas[g] = NewSums()
			}
			deltas[g].Add(c.fact(n))
		}
	}
	var put []counted
	var gone []key
	for _, k := range keys {
		old, had := was[k]
		cur, has := now[k]
		if had == has && (!has || old.same(cur)) {
			continue
		}
		if had {
			add(old, -1)
		}
		if has {
			add(cur, 1)
			put = append(put, cur)
		} else {
			gone = append(gone, k)
		}
	}
	if len(deltas) == 0 {
		return 0, connected, nil
	}
	if err := applyDeltas(ctx, q, deltas); err != nil {
		return 0, nil, err
	}
	if len(put) > 0 {
		rows, err := json.Marshal(put)
		if err != nil {
			return 0, nil, err
		}
		if err := q.RollupCountedPut(ctx, rows); err != nil {
			return 0, nil, err
		}
	}
	if len(gone) > 0 {
		s, i := make([]string, len(gone)), make([]string, len(gone))
		for j, k := range gone {
			s[j], i[j] = k.session, k.interaction
		}
		if err := q.RollupCountedDelete(ctx, db.RollupCountedDeleteParams{SessionIds: s, InteractionIds: i}); err != nil {
			return 0, nil, err
		}
	}
	return len(put) + len(gone), connected, nil
}

func countedFromFact(f db.RollupFactsOfRow) counted {
	var handle, connect *int64
	if f.Ended {
		handle = &f.HandleUs
	}
	if f.Connected {
		connect = &f.ConnectUs
	}
	return counted{SessionID: f.SessionID, InteractionID: f.InteractionID, CreatedAt: f.CreatedAt, Hour: f.Hour.UTC(), Media: f.Media,
		Node: f.Node, Resources: f.Resources, Outcome: f.Outcome, HandleUs: handle, ConnectUs: connect,
		Transfers: f.Transfers, Conferences: f.Conferences, HandleBucket: Bucket(f.HandleBucket), ConnectBucket: Bucket(f.ConnectBucket)}
}

func countedFromHeld(h db.RollupCountedOfRow) counted {
	var created time.Time // none in a row counted before migration 00070: differs from any
	if h.CreatedAt != nil {
		created = *h.CreatedAt
	}
	return counted{SessionID: h.SessionID, InteractionID: h.InteractionID, CreatedAt: created, Hour: h.Hour.UTC(), Media: h.Media,
		Node: h.Node, Resources: h.Resources, Outcome: h.Outcome, HandleUs: h.HandleUs, ConnectUs: h.ConnectUs,
		Transfers: h.Transfers, Conferences: h.Conferences, HandleBucket: h.HandleBucket, ConnectBucket: h.ConnectBucket}
}

// Bucket reads a bucket number from a query, where -1 stands for no duration (nil).
func Bucket(b int32) *int32 {
	if b < 0 {
		return nil
	}
	return &b
}

// rollupRow is a report_rollups row as RollupsPut takes it.
type rollupRow struct {
	Dim          string    `json:"dim"`
	Hours        int32     `json:"hours"`
	Hour         time.Time `json:"hour"`
	Key          string    `json:"key"`
	Total        int64     `json:"total"`
	Live         int64     `json:"live"`
	Completed    int64     `json:"completed"`
	Abandoned    int64     `json:"abandoned"`
	Merged       int64     `json:"merged"`
	Moved        int64     `json:"moved"`
	HandleSumUs  int64     `json:"handle_sum_us"`
	HandleHist   bytea     `json:"handle_hist"`
	Connected    int64     `json:"connected"`
	ConnectSumUs int64     `json:"connect_sum_us"`
	ConnectHist  bytea     `json:"connect_hist"`
	Transfers    int64     `json:"transfers"`
	Conferences  int64     `json:"conferences"`
}

// bytea is a bytea value in JSON as PostgreSQL reads it from text (jsonb_populate_recordset):
// hex, after \x.
type bytea []byte

func (b bytea) MarshalJSON() ([]byte, error) {
	return json.Marshal(`\x` + hex.EncodeToString(b))
}

// Row is the figures of a report_rollups row (db.ReportRollup and the report's reads of it).
type Row struct {
	Total, Live, Completed, Abandoned, Merged, Moved int64
	HandleSumUs                                      int64
	HandleHist                                       []byte
	Connected, ConnectSumUs                          int64
	ConnectHist                                      []byte
	Transfers, Conferences                           int64
}

// AddRow adds a report_rollups row's figures, in place: a report adds thousands of rows,
// without sums of their own to merge.
func (s *Sums) AddRow(r Row) error {
	s.Total, s.Live, s.Completed, s.Abandoned = s.Total+r.Total, s.Live+r.Live, s.Completed+r.Completed, s.Abandoned+r.Abandoned
	s.Merged, s.Moved, s.HandleSumUs = s.Merged+r.Merged, s.Moved+r.Moved, s.HandleSumUs+r.HandleSumUs
	s.Connected, s.ConnectSumUs = s.Connected+r.Connected, s.ConnectSumUs+r.ConnectSumUs
	s.Transfers, s.Conferences = s.Transfers+r.Transfers, s.Conferences+r.Conferences
	if err := s.Handle.AddPacked(r.HandleHist, 1); err != nil {
		return fmt.Errorf("handle times: %w", err)
	}
	if err := s.Connect.AddPacked(r.ConnectHist, 1); err != nil {
		return fmt.Errorf("times to connect: %w", err)
	}
	return nil
}

// applyDeltas adds the deltas to the rollup rows of their groups (locked, read, written whole);
// a group left with no interaction loses its row.
func applyDeltas(ctx context.Context, q *db.Queries, deltas map[group]*Sums) error {
	var dims, keys []string
	var spans []int32
	var starts []time.Time
	for g := range deltas {
		dims, spans, starts, keys = append(dims, g.dim), append(spans, g.block.Hours), append(starts, g.block.Start), append(keys, g.key)
	}
	rows, err := q.RollupsOf(ctx, db.RollupsOfParams{Dims: dims, Spans: spans, Starts: starts, Keys: keys})
	if err != nil {
		return err
	}
	sums := map[group]*Sums{}
	for _, r := range rows {
		s := NewSums()
		if err := s.AddRow(Row{Total: r.Total, Live: r.Live, Completed: r.Completed, Abandoned: r.Abandoned, Merged: r.Merged,
			Moved: r.Moved, HandleSumUs: r.HandleSumUs, HandleHist: r.HandleHist, Connected: r.Connected,
			ConnectSumUs: r.ConnectSumUs, ConnectHist: r.ConnectHist, Transfers: r.Transfers, Conferences: r.Conferences}); err != nil {
			return fmt.Errorf("the rollup row %s %s of %s: %w", r.Dim, r.Hour, r.Key, err)
		}
		sums[group{r.Dim, Block{r.Hours, r.Hour.UTC()}, r.Key}] = s
	}
	var put []rollupRow
	var gone []group
	for g, d := range deltas {
		s := sums[g]
		if s == nil {
			s = NewSums()
		}
		s.Merge(d)
		if s.Total == 0 {
			gone = append(gone, g)
			continue
		}
		put = append(put, rollupRow{Dim: g.dim, Hours: g.block.Hours, Hour: g.block.Start, Key: g.key, Total: s.Total, Live: s.Live, Completed: s.Completed,
			Abandoned: s.Abandoned, Merged: s.Merged, Moved: s.Moved, HandleSumUs: s.HandleSumUs,
			HandleHist: s.Handle.Pack(), Connected: s.Connected, ConnectSumUs: s.ConnectSumUs,
			ConnectHist: s.Connect.Pack(), Transfers: s.Transfers, Conferences: s.Conferences})
	}
	if len(put) > 0 {
		b, err := json.Marshal(put)
		if err != nil {
			return err
		}
		if err := q.RollupsPut(ctx, b); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		var d, k []string
		var h []int32
		var st []time.Time
		for _, g := range gone {
			d, h, st, k = append(d, g.dim), append(h, g.block.Hours), append(st, g.block.Start), append(k, g.key)
		}
		return q.RollupsDelete(ctx, db.RollupsDeleteParams{Dims: d, Spans: h, Starts: st, Keys: k})
	}
	return nil
}
