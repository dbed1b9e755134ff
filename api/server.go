// Package api is ixnstore's HTTP interface: JSON under /v1, an OpenAPI document of itself,
// health and readiness. It turns requests into service calls and service errors into answers.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

// bodyLimit is the largest request body accepted; user data is the only large part of a body.
const bodyLimit = "1M"

// Options are the API's settings beyond the store.
type Options struct {
	// Streams hands published events to the event streams; nil: the stream route answers 503.
	// Its owner runs it (Hub.Run).
	Streams *streamhub.Hub
	// Stopping is closed when the server shuts down, to end the streams.
	Stopping <-chan struct{}
	// StreamKeepAlive is how often an idle stream sends a comment to keep proxies open.
	StreamKeepAlive time.Duration
	// StreamPoll is how long a stream waits before it reads again after a failed read.
	StreamPoll time.Duration
	// Reports answers the /v1/reports routes; nil: they answer 503.
	Reports *reporting.Reporter
	// RequestPoll is how often the stream of pending action requests looks for requests
	// made through other instances (those made through this one wake it at once).
	RequestPoll time.Duration
	// Access decides who may call (api/access.go); nil: anyone may do anything, and /readyz
	// says so.
	Access *Access
	// RequestDeadline bounds every request but the event streams (DefaultRequestDeadline):
	// when it passes, the request's statement is abandoned and it answers 503.
	RequestDeadline time.Duration
	// Observer hears of every request, state change and refusal (the metrics); nil: none.
	Observer Observer
	// Metrics answers GET /metrics; nil: it answers 404 (metrics off, or on their own
	// listener).
	Metrics http.Handler
	// Tracer makes a span of every request; nil: none.
	Tracer trace.Tracer
	// ReadyChecks are what /readyz asks besides the database answering and the server not
	// stopping; each failing one makes it unready, and its answer says which.
	ReadyChecks []ReadyCheck
}

// ReadyCheck is one condition of readiness: Check returns why the instance is not ready.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// DefaultRequestDeadline is the deadline of a request when Options give none: long enough for
// any write and the reports, short enough that a client is not left hanging.
const DefaultRequestDeadline = 5 * time.Second

// readyTimeout bounds /readyz's look at the database, below the 1 s in which it must answer.
const readyTimeout = 800 * time.Millisecond

// streamRoutes live as long as their client: they have no request deadline.
var streamRoutes = map[string]bool{"/v1/events/stream": true, "/v1/requests/stream": true}

// deadline gives each request but the streams a context that ends after d: the statement it
// runs is abandoned then (the driver closes its connection) and it answers 503.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if streamRoutes[c.Path()] {
				return next(c)
			}
			req := c.Request()
			ctx, cancel := context.WithTimeout(req.Context(), d)
			// The error is answered after this returns, when ctx is cancelled: give back the
			// client's request, whose context says whether the client is still there. In a
			// defer, so that a panic on its way to the recovery does not leave the cancelled
			// one behind (it would read as a client gone).
			defer func() {
				cancel()
				c.SetRequest(req)
			}()
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

// New returns the HTTP handler of the API.
func New(store *service.Store, logger *slog.Logger, opts Options) *echo.Echo {
	if opts.StreamKeepAlive <= 0 {
		opts.StreamKeepAlive = 15 * time.Second
	}
	if opts.StreamPoll <= 0 {
		opts.StreamPoll = time.Second
	}
	if opts.RequestPoll <= 0 {
		opts.RequestPoll = 200 * time.Millisecond
	}
	if opts.RequestDeadline <= 0 {
		opts.RequestDeadline = DefaultRequestDeadline
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(logger)
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	// The span is outermost, so that the request's log line carries its trace id; the
	// request log next, so that every failure, a recovered panic included, is logged there
	// once, with its status; the error handler only answers.
	if opts.Tracer != nil {
		e.Use(traced(opts.Tracer))
	}
	kinds := map[string]string{}
	e.Use(requestLog(logger, opts.Observer, kinds))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll:     true,
		DisableErrorHandler: true,
		LogErrorFunc: func(_ echo.Context, err error, stack []byte) error {
			return fmt.Errorf("panic: %w\n%s", err, stack)
		},
	}))
	e.Use(deadline(opts.RequestDeadline))
	e.Use(middleware.BodyLimit(bodyLimit))
	e.Use(checkInputs)
	// Access after the input rule: its checks read path ids and look up the session's owner,
	// which only ever sees ids that follow the rule (a hostile id is 400/422 before it is
	// looked up, token or not).
	if opts.Access != nil {
		e.Use(opts.Access.middleware())
	}
	e.Use(hashIdempotentRequest)

	h := &handlers{store: store, opts: opts, requested: NewSignal(), reports: opts.Reports}
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/v1/openapi.json", serveOpenAPIJSON)
	e.GET("/v1/openapi.yaml", serveOpenAPIYAML)

	v1 := e.Group("/v1")
	v1.POST("/sessions", h.createSession)
	v1.GET("/sessions", h.listSessions)
	v1.GET("/sessions/orphaned", h.listOrphanedSessions)
	v1.POST("/sessions/:sid/claim", h.claimSession)
	v1.POST("/sessions/:sid/release", h.releaseSession)
	v1.POST("/nodes", h.registerNode)
	v1.GET("/nodes", h.listNodes)
	v1.POST("/nodes/:nid/heartbeat", h.heartbeat)
	v1.POST("/nodes/:nid/leave", h.leaveNode)
	v1.GET("/sessions/:sid", h.getSession)
	v1.POST("/sessions/:sid/end", h.endSession)
	v1.GET("/sessions/:sid/events", h.listEvents)
	v1.PUT("/sessions/:sid/checkpoint", h.putCheckpoint)
	v1.GET("/sessions/:sid/checkpoint", h.getCheckpoint)
	v1.GET("/sessions/:sid/checkpoint/history", h.checkpointHistory)
	v1.GET("/events", h.listPublished)
	v1.GET("/events/stream", h.stream)
	v1.GET("/overview", h.overview)
	v1.GET("/sessions/:sid/requests", h.listSessionRequests)
	v1.GET("/sessions/:sid/owners", h.sessionOwners)

	v1.POST("/sessions/:sid/interactions", h.addInteraction)
	ix := v1.Group("/sessions/:sid/interactions/:iid")
	ix.GET("", h.getInteraction)
	ix.DELETE("", h.deleteInteraction)
	ix.POST("/present", h.presentInteraction)
	ix.POST("/notcontrolled", h.releaseControl)

	ix.POST("/parties", h.addParty)
	ix.PATCH("/parties/:pid", h.changePartyState)
	ix.DELETE("/parties/:pid", h.deleteParty)

	ix.PUT("/udata", h.replaceUserData)
	ix.PATCH("/udata", h.mergeUserData)
	ix.PATCH("/genesys", h.setGenesys)
	ix.DELETE("/udata/:key", h.deleteUserDataKey)

	ix.POST("/reports/divert", h.reportDivert)
	ix.POST("/reports/singlesteptransfer", h.reportSingleStepTransfer)
	ix.POST("/reports/singlestepconference", h.reportSingleStepConference)
	ix.POST("/reports/merge", h.reportMerge)
	ix.POST("/reports/abandoned", h.reportAbandoned)

	v1.GET("/reports/interactions", h.reportsConfigured(h.reportInteractions))
	v1.GET("/reports/interactions/:iid", h.reportsConfigured(h.reportInteraction))
	v1.GET("/reports/aggregates", h.reportsConfigured(h.reportAggregates))
	v1.GET("/reports/interactions/:iid/state", h.reportsConfigured(h.reportStateAt))
	v1.GET("/reports/audit", h.reportsConfigured(h.reportAudit))

	v1.POST("/sessions/:sid/requests", h.createRequest)
	v1.GET("/sessions/:sid/requests/:rid", h.getRequest)
	v1.POST("/sessions/:sid/requests/:rid/outcome", h.reportRequest)
	v1.GET("/requests", h.listPendingRequests)
	v1.GET("/requests/stream", h.streamPendingRequests)
	e.GET("/metrics", h.metrics)
	checkRules(e)
	for k, v := range changeKinds(e) {
		kinds[k] = v
	}
	return e
}
