package service_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/service/catalog"
)

func newStore(t *testing.T) (*service.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testdb.Pool(t)
	return service.New(pool, service.Config{}), pool
}

func ptr[T any](v T) *T { return &v }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ev is an expected event: its name and its attributes exactly.
type ev struct {
	name string
	data map[string]any
}

// checkEvents compares events with the expected ones, name by name and attribute by
// attribute, and checks each against the reference catalog: the attribute names must be
// exactly the catalog's (plus ixnstore's documented extras).
func checkEvents(t *testing.T, got []service.Event, want []ev) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events %v, want %d", len(got), names(got), len(want))
	}
	for i, g := range got {
		var data map[string]any
		if err := json.Unmarshal(g.Data, &data); err != nil {
			t.Fatalf("event %d: data is not an object: %s", i, g.Data)
		}
		if g.Name != want[i].name {
			t.Errorf("event %d: name %s, want %s", i, g.Name, want[i].name)
		}
		if !reflect.DeepEqual(data, want[i].data) {
			t.Errorf("event %d (%s): data\n got %v\nwant %v", i, g.Name, data, want[i].data)
		}
		checkCatalog(t, g.Name, data)
		if i > 0 && g.Seq != got[i-1].Seq+1 {
			t.Errorf("event %d: seq %d follows %d", i, g.Seq, got[i-1].Seq)
		}
	}
}

func checkCatalog(t *testing.T, name string, data map[string]any) {
	t.Helper()
	e, ok := catalog.Lookup(name)
	if !ok {
		t.Errorf("event %s is not in the reference catalog", name)
		return
	}
	want := append(slices.Clone(e.Attributes), catalog.Extra[name]...)
	var have []string
	for k := range data {
		have = append(have, k)
	}
	sort.Strings(want)
	sort.Strings(have)
	if !slices.Equal(have, want) {
		t.Errorf("event %s: attributes %v, the catalog has %v", name, have, want)
	}
}

func names(events []service.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Name
	}
	return out
}

func counts(t *testing.T, pool *pgxpool.Pool) db.StoreCountsRow {
	t.Helper()
	c, err := db.New(pool).StoreCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// allEvents reads the whole outbox of a session through the service.
func allEvents(t *testing.T, s *service.Store, sessionID string) []service.Event {
	t.Helper()
	var all []service.Event
	for {
		after := int64(0)
		if len(all) > 0 {
			after = all[len(all)-1].Seq
		}
		page, err := s.ListEvents(context.Background(), sessionID, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}
