package rollup

import (
	"fmt"
	"time"
)

// spans are the lengths, in hours, of the rows the rollups keep of each group: the hour, and
// blocks of hours that start on a multiple of their length from UTC midnight (as date_bin
// from 2000-01-01 UTC places them in SQL). Each length divides the next, so the blocks nest and
// any run of whole hours is tiled by a few of them (Blocks): a day by resource reads about 5
// rows of each agent instead of 23. Longest first.
var spans = []int32{24, 8, 4, 2, 1}

// Block is one row's length (hours) and start.
type Block struct {
	Hours int32
	Start time.Time
}

// BlockOf is the block of the given length that holds an hour.
func BlockOf(hour time.Time, hours int32) Block {
	// Truncate counts from the zero time, midnight UTC: the blocks of the SQL's date_bin.
	return Block{Hours: hours, Start: hour.UTC().Truncate(time.Duration(hours) * time.Hour)}
}

// Blocks tiles the whole hours [from, to) (both on the hour) with the fewest blocks: from each
// start, the longest block that starts there and ends by to.
func Blocks(from, to time.Time) []Block {
	var out []Block
	for t := from.UTC(); t.Before(to); {
		next := t
		for _, h := range spans {
			d := time.Duration(h) * time.Hour
			if b := BlockOf(t, h); b.Start.Equal(t) && !t.Add(d).After(to) {
				out = append(out, b)
				next = t.Add(d)
				break
			}
		}
		if next.Equal(t) { // a caller's mistake; tiling on would never end
			panic(fmt.Sprintf("rollup.Blocks from %s to %s: not whole hours", from, to))
		}
		t = next
	}
	return out
}

// Edge is a range of creation times [From, To) whose interactions a report adds (Sign 1) or
// takes away (Sign -1) from what the rollups hold of them one by one (report_rollup_counted).
// The zero Edge is empty.
type Edge struct {
	Sign     int32
	From, To time.Time
}

// Cover is how a report reads a window from the rollups: the rows of the blocks, and the
// edges at the window's start and end, so that each interaction created in the window counts
// once and every other none.
type Cover struct {
	Blocks     []Block
	Start, End Edge
}

// CoverOf covers the window [from, to) as of now, or says false when the window holds no whole
// hour (the report reads such a window from the rows). Its whole hours are tiled by Blocks. A part of an hour that the window cuts is read one interaction at a
// time, or, where that is less, the hour's row is read whole and the rest of the hour taken
// away: a day to now reads the current hour's row (its rest is still to come) and at most
// half an hour at its start.
func CoverOf(from, to, now time.Time) (Cover, bool) {
	hourFrom, hourTo := from.Truncate(time.Hour), to.Truncate(time.Hour)
	if hourFrom.Before(from) {
		hourFrom = hourFrom.Add(time.Hour)
	}
	if !hourFrom.Before(hourTo) {
		return Cover{}, false
	}
	c := Cover{Blocks: Blocks(hourFrom, hourTo)}
	// What an edge costs: the interactions of its time, none of which is in the future.
	cost := func(a, b time.Time) time.Duration {
		if b.After(now) {
			b = now
		}
		return max(b.Sub(a), 0)
	}
	if from.Before(hourFrom) {
		start := hourFrom.Add(-time.Hour)
		if cost(start, from) < cost(from, hourFrom) {
			c.Blocks = append(c.Blocks, BlockOf(start, 1))
			c.Start = Edge{-1, start, from}
		} else {
			c.Start = Edge{1, from, hourFrom}
		}
	}
	if hourTo.Before(to) {
		end := hourTo.Add(time.Hour)
		if cost(to, end) < cost(hourTo, to) {
			c.Blocks = append(c.Blocks, BlockOf(hourTo, 1))
			c.End = Edge{-1, to, end}
		} else {
			c.End = Edge{1, hourTo, to}
		}
	}
	return c, true
}
