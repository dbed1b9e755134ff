package service_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// BenchmarkIdempotentWrite measures one party state change (established and held in turn)
// as a plain write (one statement) and under an Idempotency-Key, each with a new key (an
// explicit transaction: the key, the write, its answer). The ratio of the two is what a
// client pays for sending the header.
//
//	TEST_DATABASE_URL=... go test -run '^$' -bench IdempotentWrite -count 5 ./service/
func BenchmarkIdempotentWrite(b *testing.B) {
	ctx := context.Background()
	s := service.New(testdb.Pool(b), service.Config{})
	tg := service.Target{SessionID: "s1"}
	if _, err := s.CreateSession(ctx, service.NewSession{SessionID: "s1"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{{PartyID: "p2", Resource: "7001", State: "established"}}}); err != nil {
		b.Fatal(err)
	}
	// Across the calls of each sub-benchmark: the party's next state, and a new key each time.
	changes, keys := 0, 0
	states := []string{"established", "held"} // the first change is to held
	change := func(ctx context.Context, st *service.Store) error {
		changes++
		_, err := st.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: states[changes%2]})
		return err
	}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			if err := change(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keyed", func(b *testing.B) {
		for b.Loop() {
			keys++
			key := service.IdempotencyKey{SessionID: "s1", Key: fmt.Sprintf("k-%d", keys), RequestHash: []byte{1}}
			_, _, err := s.Idempotent(ctx, key, func(ctx context.Context, st *service.Store) (service.Answer, error) {
				return service.Answer{Status: http.StatusOK, Body: []byte(`{"events":[]}`)}, change(ctx, st)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
