package natsbridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/natsbridge"
	"github.com/ixnstore/ixnstore/service"
)

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
