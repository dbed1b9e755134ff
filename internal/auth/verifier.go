package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// DefaultCacheTTL is how long a token's state read from the database is trusted without a
// notification. Revocations arrive by NOTIFY at once; the TTL bounds how late one is seen
// when the listener has lost its connection (the issue asks for 5 s at most).
const DefaultCacheTTL = 2 * time.Second

// maxCached bounds the cache: unknown tokens are cached too (so a client sending garbage
// costs no read each time), and garbage is unbounded. Past it the cache starts over.
const maxCached = 100_000

// VerifierConfig sets up a Verifier.
type VerifierConfig struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// CacheTTL: DefaultCacheTTL when 0.
	CacheTTL time.Duration
	// Listening and Forgot are test signals: the listener is listening (again), and it
	// dropped the token with that id after a notification.
	Listening func()
	Forgot    func(tokenID int64)
}

// Verifier answers who a token is.
type Verifier struct {
	cfg VerifierConfig
	q   *db.Queries

	mu    sync.RWMutex
	cache map[[sha256.Size]byte]cached

	owners ownerCache
}

// cached is a token's state as read at read; tok nil: no such token.
type cached struct {
	tok  *Token
	read time.Time
}

// NewVerifier returns a verifier; Run keeps its cache in step with revocations.
func NewVerifier(cfg VerifierConfig) *Verifier {
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Verifier{cfg: cfg, q: db.New(cfg.Pool), cache: map[[sha256.Size]byte]cached{}}
}

// Verify returns the principal of a bearer token, or fault.ErrUnauthenticated saying why not.
// A token seen within the cache TTL costs no database read.
func (v *Verifier) Verify(ctx context.Context, secret string) (Principal, error) {
	if secret == "" {
		return Principal{}, fault.Errorf(fault.ErrUnauthenticated, "this needs a token, sent as Authorization: Bearer followed by the token")
	}
	if !IsToken(secret) {
		return Principal{}, fault.Errorf(fault.ErrUnauthenticated, "the token is not an ixnstore token")
	}
	key := sha256.Sum256([]byte(secret))
	now := time.Now()
	v.mu.RLock()
	c, ok := v.cache[key]
	v.mu.RUnlock()
	if !ok || now.Sub(c.read) >= v.cfg.CacheTTL {
		var err error
		if c, err = v.read(ctx, key); err != nil {
			return Principal{}, err
		}
	}
	if c.tok == nil {
		return Principal{}, fault.Errorf(fault.ErrUnauthenticated, "the token is not known")
	}
	if state := c.tok.State(now); state != "active" {
		return Principal{}, fault.Errorf(fault.ErrUnauthenticated, "the token is %s", state)
	}
	return c.tok.principal(), nil
}

func (v *Verifier) read(ctx context.Context, key [sha256.Size]byte) (cached, error) {
	c := cached{read: time.Now()}
	row, err := v.q.TokenGetByHash(ctx, key[:])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return cached{}, database.Translate(err)
	default:
		t := tokenOf(row)
		c.tok = &t
	}
	v.mu.Lock()
	if len(v.cache) >= maxCached {
		v.cache = map[[sha256.Size]byte]cached{}
	}
	v.cache[key] = c
	v.mu.Unlock()
	return c, nil
}

// forget drops what is cached of a token (by id: a notification does not carry the hash).
func (v *Verifier) forget(id int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, c := range v.cache {
		if c.tok != nil && c.tok.ID == id {
			delete(v.cache, k)
		}
	}
}

func (v *Verifier) forgetAll() {
	v.mu.Lock()
	v.cache = map[[sha256.Size]byte]cached{}
	v.mu.Unlock()
}

// Run listens for revocations until ctx ends, on a connection of its own, reconnecting
// after a failure. Each (re)connection empties the cache: a revocation may have been missed.
func (v *Verifier) Run(ctx context.Context) {
	connString := v.cfg.Pool.Config().ConnString()
	for ctx.Err() == nil {
		err := v.listen(ctx, connString)
		if ctx.Err() != nil {
			return
		}
		v.cfg.Logger.Warn("token revocation listener lost its connection; revocations are seen within the cache TTL",
			"err", err, "ttl", v.cfg.CacheTTL)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (v *Verifier) listen(ctx context.Context, connString string) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	v.forgetAll()
	if v.cfg.Listening != nil {
		v.cfg.Listening()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			v.forgetAll()
			continue
		}
		v.forget(id)
		if v.cfg.Forgot != nil {
			v.cfg.Forgot(id)
		}
	}
}
