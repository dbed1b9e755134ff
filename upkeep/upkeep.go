// Package upkeep runs the background work every ixnstore instance does besides answering
// requests: ending action requests that were not answered in time, giving the sessions of dead
// nodes to live ones, and removing published events past their retention. Each is a Loop of
// one shape: a Config validated at construction, a pass at every interval until its context
// ends, and a hook that tells tests a pass happened, so they wait for "swept once" rather than
// for the clock.
//
// Every instance may run every loop: each thing is done under its session's row lock after
// checking it is still due, so two instances doing the same pass do it once.
package upkeep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config is one loop.
type Config struct {
	// Name says what the loop does, in logs ("request timeouts").
	Name string
	// Interval is the time between the starts of two passes.
	Interval time.Duration
	// Batch is how many things one call of Work does at most. A pass calls Work until a call
	// comes back short: all that is due now, in bounded statements.
	Batch int
	// Work does up to limit things and says how many it did.
	Work func(ctx context.Context, limit int) (int, error)
	// Logger gets one line per pass that did something and one per outage.
	Logger *slog.Logger
	// Passed, when set, is called after every pass with what it did: a test's signal.
	Passed func(Pass)
}

// Pass is what one pass did.
type Pass struct {
	Count int
	Err   error
}

// Loop runs its Config's work at its interval.
type Loop struct {
	cfg Config
}

// New validates cfg and makes its loop.
func New(cfg Config) (*Loop, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("upkeep: a loop needs a name")
	case cfg.Interval <= 0:
		return nil, fmt.Errorf("upkeep: %s: the interval must be more than 0", cfg.Name)
	case cfg.Batch <= 0:
		return nil, fmt.Errorf("upkeep: %s: the batch must be more than 0", cfg.Name)
	case cfg.Work == nil:
		return nil, fmt.Errorf("upkeep: %s: no work", cfg.Name)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("part", cfg.Name)
	return &Loop{cfg: cfg}, nil
}

// Run passes now and then every interval until ctx ends. A failure is logged once until a pass
// succeeds again, and the work is tried again at the next tick.
func (l *Loop) Run(ctx context.Context) {
	tick := time.NewTicker(l.cfg.Interval)
	defer tick.Stop()
	failing := false
	for {
		n, err := l.Pass(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				l.cfg.Logger.Warn("failed; retrying", "err", err, "every", l.cfg.Interval)
			}
			failing = true
		case failing:
			l.cfg.Logger.Info("works again")
			failing = false
		}
		if n > 0 {
			l.cfg.Logger.Info("done", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Pass does all that is due now, a batch at a time, and returns how many things it did.
func (l *Loop) Pass(ctx context.Context) (int, error) {
	total := 0
	var err error
	for {
		var n int
		n, err = l.cfg.Work(ctx, l.cfg.Batch)
		total += n
		if err != nil || n < l.cfg.Batch {
			break
		}
	}
	if l.cfg.Passed != nil {
		l.cfg.Passed(Pass{Count: total, Err: err})
	}
	return total, err
}
