package reporting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/rollup"
)

// aggregatesFromRollups answers Aggregates from the rollups (docs/reporting.md, "Rollups"), in
// one snapshot: the rows of the few blocks of hours that tile the window's whole hours, and
// for each hour the window cuts either what the rollups hold of its part in the window, one
// interaction at a time, or the hour's row less the rest of it, whichever is less to read
// (rollup.CoverOf); less what they hold of the interactions the worker may not have applied
// yet (named by events after its position or not published yet), plus those as their rows
// are now. Counts and averages are the rows'; percentiles are read from histogram buckets
// (within rollup.RelativeError). A window without a whole hour, or a database whose rollups
// were never built or hold only ended interactions (built before they held live ones), is
// answered from the rows.
func (r *Reporter) aggregatesFromRollups(ctx context.Context, from, to time.Time, groupBy string) ([]Aggregate, error) {
	cover, whole := rollup.CoverOf(from, to, time.Now())
	return inSnapshot(ctx, r, func(ctx context.Context, q *db.Queries) ([]Aggregate, error) {
		if !whole {
			return aggregatesFromRows(ctx, q, from, to, groupBy)
		}
		st, err := q.RollupStateGet(ctx, rollup.DefaultName)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !st.CountsLive) {
			return aggregatesFromRows(ctx, q, from, to, groupBy)
		}
		if err != nil {
			return nil, err
		}
		// Where the dispatcher stands in this snapshot: the events after it are not published.
		ds, err := q.DispatcherStateGet(ctx)
		if err != nil {
			return nil, err
		}
		groups := map[string]*rollup.Sums{}
		sums := func(k string) *rollup.Sums {
			if groups[k] == nil {
				groups[k] = rollup.NewSums()
			}
			return groups[k]
		}
		spans, starts := make([]int32, len(cover.Blocks)), make([]time.Time, len(cover.Blocks))
		for i, b := range cover.Blocks {
			spans[i], starts[i] = b.Hours, b.Start
		}
		hours, err := q.RollupsRead(ctx, db.RollupsReadParams{Dim: groupBy, Spans: spans, Starts: starts})
		if err != nil {
			return nil, err
		}
		for _, h := range hours {
			if err := sums(h.Key).AddRow(rollup.Row{Total: h.Total, Live: h.Live, Completed: h.Completed, Abandoned: h.Abandoned,
				Merged: h.Merged, Moved: h.Moved, HandleSumUs: h.HandleSumUs, HandleHist: h.HandleHist, Connected: h.Connected,
				ConnectSumUs: h.ConnectSumUs, ConnectHist: h.ConnectHist, Transfers: h.Transfers, Conferences: h.Conferences}); err != nil {
				return nil, fmt.Errorf("the rollups of %s by %s: %w", h.Key, groupBy, err)
			}
		}
		rest, err := q.RollupsComplete(ctx, db.RollupsCompleteParams{Dim: groupBy, LastPubSeq: st.LastPubSeq,
			CursorTxid: ds.CursorTxid, CursorID: ds.CursorID, CreatedFrom: from, CreatedTo: to,
			StartSign: cover.Start.Sign, StartFrom: cover.Start.From, StartTo: cover.Start.To,
			EndSign: cover.End.Sign, EndFrom: cover.End.From, EndTo: cover.End.To})
		if err != nil {
			return nil, err
		}
		for _, c := range rest {
			sign := int64(c.Sign)
			sums(c.Key).Add(rollup.Fact{Outcome: c.Outcome, N: sign * c.N, HandleBucket: rollup.Bucket(c.HandleBucket),
				HandleSumUs: sign * c.HandleSumUs, ConnectBucket: rollup.Bucket(c.ConnectBucket), Connected: sign * c.Connected,
				ConnectSumUs: sign * c.ConnectSumUs, Transfers: sign * c.Transfers, Conferences: sign * c.Conferences})
		}
		keys := make([]string, 0, len(groups))
		for k, s := range groups {
			if s.Total > 0 {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys) // the rows' order: the databases' collation is C.UTF-8, code point order
		out := make([]Aggregate, len(keys))
		for i, k := range keys {
			out[i] = aggregateOf(k, groups[k])
		}
		return out, nil
	})
}

func aggregateOf(group string, s *rollup.Sums) Aggregate {
	a := Aggregate{Group: group, Total: s.Total, Live: s.Live, Completed: s.Completed, Abandoned: s.Abandoned,
		Merged: s.Merged, Moved: s.Moved, AbandonedRate: float64(s.Abandoned) / float64(s.Total),
		Connected: s.Connected, Transfers: s.Transfers, Conferences: s.Conferences,
		TimeToConnectP50: s.Connect.Percentile(0.5)}
	handle := s.Handle.Percentiles(0.5, 0.9)
	a.HandleTimeP50, a.HandleTimeP90 = handle[0], handle[1]
	if n := s.Handle.Count(); n > 0 {
		a.HandleTimeAvg = float64(s.HandleSumUs) / float64(n) / 1e6
	}
	if s.Connected > 0 {
		a.TimeToConnectAvg = float64(s.ConnectSumUs) / float64(s.Connected) / 1e6
	}
	return a
}
