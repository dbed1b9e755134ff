package benchcli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/bench"
	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/natsbridge"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// inProcess is the API served by the bench itself, with a dispatcher it can turn on and off.
type inProcess struct {
	url       string // where the bench serves it
	pool      *pgxpool.Pool
	logger    *slog.Logger
	published *api.Signal
	handler   http.Handler

	mu    sync.Mutex
	d     *dispatcher.Dispatcher
	stop  context.CancelFunc
	wg    sync.WaitGroup
	store *service.Store

	backlog *bench.Backlog
}

// newInProcess makes the API on pool, with a stream hub that reads until ctx ends.
func newInProcess(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (*inProcess, error) {
	p := &inProcess{pool: pool, logger: logger, published: api.NewSignal(), backlog: bench.NewBacklog(pool)}
	p.store = service.New(pool, service.Config{Written: func() {
		p.mu.Lock()
		d := p.d
		p.mu.Unlock()
		if d != nil {
			d.Wake()
		}
	}})
	hub, err := streamhub.New(streamhub.Config{Read: p.store.ListPublished, Last: p.store.LastPubSeq, Wake: p.published.C})
	if err != nil {
		return nil, err
	}
	go hub.Run(ctx)
	p.handler = api.New(p.store, logger, api.Options{Streams: hub})
	return p, nil
}

func (p *inProcess) startDispatcher(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.d != nil {
		return
	}
	ctx, p.stop = context.WithCancel(ctx)
	p.d = dispatcher.New(dispatcher.Config{
		ConnString: p.pool.Config().ConnString(), Instance: "bench", Logger: p.logger, BatchGap: dispatcher.DefaultBatchGap,
		Published: func(int64) { p.published.Raise() },
	})
	d := p.d
	p.wg.Go(func() { d.Run(ctx) })
}

func (p *inProcess) stopDispatcher() {
	p.mu.Lock()
	if p.d == nil {
		p.mu.Unlock()
		return
	}
	p.stop()
	p.d = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// caughtUp waits until every event written so far is published and returns the last
// publication number.
func (p *inProcess) caughtUp(ctx context.Context) (int64, error) {
	c, err := db.New(p.pool).StoreCounts(ctx)
	if err != nil {
		return 0, err
	}
	return c.Events, p.waitPublished(ctx, c.Events)
}

type benchPublishConfig struct {
	backlog, rounds, clients int
	rates                    string
	duration                 time.Duration
	natsURL                  string // with it, the same figures through a JetStream bridge
}

func benchPublish(ctx context.Context, stdout io.Writer, p *inProcess, load *bench.Load, target string, cfg benchPublishConfig) error {
	last, err := p.caughtUp(ctx)
	if err != nil {
		return err
	}

	// 1. From a backlog: the dispatcher alone, one stream subscriber alone (reading what is
	// published), and both at once from a second backlog (the figure that counts).
	dispatchRate, n, err := publishBacklog(ctx, stdout, p, cfg.backlog, last, func(start time.Time, target int64) error {
		return p.waitPublished(ctx, target)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the dispatcher alone: %d events: %.0f events/s\n", n, dispatchRate)
	subCtx, cancelSub := context.WithCancel(ctx)
	sub, err := bench.Subscribe(subCtx, target, last)
	if err != nil {
		cancelSub()
		return err
	}
	start := time.Now()
	err = sub.WaitFor(ctx, n, 10*time.Minute)
	cancelSub()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "one stream subscriber alone, reading published events: %.0f events/s\n", float64(n)/time.Since(start).Seconds())
	last += int64(n)
	both, n, err := publishBacklog(ctx, stdout, p, cfg.backlog, last, func(start time.Time, target int64) error {
		subCtx, cancelSub := context.WithCancel(ctx)
		defer cancelSub()
		sub, err := bench.Subscribe(subCtx, p.url, last)
		if err != nil {
			return err
		}
		return sub.WaitFor(ctx, int(target-last), 10*time.Minute)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published from a backlog to one stream subscriber: %d events: %.0f events/s\n", n, both)
	var js *jetStreamBridge
	if cfg.natsURL != "" {
		// The bridge starts once the stream's figure is taken, and catches up before its own.
		if js, err = startJetStreamBridge(ctx, p, cfg.natsURL); err != nil {
			return err
		}
		defer js.stop()
		last += int64(n)
		if err := js.signals.WaitSaved(last, 10*time.Minute); err != nil {
			return err
		}
		viaJS, n, err := publishBacklog(ctx, stdout, p, cfg.backlog, last, func(start time.Time, target int64) error {
			subCtx, cancelSub := context.WithCancel(ctx)
			defer cancelSub()
			sub, err := bench.SubscribeJetStream(subCtx, cfg.natsURL, js.stream)
			if err != nil {
				return err
			}
			return sub.WaitFor(ctx, int(target-last), 10*time.Minute)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published from a backlog through JetStream to one consumer: %d events: %.0f events/s (%.2f× the stream's)\n",
			n, viaJS, viaJS/both)
	}

	// 2. Commit → subscriber latency at fixed rates.
	for _, r := range strings.Fields(cfg.rates) {
		rate, err := strconv.Atoi(r)
		if err != nil || rate < 1 {
			return fmt.Errorf("--rates: %q is not a positive number", r)
		}
		if last, err = p.caughtUp(ctx); err != nil {
			return err
		}
		subCtx, cancelSub := context.WithCancel(ctx)
		subs := map[string]*bench.Subscriber{}
		if subs["subscriber"], err = bench.Subscribe(subCtx, target, last); err != nil {
			cancelSub()
			return err
		}
		if js != nil {
			if subs["JetStream consumer"], err = bench.SubscribeJetStream(subCtx, cfg.natsURL, js.stream); err != nil {
				cancelSub()
				return err
			}
		}
		acks, err := load.Paced(ctx, p.store, rate, cfg.duration)
		for _, sub := range subs {
			if err == nil {
				err = sub.WaitFor(ctx, len(acks), 30*time.Second)
			}
		}
		cancelSub()
		if err != nil {
			return err
		}
		for _, name := range []string{"subscriber", "JetStream consumer"} {
			if sub := subs[name]; sub != nil {
				p50, p99, missing := bench.Latencies(acks, sub)
				fmt.Fprintf(stdout, "commit → %s at %d events/s (asked %d) for %s: p50 %s, p99 %s (%d events, %d not received)\n",
					name, int(float64(len(acks))/cfg.duration.Seconds()), rate, cfg.duration, p50.Round(10*time.Microsecond),
					p99.Round(10*time.Microsecond), len(acks), missing)
			}
		}
	}

	// 3. Writers with the dispatcher (and a subscriber) on, and off.
	rates := map[bool][]float64{}
	for round := 1; round <= cfg.rounds; round++ {
		for _, on := range []bool{true, false} {
			var res bench.Result
			if on {
				p.startDispatcher(ctx)
				if last, err = p.caughtUp(ctx); err != nil {
					return err
				}
				subCtx, cancel := context.WithCancel(ctx)
				if _, err := bench.Subscribe(subCtx, target, last); err != nil {
					cancel()
					return err
				}
				res, err = load.Run(ctx, cfg.clients, cfg.duration)
				cancel()
			} else {
				p.stopDispatcher()
				res, err = load.Run(ctx, cfg.clients, cfg.duration)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "dispatcher %-3s %s\n", onOff(on), res)
			rates[on] = append(rates[on], res.PerSecond())
		}
	}
	on, off := median(rates[true]), median(rates[false])
	fmt.Fprintf(stdout, "-- medians of %d rounds: writers at %d clients: %.0f/s with the dispatcher on, %.0f/s off: %.2f× (%.1f%% lost)\n",
		cfg.rounds, cfg.clients, on, off, on/off, 100*(1-on/off))
	p.startDispatcher(ctx)
	return nil
}

// publishBacklog stops the dispatcher, writes a backlog, starts the dispatcher and returns
// the rate at which wait saw it through.
func publishBacklog(ctx context.Context, stdout io.Writer, p *inProcess, events int, last int64,
	wait func(start time.Time, target int64) error) (float64, int, error) {
	p.stopDispatcher()
	fmt.Fprintf(stdout, "-- writing a backlog of %d events with the dispatcher off\n", events)
	if err := p.backlog.Write(ctx, events); err != nil {
		return 0, 0, err
	}
	total, err := db.New(p.pool).StoreCounts(ctx)
	if err != nil {
		return 0, 0, err
	}
	n := int(total.Events - last)
	start := time.Now()
	p.startDispatcher(ctx)
	if err := wait(start, total.Events); err != nil {
		return 0, 0, err
	}
	return float64(n) / time.Since(start).Seconds(), n, nil
}

// waitPublished waits until the publication reaches target.
func (p *inProcess) waitPublished(ctx context.Context, target int64) error {
	q := db.New(p.pool)
	for {
		st, err := q.DispatcherStateGet(ctx)
		if err != nil || st.LastPubSeq >= target {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func onOff(on bool) string { return map[bool]string{true: "on", false: "off"}[on] }

// jetStreamBridge is a NATS bridge of the bench's own: a stream and subjects no one else uses,
// deleted when the bench is done.
type jetStreamBridge struct {
	stream  string
	signals *natsbridge.Signals
	js      jetstream.JetStream
	nc      *nats.Conn
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startJetStreamBridge(ctx context.Context, p *inProcess, url string) (*jetStreamBridge, error) {
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	b := &jetStreamBridge{stream: "IXNSTORE_BENCH_" + suffix, signals: &natsbridge.Signals{Saved: make(chan int64, 1)}}
	bridge, err := natsbridge.New(natsbridge.Config{
		ConnString: p.pool.Config().ConnString(), Instance: "bench", URL: url,
		Stream: b.stream, SubjectPrefix: "ixnbench" + suffix,
		Read: p.store.ListPublished, Wake: p.published.C, Logger: p.logger, Signals: b.signals,
	})
	if err != nil {
		return nil, err
	}
	if b.nc, err = nats.Connect(url); err != nil {
		return nil, err
	}
	if b.js, err = jetstream.New(b.nc); err != nil {
		b.nc.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	b.wg.Go(func() { bridge.Run(runCtx) })
	return b, nil
}

func (b *jetStreamBridge) stop() {
	b.cancel()
	b.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.js.DeleteStream(ctx, b.stream)
	b.nc.Close()
}
