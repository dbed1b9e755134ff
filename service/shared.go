package service

import (
	"context"
	"sync"
	"time"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// Shared commits: party state changes that arrive while others are being written are applied
// together, in one statement and one commit (ixn_party_state_changes), each with its own
// outcome. A commit, with its WAL flush, is most of what a change costs PostgreSQL; sharing
// it lets changes pass the rate of one commit per change.
//
// There is no window to wait for: a change that finds a free slot is written at once, alone if
// it is alone (one client waits for nothing), and the changes that arrive while all slots are
// busy are taken together by the next slot to free, up to maxSharedCommit. Whoever takes a
// slot leads: it takes the waiting changes, and a goroutine of the batch's own writes them and
// hands every change its outcome, the leader's included. A leader that finds itself alone
// writes its change itself, in the change's own statement (ixn_party_state_change).
// Each change is answered only after the shared commit, so "answered" still means "durable".

// DefaultSharedCommits is serve's: two shared commits at once. One leaves the server idle
// while a batch's commit waits for its WAL flush; two keep it busy, and more split the
// waiting changes into smaller batches (docs/benchmarks.md, "Shared commits").
const DefaultSharedCommits = 2

// MaxSharedCommits bounds Config.SharedCommits: each shared commit holds a connection.
const MaxSharedCommits = 64

// maxSharedCommit is the most changes one statement applies. Each change runs in a
// subtransaction of its own, and a backend keeps track of up to 64 of them in shared memory;
// past that every snapshot taken on the server gets slower.
const maxSharedCommit = 32

// sharedCommitTimeout bounds a shared statement on its own: it does not end with the request
// of whoever leads it, which may give up while the others wait for their outcomes.
const sharedCommitTimeout = 30 * time.Second

type partyChange struct {
	params db.PartyStateChangeParams
	done   chan sharedOutcome // buffered: the leader never waits for a reader
	taken  bool               // guarded by sharedCommits.mu
}

type sharedOutcome struct {
	rows []db.Outbox
	err  error
}

type sharedCommits struct {
	q     *db.Queries
	slots chan struct{}

	mu      sync.Mutex
	pending []*partyChange
}

func newSharedCommits(q *db.Queries, slots int) *sharedCommits {
	return &sharedCommits{q: q, slots: make(chan struct{}, slots)}
}

// changePartyState applies one change, alone or with others, and returns its outcome.
func (sc *sharedCommits) changePartyState(ctx context.Context, p db.PartyStateChangeParams) ([]db.Outbox, error) {
	c := &partyChange{params: p, done: make(chan sharedOutcome, 1)}
	sc.mu.Lock()
	sc.pending = append(sc.pending, c)
	sc.mu.Unlock()
	for {
		// Compete for a slot only while the change waits to be taken; once a leader has it,
		// wait for its outcome.
		var slot chan struct{}
		if sc.waiting(c) {
			slot = sc.slots
		}
		select {
		case out := <-c.done:
			return out.rows, out.err
		case slot <- struct{}{}:
			// The batch is written apart from this request, which then waits for its own
			// outcome as every other change does: its deadline holds even while the
			// statement takes longer (a database that stops answering).
			switch batch := sc.take(); {
			case len(batch) == 1 && batch[0] == c:
				// Alone (one client, a quiet moment): written here, in the change's own
				// statement and with the request's own deadline, as with shared commits off.
				// The shared statement runs each change in a subtransaction and hands its rows
				// through a loop, and the batch's goroutine is a hand-over more: at one client
				// the two cost 0.4 ms a change (docs/benchmarks.md, "A change alone").
				rows, err := sc.q.PartyStateChange(ctx, p)
				<-sc.slots
				return rows, err
			case len(batch) > 0:
				go func() {
					sc.apply(ctx, batch)
					<-sc.slots
				}()
			default:
				<-sc.slots
			}
		case <-ctx.Done():
			if sc.withdraw(c) {
				return nil, ctx.Err() // never sent: nothing was written
			}
			select {
			case out := <-c.done:
				return out.rows, out.err
			default:
				return nil, fault.Errorf(fault.ErrOutcomeUnknown,
					"the request ended while its change was being written with others, so it may or may not have taken effect")
			}
		}
	}
}

func (sc *sharedCommits) waiting(c *partyChange) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return !c.taken
}

// take removes up to maxSharedCommit waiting changes, oldest first.
func (sc *sharedCommits) take() []*partyChange {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	n := min(len(sc.pending), maxSharedCommit)
	batch := sc.pending[:n:n]
	sc.pending = sc.pending[n:]
	for _, c := range batch {
		c.taken = true
	}
	return batch
}

// withdraw takes a change that its request gave up on out of the queue, if no leader has
// taken it yet.
func (sc *sharedCommits) withdraw(c *partyChange) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if c.taken {
		return false
	}
	for i, p := range sc.pending {
		if p == c {
			sc.pending = append(sc.pending[:i:i], sc.pending[i+1:]...)
			break
		}
	}
	c.taken = true
	return true
}

// apply writes a batch in one statement and hands each change its outcome. The statement
// runs apart from the leader's request: the others' changes must not fail because the leader
// went away.
func (sc *sharedCommits) apply(ctx context.Context, batch []*partyChange) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedCommitTimeout)
	defer cancel()
	args := db.PartyStateChangesParams{
		SessionIds: make([]string, len(batch)), Epochs: make([]int64, len(batch)),
		InteractionIds: make([]string, len(batch)), PartyIds: make([]string, len(batch)),
		States: make([]string, len(batch)), Hints: make([][]byte, len(batch)),
	}
	for i, c := range batch {
		p := c.params
		args.SessionIds[i], args.InteractionIds[i], args.PartyIds[i] = p.SessionID, p.InteractionID, p.PartyID
		args.States[i], args.Hints[i] = string(p.State), p.Hints
		if p.Epoch != nil {
			args.Epochs[i] = *p.Epoch // 0 is none: epochs start at 1
		}
	}
	rows, err := sc.q.PartyStateChanges(ctx, args)
	outcomes := make([]sharedOutcome, len(batch))
	if err != nil {
		err = database.Translate(err)
		for i := range outcomes {
			outcomes[i].err = err // the statement failed as a whole: nothing of it committed
		}
	} else {
		for _, r := range rows {
			o := &outcomes[r.Item-1]
			if r.ErrCode != "" {
				o.err = database.TranslateReported(r.ErrCode, r.ErrMessage, r.ErrConstraint)
				continue
			}
			o.rows = append(o.rows, outboxFromShared(r))
		}
	}
	for i, c := range batch {
		c.done <- outcomes[i]
	}
}

func outboxFromShared(r db.PartyStateChangesRow) db.Outbox {
	o := db.Outbox{ID: r.ID, SessionID: r.SessionID, Seq: r.Seq, Name: db.EventName(r.Name), Attrs: r.Attrs,
		Epoch: r.Epoch, Txid: r.Txid, CreatedAt: r.CreatedAt}
	if r.NodeID != "" {
		o.NodeID = &r.NodeID
	}
	return o
}
