package catalog_test

import (
	"os"
	"slices"
	"testing"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/service/catalog"
)

func TestCatalogHasTheReferenceEvents(t *testing.T) {
	all := catalog.All()
	if len(all) != 30 {
		t.Fatalf("%d events, the reference has 30", len(all))
	}
	results := 0
	for _, e := range all {
		if e.Kind == catalog.KindResult {
			results++
		}
		if len(e.Attributes) == 0 || slices.Contains(e.Attributes, "") {
			t.Errorf("%s: attributes %q", e.Name, e.Attributes)
		}
	}
	if results != 16 {
		t.Errorf("%d result events, want 16 (a .done and an error for each of 8 actions)", results)
	}
}

// The database's event_name enum is what the outbox accepts: it must be the catalog exactly.
func TestSchemaEnumIsTheCatalog(t *testing.T) {
	var names []string
	for _, e := range catalog.All() {
		names = append(names, e.Name)
	}
	var enum []string
	for _, v := range db.AllEventNameValues() {
		enum = append(enum, string(v))
	}
	if !slices.Equal(enum, names) {
		t.Errorf("event_name enum %v\ncatalog %v", enum, names)
	}
}

// The project's copy of the catalog must not drift from the shared one, where it is at hand.
func TestCopyMatchesShared(t *testing.T) {
	shared, err := os.ReadFile("../../../shared/events.tsv")
	if err != nil {
		t.Skipf("no shared/events.tsv beside the project: %v", err)
	}
	own, err := os.ReadFile("events.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if string(own) != string(shared) {
		t.Error("service/catalog/events.tsv differs from shared/events.tsv")
	}
}
