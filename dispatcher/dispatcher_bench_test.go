package dispatcher_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// BenchmarkSmallBatches publishes a backlog in batches of 8 events, the size the dispatcher
// takes under writers at 16 clients (a batch every --dispatch-gap): what a batch costs beyond
// its events, per event. Run with -benchtime=4000x or more: the backlog is written before the
// timer starts.
//
//	go test -run '^$' -bench SmallBatches -benchtime 8000x -count 5 ./dispatcher
func BenchmarkSmallBatches(b *testing.B) {
	pool := testdb.Pool(b)
	s := service.New(pool, service.Config{})
	const sessions = 64
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%d", i)
		session(b, s, ids[i])
	}
	ctx := context.Background()
	q := db.New(pool)
	// The backlog: rounds of one change on every session, held and established in turn,
	// written 32 to a statement.
	written := int64(sessions) // each session's interaction.added
	for round := 0; written < int64(b.N)+sessions; round++ {
		state := "held"
		if round%2 == 1 {
			state = "established"
		}
		for from := 0; from < sessions; from += 32 {
			p := db.PartyStateChangesParams{}
			for _, id := range ids[from : from+32] {
				p.SessionIds = append(p.SessionIds, id)
				p.Epochs = append(p.Epochs, 0)
				p.InteractionIds = append(p.InteractionIds, id+"-i")
				p.PartyIds = append(p.PartyIds, "p1")
				p.States = append(p.States, state)
				p.Hints = append(p.Hints, []byte(`{}`))
			}
			rows, err := q.PartyStateChanges(ctx, p)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range rows {
				if r.ErrCode != "" {
					b.Fatalf("%s: %s", r.ErrCode, r.ErrMessage)
				}
			}
			written += int64(len(rows))
		}
	}
	done := make(chan struct{})
	var once sync.Once
	d := dispatcher.New(dispatcher.Config{
		ConnString: pool.Config().ConnString(), Instance: "bench", BatchSize: 8, Logger: quiet,
		PollInterval: 20 * time.Millisecond, LockRetry: 50 * time.Millisecond,
		Published: func(last int64) {
			if last >= written {
				once.Do(func() { close(done) })
			}
		},
	})
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	b.ResetTimer()
	wg.Go(func() { d.Run(runCtx) })
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("the backlog was not published within 5 minutes")
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(written), "ns/event")
}
