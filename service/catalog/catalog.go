// Package catalog is the list of interaction events of the Genesys 8.1 SCXML reference and
// their attributes, read from the project's copy of the reference's table (events.tsv).
package catalog

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed events.tsv
var eventsTSV string

// Kind tells whether an event answers an action request or reports a change of state.
type Kind string

const (
	KindResult Kind = "result"
	KindAsync  Kind = "async"
)

type Event struct {
	Name       string
	Kind       Kind
	Attributes []string
}

// Extra attributes that ixnstore adds to an event beyond the 8.1 reference, and why.
var Extra = map[string][]string{
	// ORS 8.1.400.17 and later: why the session lost control (deletion or detach).
	"interaction.notcontrolled": {"resultof"},
}

var events, byName = mustParse(eventsTSV)

// All returns the events in the reference's order.
func All() []Event { return append([]Event(nil), events...) }

// Lookup returns the event of that name.
func Lookup(name string) (Event, bool) {
	e, ok := byName[name]
	return e, ok
}

func mustParse(tsv string) ([]Event, map[string]Event) {
	var list []Event
	index := map[string]Event{}
	header := true
	for n, line := range strings.Split(tsv, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			panic(fmt.Sprintf("catalog: events.tsv line %d: want 3 columns, have %d", n+1, len(cols)))
		}
		e := Event{Name: cols[0], Kind: Kind(cols[1]), Attributes: strings.Split(cols[2], ",")}
		if e.Kind != KindResult && e.Kind != KindAsync {
			panic(fmt.Sprintf("catalog: events.tsv line %d: unknown kind %q", n+1, e.Kind))
		}
		if _, dup := index[e.Name]; dup {
			panic(fmt.Sprintf("catalog: events.tsv line %d: %s listed twice", n+1, e.Name))
		}
		list = append(list, e)
		index[e.Name] = e
	}
	return list, index
}
