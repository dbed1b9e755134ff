package auth

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/internal/database"
)

// maxOwnersCached bounds the owner cache; past it the cache starts over (one read per
// session again).
const maxOwnersCached = 200_000

// ownerCache remembers who owned each session at its latest known epoch. What it holds
// never goes stale: every change of owner raises the session's epoch, so "session s at epoch
// e is owned by n" stays true forever. A routing node's writes thus cost a read only for the
// first write of a session at each epoch.
type ownerCache struct {
	mu sync.RWMutex
	m  map[string]Holder
}

// Holder is a session's owner at a lease epoch; Node empty: no owner.
type Holder struct {
	Node  string
	Epoch int64
}

// HolderAt returns who held the session at epoch and true; false when the session's epoch is
// not that one now (the write will be fenced by the store) or the session does not exist.
func (v *Verifier) HolderAt(ctx context.Context, sessionID string, epoch int64) (string, bool, error) {
	v.owners.mu.RLock()
	h, ok := v.owners.m[sessionID]
	v.owners.mu.RUnlock()
	if ok && h.Epoch == epoch {
		return h.Node, true, nil
	}
	h, found, err := v.Holder(ctx, sessionID)
	if err != nil || !found || h.Epoch != epoch {
		return "", false, err
	}
	return h.Node, true, nil
}

// Holder reads the session's owner and epoch now; false when there is no such session.
func (v *Verifier) Holder(ctx context.Context, sessionID string) (Holder, bool, error) {
	row, err := v.q.TokenSessionOwner(ctx, sessionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, database.Translate(err)
	}
	h := Holder{Epoch: row.LeaseEpoch}
	if row.OwnerNode != nil {
		h.Node = *row.OwnerNode
	}
	v.owners.mu.Lock()
	if v.owners.m == nil || len(v.owners.m) >= maxOwnersCached {
		v.owners.m = map[string]Holder{}
	}
	if cur, ok := v.owners.m[sessionID]; !ok || cur.Epoch <= h.Epoch {
		v.owners.m[sessionID] = h
	}
	v.owners.mu.Unlock()
	return h, true, nil
}
