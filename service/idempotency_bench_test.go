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
	keys := 0 // new keys across the runs of -count
	states := []string{"held", "established"}
	change := func(ctx context.Context, st *service.Store, i int) error {
		_, err := st.ChangePartyState(ctx, tg, "i1", "p2", service.PartyStateChange{State: states[i%2]})
		return err
	}
	b.Run("plain", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := change(ctx, s, i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keyed", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			keys++
			key := service.IdempotencyKey{SessionID: "s1", Key: fmt.Sprintf("k-%d", keys), RequestHash: []byte{1}}
			_, _, err := s.Idempotent(ctx, key, func(ctx context.Context, st *service.Store) (service.Answer, error) {
				return service.Answer{Status: http.StatusOK, Body: []byte(`{"events":[]}`)}, change(ctx, st, i)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
