package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// notifyChannel carries the id of a token whose cached state every instance must drop.
const notifyChannel = "ixn_tokens"

// bootstrapLock is the advisory lock that lets one of several instances starting together
// make the bootstrap token ("ixnt" in ASCII).
const bootstrapLock = 0x69786e74

// Store keeps the tokens.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns the token store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// NewToken is a token to make.
type NewToken struct {
	Name string
	Role Role
	// NodeID binds a node token to its node; required for RoleNode, refused for the others.
	NodeID string
	// ExpiresAt: nil, never.
	ExpiresAt *time.Time
}

func (n *NewToken) validate() error {
	if n.Role == RoleNode && n.NodeID == "" {
		return fault.Errorf(fault.ErrInvalid, "a node token needs the node it acts as (--node)")
	}
	if n.Role != RoleNode && n.NodeID != "" {
		return fault.Errorf(fault.ErrInvalid, "only a node token is bound to a node; a %s token is not", n.Role)
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return fault.Errorf(fault.ErrInvalid, "%v", err)
	}
	if n.Name == "" {
		n.Name = string(n.Role)
		if n.NodeID != "" {
			n.Name += "-" + n.NodeID
		}
		n.Name += "-" + strconv.FormatInt(time.Now().Unix(), 36)
	}
	return nil
}

// Create makes a token and returns its secret, which is not kept: this is the only time
// anyone sees it.
func (s *Store) Create(ctx context.Context, n NewToken) (string, Token, error) {
	var secret string
	tok, err := database.WithTxValue(ctx, s.pool, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) (Token, error) {
		s, t, err := create(ctx, q, n, "")
		secret = s
		return t, err
	})
	return secret, tok, err
}

// create stores a token: secret when given (a token of the operator's, see Bootstrap), else
// a new one.
func create(ctx context.Context, q *db.Queries, n NewToken, secret string) (string, Token, error) {
	if err := n.validate(); err != nil {
		return "", Token{}, err
	}
	var hash []byte
	if secret != "" {
		hash = hashOf(secret)
	} else {
		var err error
		if secret, hash, err = newSecret(); err != nil {
			return "", Token{}, err
		}
	}
	var node *string
	if n.NodeID != "" {
		node = &n.NodeID
	}
	row, err := q.TokenInsert(ctx, db.TokenInsertParams{Name: n.Name, Role: string(n.Role), NodeID: node,
		SecretHash: hash, ExpiresAt: n.ExpiresAt})
	if err != nil {
		if errors.Is(database.Translate(err), fault.ErrConflict) {
			return "", Token{}, fault.Errorf(fault.ErrConflict, "a token named %q exists already", n.Name)
		}
		return "", Token{}, database.Translate(err)
	}
	return secret, tokenOf(row), nil
}

// List returns every token, revoked and expired ones too, oldest first.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	rows, err := db.New(s.pool).TokenList(ctx)
	if err != nil {
		return nil, database.Translate(err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = tokenOf(r)
	}
	return out, nil
}

// Revoke ends the token with that id or name and tells every instance to forget it.
// Revoking a revoked token again is no error; an unknown one is ErrNotFound.
func (s *Store) Revoke(ctx context.Context, ref string) ([]Token, error) {
	return database.WithTxValue(ctx, s.pool, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) ([]Token, error) {
		rows, err := q.TokenRevoke(ctx, ref)
		if err != nil {
			return nil, database.Translate(err)
		}
		if len(rows) == 0 {
			return nil, fault.Errorf(fault.ErrNotFound, "no token with id or name %q", ref)
		}
		out := make([]Token, len(rows))
		for i, r := range rows {
			out[i] = tokenOf(r)
			// Sent at commit, so no instance reads the token before the revocation is visible.
			if err := q.TokenNotify(ctx, strconv.FormatInt(r.ID, 10)); err != nil {
				return nil, database.Translate(err)
			}
		}
		return out, nil
	})
}

// Bootstrap makes an admin token when there is no token at all, and hands its secret to keep
// before the token is committed: a token whose secret could not be kept is never made. given,
// when not empty, is the secret to use (an operator's, from a secret store); it must look
// like a token (IsToken). It returns whether it made one.
func (s *Store) Bootstrap(ctx context.Context, name, given string, keep func(secret string) error) (bool, error) {
	if given != "" && !IsToken(given) {
		return false, fmt.Errorf("the bootstrap token given is not an ixnstore token (%s followed by %d characters of base64url)",
			Prefix, len(given)-len(Prefix))
	}
	return database.WithTxValue(ctx, s.pool, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) (bool, error) {
		// Instances starting together take turns; the second finds the first one's token.
		if err := q.TokenLockBootstrap(ctx, bootstrapLock); err != nil {
			return false, database.Translate(err)
		}
		n, err := q.TokenCount(ctx)
		if err != nil {
			return false, database.Translate(err)
		}
		if n > 0 {
			return false, nil
		}
		secret, _, err := create(ctx, q, NewToken{Name: name, Role: RoleAdmin}, given)
		if err != nil {
			return false, err
		}
		if err := keep(secret); err != nil {
			return false, fmt.Errorf("keeping the bootstrap admin token: %w", err)
		}
		return true, nil
	})
}

func tokenOf(r db.ApiToken) Token {
	t := Token{ID: r.ID, Name: r.Name, Role: Role(r.Role), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt}
	if r.NodeID != nil {
		t.NodeID = *r.NodeID
	}
	return t
}
