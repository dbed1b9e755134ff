package rollup

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBlocksTileTheHours(t *testing.T) {
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name     string
		from, to int // hours from day
		want     []int32
	}{
		{"one hour", 5, 6, []int32{1}},
		{"a whole day", 0, 24, []int32{24}},
		{"the day a report of 24 hours at 10:37 reads", -13, 10, []int32{1, 4, 8, 8, 2}},
		{"from 01:00 to midnight", 1, 24, []int32{1, 2, 4, 8, 8}},
		{"two days and an hour", -1, 48, []int32{1, 24, 24}},
		{"an unaligned run of 8", 3, 11, []int32{1, 4, 2, 1}},
		{"nothing", 4, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Blocks(at(tt.from), at(tt.to))
			var spans []int32
			next := at(tt.from)
			for _, b := range got {
				spans = append(spans, b.Hours)
				if !b.Start.Equal(next) {
					t.Fatalf("block %v starts at %s, want %s (no gap, no overlap)", b, b.Start, next)
				}
				if b != BlockOf(b.Start, b.Hours) {
					t.Fatalf("block %v is not aligned", b)
				}
				next = b.Start.Add(time.Duration(b.Hours) * time.Hour)
			}
			if len(got) > 0 && !next.Equal(at(tt.to)) {
				t.Fatalf("the blocks end at %s, want %s", next, at(tt.to))
			}
			if len(spans) != len(tt.want) {
				t.Fatalf("spans %v, want %v", spans, tt.want)
			}
			for i := range spans {
				if spans[i] != tt.want[i] {
					t.Fatalf("spans %v, want %v", spans, tt.want)
				}
			}
		})
	}
}

// Every run of whole hours of up to 31 days, from any hour of a day, takes at most 10 blocks
// shorter than a day (up to 5 at each end: 1, 2, 4, 8 and 8 hours), and days for the rest.
func TestBlocksAreFew(t *testing.T) {
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for start := 0; start < 24; start++ {
		for n := 1; n <= 31*24; n++ {
			from := day.Add(time.Duration(start) * time.Hour)
			got := Blocks(from, from.Add(time.Duration(n)*time.Hour))
			short := 0
			for _, b := range got {
				if b.Hours < 24 {
					short++
				}
			}
			if short > 10 {
				t.Fatalf("%d hours from %02d:00: %d blocks shorter than a day (%v)", n, start, short, got)
			}
		}
	}
}

// Whatever the window and the time now, its cover counts every minute of the window once and
// no other minute: blocks and added edges count 1, edges taken away -1.
func TestCoverCountsTheWindowOnce(t *testing.T) {
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		from := day.Add(time.Duration(rng.IntN(3*24*60)) * time.Minute)
		to := from.Add(time.Hour + time.Duration(rng.IntN(3*24*60))*time.Minute)
		now := to.Add(time.Duration(rng.IntN(120)-60) * time.Minute)
		c, ok := CoverOf(from, to, now)
		firstHour := from.Truncate(time.Hour)
		if firstHour.Before(from) {
			firstHour = firstHour.Add(time.Hour)
		}
		if whole := !to.Before(firstHour.Add(time.Hour)); ok != whole {
			t.Fatalf("window [%s, %s): CoverOf says %v, holds a whole hour: %v", from, to, ok, whole)
		}
		if !ok {
			continue // read from the rows
		}
		count := func(at time.Time) int32 {
			var n int32
			for _, b := range c.Blocks {
				if !at.Before(b.Start) && at.Before(b.Start.Add(time.Duration(b.Hours)*time.Hour)) {
					n++
				}
			}
			for _, e := range []Edge{c.Start, c.End} {
				if !at.Before(e.From) && at.Before(e.To) {
					n += e.Sign
				}
			}
			return n
		}
		for at := from.Add(-2 * time.Hour); at.Before(to.Add(2 * time.Hour)); at = at.Add(time.Minute) {
			want := int32(0)
			if !at.Before(from) && at.Before(to) {
				want = 1
			}
			if got := count(at); got != want {
				t.Fatalf("window [%s, %s) at %s: %s counts %d times, want %d (%+v)", from, to, now, at, got, want, c)
			}
		}
	}
}

func TestCoverReadsTheLesserPart(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := at("2026-12-03T10:37:00Z")
	// A day to now: the start cut at 10:37 is 23 minutes read one by one; the current hour is
	// read whole (the rest of it is to come).
	c, _ := CoverOf(now.Add(-24*time.Hour), now, now)
	want := []Edge{{1, at("2026-12-02T10:37:00Z"), at("2026-12-02T11:00:00Z")}, {-1, now, at("2026-12-03T11:00:00Z")}}
	if c.Start != want[0] || c.End != want[1] {
		t.Fatalf("edges %+v %+v, want %+v", c.Start, c.End, want)
	}
	// A day to 10:10 a day back: 10 minutes at the end, and at the start the 10 minutes before
	// it taken away from the hour's row.
	end := at("2026-12-02T10:10:00Z")
	c, _ = CoverOf(end.Add(-24*time.Hour), end, now)
	want = []Edge{{-1, at("2026-12-01T10:00:00Z"), at("2026-12-01T10:10:00Z")}, {1, at("2026-12-02T10:00:00Z"), end}}
	if c.Start != want[0] || c.End != want[1] {
		t.Fatalf("edges %+v %+v, want %+v", c.Start, c.End, want)
	}
}

func TestBlocksRefuseHoursThatAreNotWhole(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Blocks tiled a run that does not start on the hour")
		}
	}()
	from := time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)
	Blocks(from, from.Add(2*time.Hour))
}
