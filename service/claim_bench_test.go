package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// BenchmarkClaimAnswer measures a claim of a session with 5 live interactions (2 parties and
// 3 user data keys each, Genesys properties on voice ones) and a 10 KB checkpoint with two
// timers: the time of the claim (one transaction: epoch + 1, interaction.restored for each,
// the state and the checkpoint read under the session's lock) and the size of its answer as
// JSON. Each iteration hands the session back to nobody first, outside the timer.
//
//	TEST_DATABASE_URL=... go test -run '^$' -bench ClaimAnswer -count 5 ./service/
func BenchmarkClaimAnswer(b *testing.B) {
	ctx := context.Background()
	pool := testdb.Pool(b)
	s := service.New(pool, service.Config{})
	for _, n := range []string{"n1", "n2"} {
		capacity := 10
		if _, err := s.RegisterNode(ctx, service.NodeRegistration{NodeID: n, Lease: "10m", Capacity: &capacity}); err != nil {
			b.Fatal(err)
		}
	}
	owner := "n1"
	if _, err := s.CreateSession(ctx, service.NewSession{SessionID: "big", OwnerNode: &owner}); err != nil {
		b.Fatal(err)
	}
	tg := service.Target{SessionID: "big"}
	for i := range 5 {
		media := "voice"
		var props *service.InteractionProperties
		if i%2 == 1 {
			media = "email"
		} else {
			ani, dnis := fmt.Sprintf("+1555000%d", i), "8000"
			props = &service.InteractionProperties{Voice: &service.VoiceProperties{ANI: &ani, DNIS: &dnis}}
		}
		in := service.NewInteraction{InteractionID: fmt.Sprintf("i%d", i), Media: media, Type: "inbound", Genesys: props,
			Parties: []service.NewParty{
				{PartyID: "c", Resource: fmt.Sprintf("+1555%04d", i), State: "established"},
				{PartyID: "a", Resource: fmt.Sprintf("70%02d", i), State: "established"}},
			UserData: map[string]json.RawMessage{"lang": json.RawMessage(`"en"`), "segment": json.RawMessage(`"gold"`),
				"account": json.RawMessage(fmt.Sprintf(`"%08d"`, i))}}
		if _, err := s.AddInteraction(ctx, tg, in); err != nil {
			b.Fatal(err)
		}
	}
	delay := int64(60_000)
	ck := service.NewCheckpoint{
		DataModel:     json.RawMessage(`{"counter":7,"notes":"` + strings.Repeat("n", 10_000) + `"}`),
		Configuration: []string{"main", "routing", "waiting"},
		Timers: []service.NewTimer{{SendID: "t1", Event: "timeout.routing", DelayMS: &delay},
			{SendID: "t2", Event: "timeout.queue", DelayMS: &delay}},
	}
	if _, err := s.WriteCheckpoint(ctx, tg, ck); err != nil {
		b.Fatal(err)
	}
	var size int
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if _, err := s.ReleaseSession(ctx, tg, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		took, err := s.ClaimSession(ctx, "big", []string{"n1", "n2"}[i%2])
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(took.Session.Interactions) != 5 || took.Checkpoint == nil || len(took.Events) != 5 {
			b.Fatalf("claim answered %d interactions, %d events, checkpoint %v", len(took.Session.Interactions), len(took.Events), took.Checkpoint != nil)
		}
		raw, err := json.Marshal(took)
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
		b.StartTimer()
	}
	b.ReportMetric(float64(size), "answer-bytes")
}
