package day

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// simAdapter is a media adapter: it follows the pending action requests and answers the
// day's share that falls to it; a few (Mix.Late) only after their timeout.
type simAdapter struct {
	d     *Day
	id    string
	index int
	c     *client.Client
}

// adapterFor is the adapter that serves a session (its switch).
func (d *Day) adapterFor(sid string) *simAdapter {
	return d.adapters[int(hash(sid)%uint64(len(d.adapters)))]
}

func hash(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// late: the media side answers request rid only after its timeout, the same for a seed.
func (d *Day) late(rid string) bool {
	return float64(hash(strconv.FormatUint(d.cfg.Seed, 10)+"/"+rid)%1_000_000) < d.cfg.Mix.Late*1_000_000
}

// run follows the feed and answers its share, up to 32 at a time, as a switch carries out
// many requests at once (one at a time, an adapter falls behind the feed on a busy machine).
func (a *simAdapter) run(ctx context.Context) {
	feed := a.c.Adapter(client.AdapterOptions{Media: "voice"})
	slots := make(chan struct{}, 32)
	for r, err := range feed.Requests(ctx) {
		if err != nil {
			if ctx.Err() == nil {
				a.d.stats.fail("request feed", codeOf(err))
			}
			return
		}
		if !strings.HasPrefix(r.SessionID, a.d.prefix) || a.d.adapterFor(r.SessionID) != a {
			continue
		}
		a.d.stats.call("request feed lag", time.Since(r.CreatedAt), nil)
		// Each answer is its own actor: answers to one session may be written in any order.
		actor := a.id + "/" + r.RequestID
		if a.d.late(r.RequestID) {
			a.d.answers.Go(func() {
				select {
				case <-time.After(time.Until(r.Deadline) + 300*time.Millisecond):
				case <-ctx.Done():
					return
				}
				a.answer(ctx, feed, r, actor)
			})
			continue
		}
		slots <- struct{}{}
		a.d.answers.Go(func() {
			defer func() { <-slots }()
			a.answer(ctx, feed, r, actor)
		})
	}
}

// answer reports the request done: for a transfer or a conference, with the party that
// joined at the destination (its resource: the destination, by default).
func (a *simAdapter) answer(ctx context.Context, feed *client.Adapter, r client.Request, actor string) {
	out := client.Done()
	if r.Action == string(client.Singlesteptransfer) || r.Action == string(client.Singlestepconference) {
		out.Party = &client.RequestOutcome_Party{PartyID: r.RequestID + "-p",
			Role: client.RequestOutcomePartyRoleAgent, State: client.Established}
	}
	// Refusals the day provokes: an answer after the timeout, or after the session ended or
	// the party left (a failed node's call finished by another). An answer that was not
	// made (unavailable, timeout) is sent again, as the client's errors say it may be; a
	// report made twice is answered with the first one's events.
	for try := 1; ; try++ {
		_, err := a.d.write("answer", r.SessionID, actor, func() ([]client.Event, error) {
			res, err := feed.Answer(ctx, r, out)
			if err != nil {
				return nil, err
			}
			return res.Events, nil
		}, client.CodeRequestEnded, "party_left")
		if !errors.Is(err, client.ErrUnavailable) || try == 3 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(try) * 200 * time.Millisecond):
		}
	}
}
