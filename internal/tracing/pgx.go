package tracing

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Statements is a pgx tracer that makes a client span of each statement, child of the
// span in the statement's context (the request's, a dispatcher batch's). The span is named
// by the query's sqlc name ("-- name: SessionGet :one" gives "SessionGet"); the SQL text
// itself is left out: it is in queries/, and parameters would carry user data.
type Statements struct{ Tracer trace.Tracer }

var (
	_ pgx.QueryTracer    = Statements{}
	_ pgx.CopyFromTracer = Statements{}
)

var dbSystem = attribute.String("db.system.name", "postgresql")

func (s Statements) start(ctx context.Context, name string) context.Context {
	// A statement outside any trace (a background loop's) is not a trace of its own: a
	// poll every 250 ms would drown the traces that matter. Nor is one of a request the
	// sampler left out: its span would be dropped, and making it costs the write path.
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	ctx, _ = s.Tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(dbSystem))
	return ctx
}

// end ends the statement's span: the span of ctx is the one start made, or, when it made
// none, a span that is not recording, for which End does nothing.
func end(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

func (s Statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return s.start(ctx, queryName(data.SQL))
}

func (s Statements) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, data.Err)
}

func (s Statements) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return s.start(ctx, "COPY "+data.TableName.Sanitize())
}

func (s Statements) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	end(ctx, data.Err)
}

// queryName is a statement's sqlc name, or its first word ("begin", "SELECT").
func queryName(sql string) string {
	const marker = "-- name: "
	if strings.HasPrefix(sql, marker) {
		rest := sql[len(marker):]
		if i := strings.IndexAny(rest, " \n"); i > 0 {
			return rest[:i]
		}
	}
	sql = strings.TrimSpace(sql)
	if i := strings.IndexAny(sql, " \n("); i > 0 {
		return sql[:i]
	}
	return sql
}
