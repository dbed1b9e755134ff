package day

import (
	"errors"
	"sort"
	"sync"

	"github.com/ixnstore/ixnstore/client"
)

// ledger holds the Record of every session of the day.
type ledger struct {
	mu      sync.Mutex
	records map[string]*Record
}

func (l *ledger) record(sid string, f func(*Record)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.records[sid]
	if r == nil {
		r = newRecord(sid)
		l.records[sid] = r
	}
	f(r)
}

// confirm records the events of a write answered 2xx.
func (l *ledger) confirm(sid, actor string, events []client.Event) {
	l.record(sid, func(r *Record) {
		for _, ev := range events {
			r.Confirmed = append(r.Confirmed, Confirmed{Actor: actor, Event: ev})
		}
	})
}

// unsure marks a session one of whose writes got no answer.
func (l *ledger) unsure(sid string, err error) {
	if errors.Is(err, client.ErrOutcomeUnknown) {
		l.record(sid, func(r *Record) { r.Unsure = true })
	}
}

func (l *ledger) sessions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.records))
	for id := range l.records {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
