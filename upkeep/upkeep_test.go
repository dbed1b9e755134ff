package upkeep_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ixnstore/ixnstore/upkeep"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	work := func(context.Context, int) (int, error) { return 0, nil }
	for _, tc := range []struct {
		name string
		cfg  upkeep.Config
	}{
		{"no name", upkeep.Config{Interval: time.Second, Batch: 1, Work: work}},
		{"no interval", upkeep.Config{Name: "x", Batch: 1, Work: work}},
		{"negative interval", upkeep.Config{Name: "x", Interval: -time.Second, Batch: 1, Work: work}},
		{"no batch", upkeep.Config{Name: "x", Interval: time.Second, Work: work}},
		{"no work", upkeep.Config{Name: "x", Interval: time.Second, Batch: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := upkeep.New(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// A pass calls the work until a call comes back short, and says what all of them did.
func TestPassDoesAllThatIsDue(t *testing.T) {
	for _, tc := range []struct {
		name      string
		due       int
		wantCalls int
	}{
		{"nothing due", 0, 1},
		{"less than a batch", 3, 1},
		{"exactly a batch", 10, 2},
		{"two and a half batches", 25, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, calls := tc.due, 0
			var passes []upkeep.Pass
			loop, err := upkeep.New(upkeep.Config{Name: "test", Interval: time.Hour, Batch: 10,
				Work: func(_ context.Context, limit int) (int, error) {
					calls++
					n := min(due, limit)
					due -= n
					return n, nil
				},
				Passed: func(p upkeep.Pass) { passes = append(passes, p) },
			})
			if err != nil {
				t.Fatal(err)
			}
			n, err := loop.Pass(context.Background())
			if err != nil || n != tc.due || calls != tc.wantCalls || due != 0 {
				t.Fatalf("did %d (err %v) in %d calls, %d left; want %d in %d calls", n, err, calls, due, tc.due, tc.wantCalls)
			}
			if len(passes) != 1 || passes[0].Count != tc.due {
				t.Fatalf("passes signalled: %+v", passes)
			}
		})
	}
}

// A failing call ends the pass with what was done before it; Run goes on at the next tick.
func TestRunGoesOnAfterAFailure(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	calls := 0
	passes := make(chan upkeep.Pass, 16)
	loop, err := upkeep.New(upkeep.Config{Name: "test", Interval: time.Millisecond, Batch: 5,
		Work: func(context.Context, int) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return 0, boom
			}
			return 2, nil
		},
		Passed: func(p upkeep.Pass) {
			select {
			case passes <- p:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { loop.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	if p := <-passes; !errors.Is(p.Err, boom) || p.Count != 0 {
		t.Fatalf("first pass: %+v, want the failure", p)
	}
	if p := <-passes; p.Err != nil || p.Count != 2 {
		t.Fatalf("second pass: %+v, want 2 done", p)
	}
}
