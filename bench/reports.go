package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReportQuery is one reporting query to measure, run again and again with its parameters,
// and how to get its plan (EXPLAIN, JSON).
type ReportQuery struct {
	Name string
	Run  func(ctx context.Context) error
	Plan func(ctx context.Context) (string, error)
}

// Timings are the durations of each query's runs.
type Timings map[string][]time.Duration

// Percentile returns the p-th percentile (0..100) of a query's runs.
func (t Timings) Percentile(name string, p int) time.Duration {
	d := slices.Clone(t[name])
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

// MeasureReports runs the queries in turn, one after another, until duration has passed.
func MeasureReports(ctx context.Context, queries []ReportQuery, duration time.Duration) (Timings, error) {
	timings := Timings{}
	for deadline := time.Now().Add(duration); time.Now().Before(deadline); {
		for _, q := range queries {
			start := time.Now()
			if err := q.Run(ctx); err != nil {
				return timings, fmt.Errorf("%s: %w", q.Name, err)
			}
			timings[q.Name] = append(timings[q.Name], time.Since(start))
		}
	}
	return timings, nil
}

// StatementRecorder is a pgx tracer that keeps the last statement (with its arguments) each
// labelled query sent, so that its plan can be shown with EXPLAIN.
type StatementRecorder struct {
	mu   sync.Mutex
	last map[string]recorded
}

type recorded struct {
	sql  string
	args []any
}

type labelKey struct{}

func NewStatementRecorder() *StatementRecorder {
	return &StatementRecorder{last: map[string]recorded{}}
}

// Label marks the statements sent with ctx as those of a query.
func Label(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, labelKey{}, name)
}

func (r *StatementRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if name, ok := ctx.Value(labelKey{}).(string); ok && !transactionControl(data.SQL) {
		r.mu.Lock()
		r.last[name] = recorded{sql: data.SQL, args: data.Args}
		r.mu.Unlock()
	}
	return ctx
}

func transactionControl(sql string) bool {
	word, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(sql)), " ")
	return word == "begin" || word == "commit" || word == "rollback"
}

func (r *StatementRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Plan describes the plan of a query's last statement: the scans it uses, and the big
// tables it reads whole (sequential scans), if any.
type Plan struct {
	Scans    []string
	SeqScans []string
}

// Explain plans the last statement a query sent, with its arguments, on a connection of
// pool (the reporting pool: its settings decide the plan).
func (r *StatementRecorder) Explain(ctx context.Context, pool *pgxpool.Pool, name string) (string, error) {
	r.mu.Lock()
	st, ok := r.last[name]
	r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no statement recorded for %s", name)
	}
	var raw string
	// EXPLAIN of the very statement the query sent.
	err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+st.sql, st.args...).Scan(&raw)
	return raw, err
}

// ReadPlan reads an EXPLAIN (FORMAT JSON) document.
func ReadPlan(raw string) (Plan, error) {
	var doc []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || len(doc) == 0 {
		return Plan{}, fmt.Errorf("reading a plan: %v", err)
	}
	var p Plan
	doc[0].Plan.walk(&p)
	return p, nil
}

type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Plans    []planNode `json:"Plans"`
}

// bigTables are the tables that grow with the interactions: never to be read whole.
var bigTables = []string{"interactions", "parties", "user_data", "outbox", "interaction_resources",
	"interaction_origins", "sessions", "publication", "action_requests"}

func (n planNode) walk(p *Plan) {
	switch {
	case n.Index != "":
		p.Scans = append(p.Scans, n.NodeType+" "+n.Index)
	case n.Relation != "":
		p.Scans = append(p.Scans, n.NodeType+" "+n.Relation)
		if n.NodeType == "Seq Scan" && slices.Contains(bigTables, n.Relation) {
			p.SeqScans = append(p.SeqScans, n.Relation)
		}
	}
	for _, c := range n.Plans {
		c.walk(p)
	}
}
