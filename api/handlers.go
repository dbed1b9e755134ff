package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

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

func (h *handlers) readyz(c echo.Context) error {
	if err := h.store.Ping(c.Request().Context()); err != nil {
		return err
	}
	ready := map[string]string{"status": "ready", "auth": "on"}
	if h.opts.Access == nil {
		ready["auth"] = "off" // anyone who reaches the port may do anything: say so
	}
	return c.JSON(http.StatusOK, ready)
}

// target is the session a write is for, with the epoch the writer holds.
func target(c echo.Context) (service.Target, error) {
	epoch, err := epochOf(c)
	return service.Target{SessionID: c.Param("sid"), Epoch: epoch}, err
}

// optionalBody marks a request body that may be left out.
type optionalBody struct{ v any }

// write decodes the body into body (a pointer, an optionalBody, or nil where the request has
// none), runs the change and answers with the events it wrote.
func write(c echo.Context, status int, body any, run func(t service.Target) ([]service.Event, error)) error {
	return writeWith(c, status, body, func(t service.Target) (service.Written, error) {
		events, err := run(t)
		return service.Written{Events: events}, err
	})
}

// writeWith is write for a change that may carry a checkpoint.
func writeWith(c echo.Context, status int, body any, run func(t service.Target) (service.Written, error)) error {
	t, err := target(c)
	if err != nil {
		return err
	}
	switch b := body.(type) {
	case nil:
	case optionalBody:
		err = decodeBody(c, b.v, false)
	default:
		err = decodeBody(c, b, true)
	}
	if err != nil {
		return err
	}
	w, err := run(t)
	if err != nil {
		return err
	}
	if w.Events == nil {
		w.Events = []service.Event{}
	}
	return c.JSON(status, EventsResponse{Events: w.Events, Checkpoint: w.Checkpoint})
}

func (h *handlers) createSession(c echo.Context) error {
	var in service.NewSession
	if err := decodeBody(c, &in, false); err != nil {
		return err
	}
	s, err := h.store.CreateSession(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s)
}

func (h *handlers) getSession(c echo.Context) error {
	s, err := h.store.GetSession(c.Request().Context(), c.Param("sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *handlers) endSession(c echo.Context) error {
	return write(c, http.StatusOK, nil, func(t service.Target) ([]service.Event, error) {
		return h.store.EndSession(c.Request().Context(), t)
	})
}

func (h *handlers) listEvents(c echo.Context) error {
	return page(c, func(after int64, limit int) ([]service.Event, error) {
		return h.store.ListEvents(c.Request().Context(), c.Param("sid"), after, limit)
	})
}

// page answers one page of events after the position in ?after=, at most ?limit= of them.
func page[E any](c echo.Context, list func(after int64, limit int) ([]E, error)) error {
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", service.MaxEventsPage)
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

func (h *handlers) addInteraction(c echo.Context) error {
	var in service.NewInteraction
	return write(c, http.StatusCreated, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.AddInteraction(c.Request().Context(), t, in)
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
	t, err := target(c)
	if err != nil {
		return err
	}
	var in service.InteractionProperties
	if err := decodeBody(c, &in, true); err != nil {
		return err
	}
	ix, err := h.store.SetGenesysProperties(c.Request().Context(), t, c.Param("iid"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ix)
}

func (h *handlers) presentInteraction(c echo.Context) error {
	return write(c, http.StatusOK, nil, func(t service.Target) ([]service.Event, error) {
		return h.store.PresentInteraction(c.Request().Context(), t, c.Param("iid"))
	})
}

// releaseControlRequest: resultof defaults to detach (the session keeps the interaction).
type releaseControlRequest struct {
	ResultOf string `json:"resultof"`
}

func (h *handlers) releaseControl(c echo.Context) error {
	in := releaseControlRequest{ResultOf: "detach"}
	return write(c, http.StatusOK, optionalBody{&in}, func(t service.Target) ([]service.Event, error) {
		return h.store.ReleaseControl(c.Request().Context(), t, c.Param("iid"), in.ResultOf)
	})
}

func (h *handlers) deleteInteraction(c echo.Context) error {
	return write(c, http.StatusOK, nil, func(t service.Target) ([]service.Event, error) {
		return h.store.DeleteInteraction(c.Request().Context(), t, c.Param("iid"))
	})
}

func (h *handlers) addParty(c echo.Context) error {
	var in service.NewParty
	return write(c, http.StatusCreated, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.AddParty(c.Request().Context(), t, c.Param("iid"), in)
	})
}

func (h *handlers) changePartyState(c echo.Context) error {
	var in partyStateChangeBody
	return writeWith(c, http.StatusOK, &in, func(t service.Target) (service.Written, error) {
		ctx := c.Request().Context()
		if in.Checkpoint != nil {
			return h.store.ChangePartyStateWithCheckpoint(ctx, t, c.Param("iid"), c.Param("pid"), in.PartyStateChange, *in.Checkpoint)
		}
		events, err := h.store.ChangePartyState(ctx, t, c.Param("iid"), c.Param("pid"), in.PartyStateChange)
		return service.Written{Events: events}, err
	})
}

func (h *handlers) deleteParty(c echo.Context) error {
	return write(c, http.StatusOK, nil, func(t service.Target) ([]service.Event, error) {
		return h.store.DeleteParty(c.Request().Context(), t, c.Param("iid"), c.Param("pid"))
	})
}

func (h *handlers) replaceUserData(c echo.Context) error {
	return h.writeUserData(c, h.store.ReplaceUserData, h.store.ReplaceUserDataWithCheckpoint)
}

func (h *handlers) mergeUserData(c echo.Context) error {
	return h.writeUserData(c, h.store.MergeUserData, h.store.MergeUserDataWithCheckpoint)
}

type (
	userDataWrite        = func(ctx context.Context, t service.Target, iid string, in service.UserDataChange) ([]service.Event, error)
	userDataWriteChecked = func(ctx context.Context, t service.Target, iid string, in service.UserDataChange, ck service.NewCheckpoint) (service.Written, error)
)

// writeUserData: a user data change, with its checkpoint when the body carries one.
func (h *handlers) writeUserData(c echo.Context, plain userDataWrite, checked userDataWriteChecked) error {
	var in userDataChangeBody
	return writeWith(c, http.StatusOK, &in, func(t service.Target) (service.Written, error) {
		ctx := c.Request().Context()
		if in.Checkpoint != nil {
			return checked(ctx, t, c.Param("iid"), in.UserDataChange, *in.Checkpoint)
		}
		events, err := plain(ctx, t, c.Param("iid"), in.UserDataChange)
		return service.Written{Events: events}, err
	})
}

func (h *handlers) deleteUserDataKey(c echo.Context) error {
	origin := c.QueryParam("origin")
	if origin == "" {
		origin = service.OriginMedia
	}
	return write(c, http.StatusOK, nil, func(t service.Target) ([]service.Event, error) {
		return h.store.DeleteUserDataKey(c.Request().Context(), t, c.Param("iid"), c.Param("key"), origin)
	})
}

func (h *handlers) reportDivert(c echo.Context) error {
	var in service.PartyLeft
	return write(c, http.StatusOK, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.ReportDivert(c.Request().Context(), t, c.Param("iid"), in)
	})
}

func (h *handlers) reportSingleStepTransfer(c echo.Context) error {
	var in service.PartyLeft
	return write(c, http.StatusOK, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.ReportSingleStepTransfer(c.Request().Context(), t, c.Param("iid"), in)
	})
}

func (h *handlers) reportSingleStepConference(c echo.Context) error {
	var in service.Conference
	return write(c, http.StatusOK, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.ReportSingleStepConference(c.Request().Context(), t, c.Param("iid"), in)
	})
}

func (h *handlers) reportMerge(c echo.Context) error {
	var in service.Merge
	return write(c, http.StatusOK, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.ReportMerge(c.Request().Context(), t, c.Param("iid"), in)
	})
}

func (h *handlers) reportAbandoned(c echo.Context) error {
	var in service.Abandon
	return write(c, http.StatusOK, &in, func(t service.Target) ([]service.Event, error) {
		return h.store.ReportAbandoned(c.Request().Context(), t, c.Param("iid"), in)
	})
}
