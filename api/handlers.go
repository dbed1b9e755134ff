package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

type handlers struct {
	store *service.Store
	opts  Options
	// Raised when a request is made through this instance: wakes the pending-request streams.
	requested *Signal
	reports   *reporting.Reporter
}

// EventsResponse is the answer of every state change: the events it wrote, in order, and the
// checkpoint written with it when the change carried one.
type EventsResponse struct {
	Events     []service.Event            `json:"events"`
	Checkpoint *service.WrittenCheckpoint `json:"checkpoint,omitempty"`
}

func (h *handlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers within a second: unready (503 unavailable, its message saying why) while the
// server is stopping, while the database does not answer within readyTimeout, or while a
// ReadyCheck fails (migrations behind the binary).
func (h *handlers) readyz(c echo.Context) error {
	select {
	case <-h.opts.Stopping:
		return fault.Errorf(fault.ErrUnavailable, "not ready: shutting down")
	default:
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		if clientGone(c) {
			return err
		}
		return fault.Errorf(fault.ErrUnavailable, "not ready: the database did not answer within %s: %v", readyTimeout, err)
	}
	var why []string
	for _, check := range h.opts.ReadyChecks {
		if err := check.Check(ctx); err != nil {
			why = append(why, check.Name+": "+err.Error())
		}
	}
	if clientGone(c) {
		return c.Request().Context().Err()
	}
	if len(why) > 0 {
		return fault.Errorf(fault.ErrUnavailable, "not ready: %s", strings.Join(why, "; "))
	}
	ready := map[string]string{"status": "ready", "auth": "on"}
	if h.opts.Access == nil {
		ready["auth"] = "off" // anyone who reaches the port may do anything: say so
	}
	return c.JSON(http.StatusOK, ready)
}

// metrics serves the metrics, when they are served on this listener.
func (h *handlers) metrics(c echo.Context) error {
	if h.opts.Metrics == nil {
		return fault.Errorf(fault.ErrNotFound, "metrics are off, or served on --metrics-addr")
	}
	h.opts.Metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

// target is the session a write is for, with the epoch the writer holds.
func target(c echo.Context) (service.Target, error) {
	epoch, err := epochOf(c)
	return service.Target{SessionID: c.Param("sid"), Epoch: epoch}, err
}

// optionalBody marks a request body that may be left out.
type optionalBody struct{ v any }

// write decodes the body into body (a pointer, an optionalBody, or nil where the request has
// none), runs the change on st and answers with the events it wrote.
func (h *handlers) write(c echo.Context, status int, body any, run func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error)) error {
	return h.writeWith(c, status, body, func(ctx context.Context, st *service.Store, t service.Target) (service.Written, error) {
		events, err := run(ctx, st, t)
		return service.Written{Events: events}, err
	})
}

// writeWith is write for a change that may carry a checkpoint.
func (h *handlers) writeWith(c echo.Context, status int, body any, run func(ctx context.Context, st *service.Store, t service.Target) (service.Written, error)) error {
	t, err := decodeWrite(c, body)
	if err != nil {
		return err
	}
	return h.respond(c, t.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		w, err := run(ctx, st, t)
		return status, eventsResponse(w), err
	})
}

// decodeWrite reads a write's target and decodes its body into body (see write).
func decodeWrite(c echo.Context, body any) (service.Target, error) {
	t, err := target(c)
	if err != nil {
		return t, err
	}
	switch b := body.(type) {
	case nil:
	case optionalBody:
		err = decodeBody(c, b.v, false)
	default:
		err = decodeBody(c, b, true)
	}
	return t, err
}

func eventsResponse(w service.Written) EventsResponse {
	if w.Events == nil {
		w.Events = []service.Event{}
	}
	return EventsResponse{Events: w.Events, Checkpoint: w.Checkpoint}
}

// createSession: 201 with the new session; 200 with the session as it is when it exists with
// the same tenant and owner (409 when not).
func (h *handlers) createSession(c echo.Context) error {
	var in service.NewSession
	if err := decodeBody(c, &in, false); err != nil {
		return err
	}
	if in.SessionID == "" {
		// Under an Idempotency-Key the new session's id is the key's, so that a retry of
		// the creation names the session the first one created.
		if key := c.Request().Header.Get(IdempotencyHeader); key != "" {
			in.SessionID = uuid.NewSHA1(sessionIDSpace, []byte(key)).String()
		}
	}
	return h.respond(c, in.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		s, created, err := st.CreateSessionOnce(ctx, in)
		return createdStatus(created), s, err
	})
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (h *handlers) getSession(c echo.Context) error {
	s, err := h.store.GetSession(c.Request().Context(), c.Param("sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) endSession(c echo.Context) error {
	return h.write(c, http.StatusOK, nil, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.EndSession(ctx, t)
	})
}

func (h *handlers) listEvents(c echo.Context) error {
	return page(c, service.MaxEventsPage, service.MaxEventsPage, func(after int64, limit int) ([]service.Event, error) {
		return h.store.ListEvents(c.Request().Context(), c.Param("sid"), after, limit)
	})
}

// page answers one page of events after the position in ?after=, at most ?limit= of them
// (def when not given, from 1 to max).
func page[E any](c echo.Context, def, max int64, list func(after int64, limit int) ([]E, error)) error {
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, def, max)
	if err != nil {
		return err
	}
	events, err := list(after, int(limit))
	if err != nil {
		return err
	}
	if events == nil {
		events = []E{}
	}
	return c.JSON(http.StatusOK, map[string][]E{"events": events})
}

// addInteraction: 201 with interaction.added; 200 with the event that added it when it is
// there already, added with the same content (409 when not).
func (h *handlers) addInteraction(c echo.Context) error {
	var in service.NewInteraction
	t, err := decodeWrite(c, &in)
	if err != nil {
		return err
	}
	return h.respond(c, t.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		events, created, err := st.AddInteractionOnce(ctx, t, in)
		return createdStatus(created), eventsResponse(service.Written{Events: events}), err
	})
}

func (h *handlers) getInteraction(c echo.Context) error {
	ix, err := h.store.GetInteraction(c.Request().Context(), c.Param("sid"), c.Param("iid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ix)
}

// setGenesys is the media side giving an interaction's Genesys properties later. No event is
// written; the answer is the interaction as it now is.
func (h *handlers) setGenesys(c echo.Context) error {
	var in service.InteractionProperties
	t, err := decodeWrite(c, &in)
	if err != nil {
		return err
	}
	return h.respond(c, t.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		ix, err := st.SetGenesysProperties(ctx, t, c.Param("iid"), in)
		return http.StatusOK, ix, err
	})
}

func (h *handlers) presentInteraction(c echo.Context) error {
	return h.write(c, http.StatusOK, nil, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.PresentInteraction(ctx, t, c.Param("iid"))
	})
}

// releaseControlRequest: resultof defaults to detach (the session keeps the interaction).
type releaseControlRequest struct {
	ResultOf string `json:"resultof"`
}

func (h *handlers) releaseControl(c echo.Context) error {
	in := releaseControlRequest{ResultOf: "detach"}
	return h.write(c, http.StatusOK, optionalBody{&in}, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.ReleaseControl(ctx, t, c.Param("iid"), in.ResultOf)
	})
}

func (h *handlers) deleteInteraction(c echo.Context) error {
	return h.write(c, http.StatusOK, nil, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.DeleteInteraction(ctx, t, c.Param("iid"))
	})
}

func (h *handlers) addParty(c echo.Context) error {
	var in service.NewParty
	return h.write(c, http.StatusCreated, &in, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.AddParty(ctx, t, c.Param("iid"), in)
	})
}

func (h *handlers) changePartyState(c echo.Context) error {
	var in partyStateChangeBody
	return h.writeWith(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) (service.Written, error) {
		if in.Checkpoint != nil {
			return st.ChangePartyStateWithCheckpoint(ctx, t, c.Param("iid"), c.Param("pid"), in.PartyStateChange, *in.Checkpoint)
		}
		events, err := st.ChangePartyState(ctx, t, c.Param("iid"), c.Param("pid"), in.PartyStateChange)
		return service.Written{Events: events}, err
	})
}

func (h *handlers) deleteParty(c echo.Context) error {
	return h.write(c, http.StatusOK, nil, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.DeleteParty(ctx, t, c.Param("iid"), c.Param("pid"))
	})
}

func (h *handlers) replaceUserData(c echo.Context) error {
	return h.writeUserData(c, (*service.Store).ReplaceUserData, (*service.Store).ReplaceUserDataWithCheckpoint)
}

func (h *handlers) mergeUserData(c echo.Context) error {
	return h.writeUserData(c, (*service.Store).MergeUserData, (*service.Store).MergeUserDataWithCheckpoint)
}

type (
	userDataWrite        = func(st *service.Store, ctx context.Context, t service.Target, iid string, in service.UserDataChange) ([]service.Event, error)
	userDataWriteChecked = func(st *service.Store, ctx context.Context, t service.Target, iid string, in service.UserDataChange, ck service.NewCheckpoint) (service.Written, error)
)

// writeUserData: a user data change, with its checkpoint when the body carries one.
func (h *handlers) writeUserData(c echo.Context, plain userDataWrite, checked userDataWriteChecked) error {
	var in userDataChangeBody
	return h.writeWith(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) (service.Written, error) {
		if in.Checkpoint != nil {
			return checked(st, ctx, t, c.Param("iid"), in.UserDataChange, *in.Checkpoint)
		}
		events, err := plain(st, ctx, t, c.Param("iid"), in.UserDataChange)
		return service.Written{Events: events}, err
	})
}

func (h *handlers) deleteUserDataKey(c echo.Context) error {
	origin := c.QueryParam("origin")
	if origin == "" {
		origin = service.OriginMedia
	}
	return h.write(c, http.StatusOK, nil, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.DeleteUserDataKey(ctx, t, c.Param("iid"), c.Param("key"), origin)
	})
}

func (h *handlers) reportDivert(c echo.Context) error {
	var in service.PartyLeft
	return h.write(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.ReportDivert(ctx, t, c.Param("iid"), in)
	})
}

func (h *handlers) reportSingleStepTransfer(c echo.Context) error {
	var in service.PartyLeft
	return h.write(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.ReportSingleStepTransfer(ctx, t, c.Param("iid"), in)
	})
}

func (h *handlers) reportSingleStepConference(c echo.Context) error {
	var in service.Conference
	return h.write(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.ReportSingleStepConference(ctx, t, c.Param("iid"), in)
	})
}

func (h *handlers) reportMerge(c echo.Context) error {
	var in service.Merge
	return h.write(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.ReportMerge(ctx, t, c.Param("iid"), in)
	})
}

func (h *handlers) reportAbandoned(c echo.Context) error {
	var in service.Abandon
	return h.write(c, http.StatusOK, &in, func(ctx context.Context, st *service.Store, t service.Target) ([]service.Event, error) {
		return st.ReportAbandoned(ctx, t, c.Param("iid"), in)
	})
}
