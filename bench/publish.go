package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/service"
)

// Subscriber reads the event stream and notes when each event arrived.
type Subscriber struct {
	mu       sync.Mutex
	arrivals map[int64]time.Time // event id → arrival
	count    int
	err      error
}

// Subscribe connects to the stream of baseURL from pub_seq after on; it reads until ctx ends.
func Subscribe(ctx context.Context, baseURL string, after int64) (*Subscriber, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/events/stream?after=%d", baseURL, after), nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("stream: status %d", res.StatusCode)
	}
	s := &Subscriber{arrivals: map[int64]time.Time{}}
	go func() {
		defer res.Body.Close()
		r := bufio.NewReaderSize(res.Body, 1<<20)
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				s.mu.Lock()
				if ctx.Err() == nil {
					s.err = err
				}
				s.mu.Unlock()
				return
			}
			if !strings.HasPrefix(string(line[:min(len(line), 6)]), "data: ") {
				continue
			}
			now := time.Now()
			// Only the event id is needed here; finding it beats decoding every event, and
			// the subscriber's work is not what is measured.
			id, err := eventID(line)
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.mu.Lock()
			s.arrivals[id] = now
			s.count++
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// WaitFor waits until n events have arrived and returns when the last of them did.
func (s *Subscriber) WaitFor(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		count, err := s.count, s.err
		s.mu.Unlock()
		switch {
		case count >= n:
			return nil
		case err != nil:
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("%d of %d events after %s", count, n, timeout)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *Subscriber) arrival(id int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.arrivals[id]
	return t, ok
}

// Backlog writes events straight to the database, in transactions of 1000 (one commit for
// many: the point is a backlog, not the write path), over sessions of its own.
type Backlog struct {
	pool *pgxpool.Pool
	held []bool // per session: p1 is held now; nil until the sessions exist
}

const backlogSessions = 1000

func NewBacklog(pool *pgxpool.Pool) *Backlog { return &Backlog{pool: pool} }

// Write writes n more events.
func (b *Backlog) Write(ctx context.Context, n int) error {
	const perTx = 1000
	if b.held == nil {
		store := service.New(b.pool, service.Config{})
		for i := range backlogSessions {
			sid := "backlog-" + strconv.Itoa(i)
			owner := "backlog-node"
			if _, err := store.CreateSession(ctx, service.NewSession{SessionID: sid, OwnerNode: &owner}); err != nil {
				return err
			}
			if _, err := store.AddInteraction(ctx, service.Target{SessionID: sid}, service.NewInteraction{
				InteractionID: sid + "-i", Media: "voice", Type: "inbound",
				Parties: []service.NewParty{{PartyID: "p1", Resource: "r1", State: "established"}}}); err != nil {
				return err
			}
		}
		b.held = make([]bool, backlogSessions)
	}
	for written := 0; written < n; written += perTx {
		err := database.WithTx(ctx, b.pool, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) error {
			for k := 0; k < perTx && written+k < n; k++ {
				i := (written + k) % backlogSessions
				state := db.PartyStateHeld
				if b.held[i] {
					state = db.PartyStateEstablished
				}
				sid := "backlog-" + strconv.Itoa(i)
				if _, err := q.PartyStateChange(ctx, db.PartyStateChangeParams{SessionID: sid, InteractionID: sid + "-i",
					PartyID: "p1", State: state, Hints: []byte(`{}`)}); err != nil {
					return err
				}
				b.held[i] = !b.held[i]
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Paced writes state changes at a fixed rate for a while, through the service in this process
// rather than HTTP (what is measured is commit → subscriber, and the machine's cores are
// better left to the dispatcher and the stream), and returns for each event when its write
// committed.
func (l *Load) Paced(ctx context.Context, store *service.Store, rate int, duration time.Duration) (map[int64]time.Time, error) {
	const workers = 16
	acks := map[int64]time.Time{}
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := range jobs {
				// Worker w owns the sessions ≡ w+1 (mod workers): its changes never collide.
				s := 1 + w + workers*(n%max(1, l.sessions()/workers))
				next := "held"
				if l.held[s] {
					next = "established"
				}
				sid := sessionID(s)
				events, err := store.ChangePartyState(ctx, service.Target{SessionID: sid}, sid+"-i", "p1",
					service.PartyStateChange{State: next})
				at := time.Now()
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					l.held[s] = next == "held"
					for _, e := range events {
						acks[e.ID] = at
					}
				}
				mu.Unlock()
			}
		})
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; time.Since(start) < duration; i++ {
		jobs <- i / workers // the worker's n-th change
		if wait := time.Until(start.Add(time.Duration(i+1) * interval)); wait > 0 {
			time.Sleep(wait)
		}
	}
	close(jobs)
	wg.Wait()
	return acks, firstErr
}

// Latencies are the times from acknowledgement to arrival at the subscriber.
func Latencies(acks map[int64]time.Time, sub *Subscriber) (p50, p99 time.Duration, missing int) {
	var all []time.Duration
	for id, at := range acks {
		arrived, ok := sub.arrival(id)
		if !ok {
			missing++
			continue
		}
		all = append(all, max(0, arrived.Sub(at)))
	}
	if len(all) == 0 {
		return 0, 0, missing
	}
	slices.Sort(all)
	return all[len(all)/2], all[len(all)*99/100], missing
}

// eventID reads the "id" member of an event's data line.
func eventID(line []byte) (int64, error) {
	i := bytes.Index(line, []byte(`"id":`))
	if i < 0 {
		return 0, fmt.Errorf("no event id in %q", line)
	}
	rest := line[i+5:]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	return strconv.ParseInt(string(rest[:end]), 10, 64)
}
