package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// streamFlags set up the event streams: their own small pool, the cap on streams and the
// window of events kept in memory.
type streamFlags struct {
	maxConns   int
	maxStreams int
	window     int
}

func (s *streamFlags) register(f *Flags) {
	f.EnvInt(&s.maxConns, "stream-db-max-conns", "IXNSTORE_STREAM_DB_MAX_CONNS", 4,
		"connections of the event streams' own pool (2 or more): one for the reader of new events, the rest for streams catching up, never the writers' pool")
	f.EnvInt(&s.maxStreams, "max-streams", "IXNSTORE_MAX_STREAMS", streamhub.DefaultMaxStreams,
		"most event streams this instance serves at once; beyond it a stream is refused with 503 too_many_streams")
	f.EnvInt(&s.window, "stream-window", "IXNSTORE_STREAM_WINDOW", streamhub.DefaultWindow,
		"newest published events kept in memory for the streams; a stream that falls further behind is cut with the cursor to resume from")
}

func (s *streamFlags) validate() error {
	if s.maxConns < 2 || s.maxStreams < 1 || s.window < streamhub.DefaultPage {
		return fmt.Errorf("--stream-db-max-conns must be 2 or more, --max-streams 1 or more, --stream-window %d or more", streamhub.DefaultPage)
	}
	return nil
}

// open opens the streams' pool, read-only, on the main database's URL, and the hub that
// reads through it. The caller runs the hub and closes the pool.
func (s *streamFlags) open(ctx context.Context, main *pgxpool.Pool, timeouts database.Timeouts, published func() <-chan struct{}, logger *slog.Logger) (*streamhub.Hub, *pgxpool.Pool, error) {
	// The serving pools' timeouts: a catch-up page read is a short statement, and a stream
	// must not hang on a database that stopped answering any more than a request does.
	pool, err := database.Open(ctx, main.Config().ConnString(), database.PoolOptions{MaxConns: s.maxConns, ReadOnly: true, Timeouts: timeouts})
	if err != nil {
		return nil, nil, fmt.Errorf("the streams' pool: %w", err)
	}
	reader := service.New(pool, service.Config{})
	hub, err := streamhub.New(streamhub.Config{
		Read: reader.ListPublished, Last: reader.LastPubSeq, Wake: published,
		Window: s.window, MaxStreams: s.maxStreams, CatchUpReaders: s.maxConns - 1,
		Logger: logger.With("part", "streams"), IdleRest: true,
	})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return hub, pool, nil
}
