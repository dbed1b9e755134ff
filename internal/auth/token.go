// Package auth is who may call ixnstore: bearer tokens with a role (and, for a routing node,
// the node they are bound to), stored as SHA-256 hashes in PostgreSQL; a verifier that keeps
// what it read in memory, so a request costs no database round trip, and forgets a revoked
// token on every instance through LISTEN/NOTIFY; and the per-token limits. Which role may do
// what is the HTTP layer's table (api/access.go): this package knows tokens, not routes.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Role is what a token may do.
type Role string

const (
	// RoleNode is a routing node: acts as its own node, on the sessions it owns, fenced.
	RoleNode Role = "node"
	// RoleAdapter is the media side: reports platform events and answers action requests.
	RoleAdapter Role = "adapter"
	// RoleReporting reads: reports, sessions, event streams.
	RoleReporting Role = "reporting"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

// Roles are the roles in the order they are documented.
var Roles = []Role{RoleNode, RoleAdapter, RoleReporting, RoleAdmin}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role must be node, adapter, reporting or admin, not %q", s)
}

// Prefix starts every token, so that one found in a log or a repository is recognised (and
// secret scanners can be taught it).
const Prefix = "ixn_"

// secretBytes of randomness: 256 bits, more than anyone can guess.
const secretBytes = 32

// newSecret returns a new token and the hash that is stored of it.
func newSecret() (string, []byte, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("reading random bytes: %w", err)
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashOf(secret), nil
}

// hashOf is what is stored of a token. A plain SHA-256 is enough: the token is 256 random
// bits, not a password, so there is nothing for a slow hash to protect.
func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// IsToken tells a token of ours from anything else without a database read.
func IsToken(s string) bool {
	return strings.HasPrefix(s, Prefix) && len(s) == len(Prefix)+base64.RawURLEncoding.EncodedLen(secretBytes)
}

// Token is what is known of a token besides its secret.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	NodeID    string     `json:"node_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Principal is who a request comes from: the token it carried.
type Principal struct {
	TokenID int64
	Name    string
	Role    Role
	// NodeID is the node a node token acts as; empty for other roles.
	NodeID string
}

// State says whether the token lets anyone in at now, and why not.
func (t Token) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	default:
		return "active"
	}
}

func (t Token) principal() Principal {
	return Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, NodeID: t.NodeID}
}
