package natsevents_test

import (
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/client/natsevents"
)

func TestSubjectTokens(t *testing.T) {
	node := "node.1"
	for _, c := range []struct {
		node          *string
		session, name string
		want          string
	}{
		{&node, "s1", "interaction.added", "ixn.node%2E1.s1.interaction.added"},
		{nil, "a:b@c-d_e", "error.interaction.accept", "ixn.~.a:b@c-d_e.error.interaction.accept"},
		{&node, "s.*>%~ é", "interaction.partystatechanged", "ixn.node%2E1.s%2E%2A%3E%25%7E%20%C3%A9.interaction.partystatechanged"},
		// A name with an empty part would make an invalid subject: one token, escaped whole.
		{&node, "s", "bad..name", "ixn.node%2E1.s.bad%2E%2Ename"},
	} {
		got := natsevents.Subject("ixn", c.node, c.session, c.name)
		if got != c.want {
			t.Errorf("Subject(%v, %q, %q) = %q, want %q", c.node, c.session, c.name, got, c.want)
		}
		for _, tok := range strings.Split(got, ".") {
			if tok == "" || strings.ContainsAny(tok, "*> \t") {
				t.Errorf("%q has the token %q", got, tok)
			}
		}
		back, err := natsevents.ParseToken(strings.Split(got, ".")[2])
		if err != nil || back != c.session {
			t.Errorf("ParseToken of %q's session: %q, %v; want %q", got, back, err, c.session)
		}
	}
	if natsevents.Token("~") == natsevents.NoNode {
		t.Error("a node named ~ has the token of no node")
	}
	if got := natsevents.SessionFilter("ixn", "s.1"); got != "ixn.*.s%2E1.>" {
		t.Errorf("SessionFilter = %q", got)
	}
	for _, bad := range []string{"%", "%4", "%G0", "a%2"} {
		if _, err := natsevents.ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) took it", bad)
		}
	}
}
