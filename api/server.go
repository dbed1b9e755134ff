// Package api is ixnstore's HTTP interface: JSON under /v1, an OpenAPI document of itself,
// health and readiness. It turns requests into service calls and service errors into answers.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

// bodyLimit is the largest request body accepted; user data is the only large part of a body.
const bodyLimit = "1M"

// Options are the API's settings beyond the store.
type Options struct {
	// Published is raised when events are published; nil: streams only poll.
	Published Waker
	// Stopping is closed when the server shuts down, to end the streams.
	Stopping <-chan struct{}
	// StreamKeepAlive is how often an idle stream sends a comment to keep proxies open.
	StreamKeepAlive time.Duration
	// StreamPoll is how often a stream looks for events without being woken.
	StreamPoll time.Duration
	// Reports answers the /v1/reports routes; nil: they answer 503.
	Reports *reporting.Reporter
	// RequestPoll is how often the stream of pending action requests looks for requests
	// made through other instances (those made through this one wake it at once).
	RequestPoll time.Duration
	// Access decides who may call (api/access.go); nil: anyone may do anything, and /readyz
	// says so.
	Access *Access
}

// New returns the HTTP handler of the API.
func New(store *service.Store, logger *slog.Logger, opts Options) *echo.Echo {
	if opts.Published == nil {
		opts.Published = neverRaised{}
	}
	if opts.StreamKeepAlive <= 0 {
		opts.StreamKeepAlive = 15 * time.Second
	}
	if opts.StreamPoll <= 0 {
		opts.StreamPoll = time.Second
	}
	if opts.RequestPoll <= 0 {
		opts.RequestPoll = 200 * time.Millisecond
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(logger)
	e.Use(middleware.Recover())
	e.Use(requestLog(logger))
	e.Use(middleware.BodyLimit(bodyLimit))
	if opts.Access != nil {
		e.Use(opts.Access.middleware())
	}

	h := &handlers{store: store, opts: opts, requested: NewSignal(), reports: opts.Reports}
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/v1/openapi.json", serveOpenAPIJSON)
	e.GET("/v1/openapi.yaml", serveOpenAPIYAML)

	v1 := e.Group("/v1")
	v1.POST("/sessions", h.createSession)
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
	checkRules(e)
	return e
}

// requestLog logs every request at debug level and failed ones higher, with what a person
// needs to find it again.
func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status, _ = classify(err)
			}
			if c.Request().Context().Err() != nil {
				status = statusClientClosed
			}
			level := slog.LevelDebug
			switch {
			case status == statusClientClosed:
			case status >= 500:
				level = slog.LevelError
			case status >= 400 && status != http.StatusNotFound && status != http.StatusConflict:
				level = slog.LevelInfo
			}
			if logger.Enabled(c.Request().Context(), level) {
				attrs := []any{"method", c.Request().Method, "path", c.Request().URL.Path,
					"status", status, "duration", time.Since(start)}
				if err != nil {
					attrs = append(attrs, "err", err.Error())
				}
				logger.Log(c.Request().Context(), level, "request", attrs...)
			}
			return err
		}
	}
}

type neverRaised struct{}

func (neverRaised) C() <-chan struct{} { return nil }
