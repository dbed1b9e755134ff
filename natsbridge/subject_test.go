package natsbridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/natsbridge"
	"github.com/ixnstore/ixnstore/service"
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
		got := natsbridge.Subject("ixn", c.node, c.session, c.name)
		if got != c.want {
			t.Errorf("Subject(%v, %q, %q) = %q, want %q", c.node, c.session, c.name, got, c.want)
		}
		for _, tok := range strings.Split(got, ".") {
			if tok == "" || strings.ContainsAny(tok, "*> \t") {
				t.Errorf("%q has the token %q", got, tok)
			}
		}
		back, err := natsbridge.ParseToken(strings.Split(got, ".")[2])
		if err != nil || back != c.session {
			t.Errorf("ParseToken of %q's session: %q, %v; want %q", got, back, err, c.session)
		}
	}
	if natsbridge.Token("~") == natsbridge.NoNode {
		t.Error("a node named ~ has the token of no node")
	}
	if got := natsbridge.SessionFilter("ixn", "s.1"); got != "ixn.*.s%2E1.>" {
		t.Errorf("SessionFilter = %q", got)
	}
	for _, bad := range []string{"%", "%4", "%G0", "a%2"} {
		if _, err := natsbridge.ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) took it", bad)
		}
	}
}

func TestConfigIsValidated(t *testing.T) {
	base := func() natsbridge.Config {
		return natsbridge.Config{ConnString: "postgres://x", URL: "nats://x",
			Read: func(context.Context, service.PublishedFilter, int64, int) ([]service.PublishedEvent, error) {
				return nil, nil
			}}
	}
	ok := base()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if ok.Stream != natsbridge.DefaultStream || ok.SubjectPrefix != natsbridge.DefaultSubjectPrefix || ok.Replicas != 1 ||
		ok.Duplicates != natsbridge.DefaultDuplicates || ok.Window != natsbridge.DefaultWindow {
		t.Errorf("defaults not filled in: %+v", ok)
	}
	for name, change := range map[string]func(*natsbridge.Config){
		"no database":           func(c *natsbridge.Config) { c.ConnString = "" },
		"no URL":                func(c *natsbridge.Config) { c.URL = "" },
		"no reader":             func(c *natsbridge.Config) { c.Read = nil },
		"a dot in the stream":   func(c *natsbridge.Config) { c.Stream = "A.B" },
		"a wildcard prefix":     func(c *natsbridge.Config) { c.SubjectPrefix = "ixn.*" },
		"an empty token":        func(c *natsbridge.Config) { c.SubjectPrefix = "ixn..x" },
		"unknown retention":     func(c *natsbridge.Config) { c.Retention = "forever" },
		"six replicas":          func(c *natsbridge.Config) { c.Replicas = 6 },
		"dedupe beyond max age": func(c *natsbridge.Config) { c.MaxAge = time.Minute },
		"a negative window":     func(c *natsbridge.Config) { c.Window = -1 },
	} {
		c := base()
		change(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
