package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ixnstore/ixnstore/internal/auth"
	"github.com/ixnstore/ixnstore/migrations"
)

const tokenUsage = `Usage: ixnstore token create|list|revoke [flags]

Manages the bearer tokens that let clients call the API (Authorization: Bearer <token>).
Each token has a role:
  node       a routing node: registers, heartbeats and leaves as its own node (--node), writes
             only the sessions it owns, with X-Lease-Epoch, and reads them and its node's stream
  adapter    the media side: reports platform events, reads the requests feed, answers requests
  reporting  read-only: reports, sessions, event streams
  admin      everything

  ixnstore token create --role node --node n1 [--name NAME] [--expires 720h]
      makes a token and prints it once: only its hash is kept
  ixnstore token list [--json]
      lists the tokens (never their secrets) with their state
  ixnstore token revoke ID|NAME
      revokes a token; every instance refuses it within seconds

The first 'ixnstore serve' on a database without tokens makes an admin token and writes it to
--admin-token-file. Run 'ixnstore token <action> --help' for the flags.
`

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runAction("token", tokenUsage, args, stderr,
		action{"create", func(args []string) error { return tokenCreate(ctx, args, stdout, stderr) }},
		action{"list", func(args []string) error { return tokenList(ctx, args, stdout, stderr) }},
		action{"revoke", func(args []string) error { return tokenRevoke(ctx, args, stdout, stderr) }},
	)
}

// tokenFlags are what every token action needs: the database and the log.
type tokenFlags struct {
	*Flags
	db                  DatabaseFlags
	logLevel, logFormat string
}

func newTokenFlags(usage, synopsis string, stderr io.Writer) *tokenFlags {
	f := &tokenFlags{Flags: NewFlags(usage, synopsis, stderr), db: DatabaseFlags{borrow: true}}
	f.db.Register(f.Flags)
	f.EnvString(&f.logLevel, "log-level", "IXNSTORE_LOG_LEVEL", "warn", "debug, info, warn or error")
	f.EnvString(&f.logFormat, "log-format", "IXNSTORE_LOG_FORMAT", "text", "text or json")
	return f
}

// store opens the database, brings its schema up to date (the tokens table may be newer than
// the last serve) and returns the token store and what closes it.
func (f *tokenFlags) store(ctx context.Context, stderr io.Writer) (*auth.Store, func(), error) {
	logger, err := NewLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return nil, nil, err
	}
	pool, closeDB, err := f.db.Open(ctx, logger)
	if err != nil {
		return nil, nil, err
	}
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		closeDB()
		return nil, nil, err
	}
	return auth.NewStore(pool), closeDB, nil
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newTokenFlags("ixnstore token create --role ROLE [--node NODE] [--name NAME] [--expires DURATION] [flags]",
		"Makes a token and prints it once, on its own line: only its hash is kept, so keep it now.", stderr)
	var (
		role, node, name string
		expires          time.Duration
	)
	f.StringVar(&role, "role", "", "node, adapter, reporting or admin (required)")
	f.StringVar(&node, "node", "", "the routing node a node token acts as (required with --role node)")
	f.StringVar(&name, "name", "", "a name to list and revoke it by (default: role, node and a stamp)")
	f.DurationVar(&expires, "expires", 0, "how long the token is good for, e.g. 720h (default: until revoked)")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		f.Usage()
		return ErrUsage
	}
	r, err := auth.ParseRole(role)
	if err != nil {
		return fmt.Errorf("--role: %w", err)
	}
	if expires < 0 {
		return fmt.Errorf("--expires must be more than 0")
	}
	n := auth.NewToken{Name: name, Role: r, NodeID: node}
	if expires > 0 {
		at := time.Now().Add(expires)
		n.ExpiresAt = &at
	}
	store, closeDB, err := f.store(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	secret, tok, err := store.Create(ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "made token %d %q (role %s%s); it is shown this once:\n", tok.ID, tok.Name, tok.Role, nodeNote(tok))
	fmt.Fprintln(stdout, secret)
	return nil
}

func nodeNote(t auth.Token) string {
	if t.NodeID == "" {
		return ""
	}
	return ", node " + t.NodeID
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newTokenFlags("ixnstore token list [--json] [flags]", "Lists the tokens with their role, node and state; never their secrets.", stderr)
	var asJSON bool
	f.BoolVar(&asJSON, "json", false, "one JSON array instead of a table")
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	store, closeDB, err := f.store(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	tokens, err := store.List(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(tokens)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tROLE\tNODE\tSTATE\tCREATED\tEXPIRES")
	now := time.Now()
	for _, t := range tokens {
		expires := "never"
		if t.ExpiresAt != nil {
			expires = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		node := t.NodeID
		if node == "" {
			node = "-"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, node, t.State(now),
			t.CreatedAt.UTC().Format(time.RFC3339), expires)
	}
	return w.Flush()
}

func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newTokenFlags("ixnstore token revoke [flags] ID|NAME",
		"Revokes a token: every instance refuses it within seconds (at once where its listener is connected).", stderr)
	// The token may come before or after the flags.
	var ref string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		ref, args = args[0], args[1:]
	}
	if err := f.ParseArgs(args); err != nil {
		return err
	}
	if ref == "" && f.NArg() == 1 {
		ref = f.Arg(0)
	} else if f.NArg() != 0 || ref == "" {
		f.Usage()
		return ErrUsage
	}
	store, closeDB, err := f.store(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	revoked, err := store.Revoke(ctx, ref)
	if err != nil {
		return err
	}
	for _, t := range revoked {
		fmt.Fprintf(stdout, "revoked token %d %q (role %s%s)\n", t.ID, t.Name, t.Role, nodeNote(t))
	}
	return nil
}

// writeSecretFile keeps the bootstrap token where only this user can read it. An existing
// file (from a database that was reset) is replaced.
func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an older tmp file kept its mode
		return err
	}
	return os.Rename(tmp, path)
}

// readSecretFile returns the token kept in path; "" when there is no such file.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
