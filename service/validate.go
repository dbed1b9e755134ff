package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ixnstore/ixnstore/internal/fault"
)

// The values the API accepts. The same limits stand as CHECK constraints in the schema; these
// checks give the caller every problem at once, in words, before anything is sent.
var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9._:@-]+$`)
	mediaPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

	InteractionTypes = []string{"inbound", "outbound", "internal", "consult", "callback"}
	// The states a party may be put in (docs/reference-choices.md: routing, queued,
	// treatment and dialing are T-Library's states of a call not yet at an agent).
	PartyStates = []string{"alerting", "established", "held", "released", "routing", "queued", "treatment", "dialing"}
	// The states a party may join an interaction in: a released party leaves its interaction,
	// so none joins released.
	JoiningPartyStates = slices.DeleteFunc(slices.Clone(PartyStates), func(s string) bool { return s == "released" })
	PartyRoles         = []string{"customer", "agent", "supervisor", "device", "external", "unknown"}
	ResultOfValues     = []string{"deletion", "detach"}
	// What a merge completes, in the hints of its report: a transfer removes the transferring
	// party from the primary interaction, a conference (the default) keeps everyone.
	MergeTypes = []string{"transfer", "conference"}
	Origins    = []string{OriginMedia, OriginSession}
)

const (
	maxIDLen      = 128
	maxMediaLen   = 32
	maxTextLen    = 256
	maxUserDataKV = 1000
)

// checker collects the problems of one input.
type checker struct{ problems []string }

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) id(field, v string) {
	if len(v) > maxIDLen || !idPattern.MatchString(v) {
		c.addf("%s must be 1 to 128 characters of letters, digits and . _ : @ -", field)
	}
}

func (c *checker) optionalID(field string, v *string) {
	if v != nil {
		c.id(field, *v)
	}
}

func (c *checker) text(field, v string, required bool) {
	switch n := utf8.RuneCountInString(v); {
	case required && strings.TrimSpace(v) == "":
		c.addf("%s is required", field)
	case strings.ContainsRune(v, 0):
		c.addf("%s must not hold a NUL character", field)
	case !utf8.ValidString(v):
		// PostgreSQL would refuse it; the HTTP layer refuses it before (400), this is for
		// every other caller.
		c.addf("%s must be UTF-8 text", field)
	case n > maxTextLen:
		c.addf("%s must be at most %d characters", field, maxTextLen)
	}
}

func (c *checker) oneOf(field, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		c.addf("%s must be one of %s", field, strings.Join(allowed, ", "))
	}
}

// object checks a JSON value that must be an object when given (hints).
func (c *checker) object(field string, raw json.RawMessage) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return
	}
	if t[0] != '{' {
		c.addf("%s must be a JSON object", field)
	}
}

// duration reads an optional Go duration ("10s", "1500ms") that must lie in [lo, hi]; 0 when
// it is not given.
func (c *checker) duration(field, v string, lo, hi time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		c.addf("%s must be a duration from %s to %s, such as 10s or 1500ms", field, lo, hi)
		return 0
	}
	return d
}

func (c *checker) party(prefix string, p NewParty) {
	c.id(prefix+"party_id", p.PartyID)
	c.text(prefix+"resource", p.Resource, true)
	c.oneOf(prefix+"state", p.State, JoiningPartyStates)
	if p.Role != nil {
		c.oneOf(prefix+"role", *p.Role, PartyRoles)
	}
}

func (c *checker) userData(field string, data map[string]json.RawMessage) {
	if len(data) > maxUserDataKV {
		c.addf("%s has %d keys, at most %d are allowed", field, len(data), maxUserDataKV)
	}
	for k := range data {
		if k == "" || utf8.RuneCountInString(k) > maxTextLen {
			c.addf("%s keys must be 1 to %d characters", field, maxTextLen)
			return
		}
	}
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &fault.Error{Kind: fault.ErrInvalid, Message: strings.Join(c.problems, "; ")}
}

func (in NewSession) validate() error {
	var c checker
	c.id("session_id", in.SessionID)
	c.optionalID("tenant_id", in.TenantID)
	c.optionalID("owner_node", in.OwnerNode)
	return c.err()
}

func (in NewInteraction) validate() error {
	var c checker
	c.id("interaction_id", in.InteractionID)
	if len(in.Media) > maxMediaLen || !mediaPattern.MatchString(in.Media) {
		c.addf("media must be a lower-case word such as voice, chat or email")
	}
	c.oneOf("type", in.Type, InteractionTypes)
	c.optionalID("parent_id", in.ParentID)
	if in.ParentID != nil && *in.ParentID == in.InteractionID {
		c.addf("parent_id must name another interaction")
	}
	c.optionalID("tenant_id", in.TenantID)
	seen := map[string]bool{}
	for i, p := range in.Parties {
		c.party(fmt.Sprintf("parties[%d].", i), p)
		if seen[p.PartyID] {
			c.addf("parties[%d].party_id %q is given twice", i, p.PartyID)
		}
		seen[p.PartyID] = true
	}
	c.userData("udata", in.UserData)
	c.properties(in.Genesys, in.Media)
	return c.err()
}

func (in NewParty) validate() error {
	var c checker
	c.party("", in)
	return c.err()
}

func (in PartyStateChange) validate() error {
	var c checker
	c.oneOf("state", in.State, PartyStates)
	c.object("hints", in.Hints)
	return c.err()
}

func (in UserDataChange) validate() error {
	var c checker
	c.oneOf("origin", in.Origin, Origins)
	if in.Data == nil {
		c.addf("data is required: an object of keys and values")
	}
	c.userData("data", in.Data)
	return c.err()
}

func (in PartyLeft) validate() error {
	var c checker
	c.id("party_id", in.PartyID)
	c.text("new_destination", in.NewDestination, true)
	c.object("hints", in.Hints)
	return c.err()
}

func (in Conference) validate() error {
	var c checker
	c.id("party_id", in.PartyID)
	c.party("added_party.", in.AddedParty)
	c.object("hints", in.Hints)
	return c.err()
}

func (in Merge) validate() error {
	var c checker
	c.id("into_interaction_id", in.IntoInteractionID)
	c.id("active_party_id", in.ActivePartyID)
	c.id("held_party_id", in.HeldPartyID)
	c.object("hints", in.Hints)
	// hints.merge says what the merge completes (sql/functions/ixn_merge.sql); absent is a
	// conference. Checked here too so that a misspelt type is told with the other problems.
	var h struct {
		Merge *json.RawMessage `json:"merge"`
	}
	if json.Unmarshal(in.Hints, &h) == nil && h.Merge != nil {
		var kind string
		if json.Unmarshal(*h.Merge, &kind) != nil || !slices.Contains(MergeTypes, kind) {
			c.addf("hints.merge must be one of %s", strings.Join(MergeTypes, ", "))
		}
	}
	return c.err()
}

func (in Abandon) validate() error {
	var c checker
	c.text("focus_resource", in.FocusResource, true)
	c.text("reason", in.Reason, false)
	c.object("hints", in.Hints)
	return c.err()
}

// hintsOrEmpty gives hints as the events carry them: an object, {} when there are none.
func hintsOrEmpty(raw json.RawMessage) []byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return []byte("{}")
	}
	return t
}

// CheckID checks an id given outside a body (a path or query parameter) by the rule every id
// follows, the schema's ixn_id domain: fault.ErrInvalid when it does not.
func CheckID(field, v string) error {
	var c checker
	c.id(field, v)
	return c.err()
}
