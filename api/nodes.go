package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

func (h *handlers) registerNode(c echo.Context) error {
	var in service.NodeRegistration
	if err := decodeBody(c, &in, true); err != nil {
		return err
	}
	n, err := h.store.RegisterNode(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}

func (h *handlers) heartbeat(c echo.Context) error {
	n, err := h.store.Heartbeat(c.Request().Context(), c.Param("nid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}

func (h *handlers) listNodes(c echo.Context) error {
	nodes, err := h.store.ListNodes(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]service.Node{"nodes": nodes})
}

// handover names the node that is to take sessions over; none: nobody, for now.
type handover struct {
	ToNode *string `json:"to_node,omitempty"`
}

// leaveNode: a node shuts down in order and lets its sessions go.
func (h *handlers) leaveNode(c echo.Context) error {
	var in handover
	if err := decodeBody(c, &in, false); err != nil {
		return err
	}
	sessions, err := h.store.LeaveNode(c.Request().Context(), c.Param("nid"), in.ToNode)
	if err != nil {
		return err
	}
	if sessions == nil {
		sessions = []service.Session{}
	}
	return c.JSON(http.StatusOK, map[string][]service.Session{"sessions": sessions})
}

func (h *handlers) claimSession(c echo.Context) error {
	var in struct {
		NodeID string `json:"node_id"`
	}
	if err := decodeBody(c, &in, true); err != nil {
		return err
	}
	return h.respond(c, c.Param("sid"), func(ctx context.Context, st *service.Store) (int, any, error) {
		out, err := st.ClaimSession(ctx, c.Param("sid"), in.NodeID)
		return http.StatusOK, nonNilEvents(out), err
	})
}

func (h *handlers) releaseSession(c echo.Context) error {
	t, err := target(c)
	if err != nil {
		return err
	}
	var in handover
	if err := decodeBody(c, &in, false); err != nil {
		return err
	}
	return h.respond(c, t.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		out, err := st.ReleaseSession(ctx, t, in.ToNode)
		return http.StatusOK, nonNilEvents(out), err
	})
}

func nonNilEvents(t service.Takeover) service.Takeover {
	if t.Events == nil {
		t.Events = []service.Event{}
	}
	return t
}

// listOrphanedSessions: one page of the orphaned sessions, by id, after ?after= (the next
// cursor of the page before), at most ?limit=.
func (h *handlers) listOrphanedSessions(c echo.Context) error {
	limit, err := queryLimit(c, service.MaxSessionsPage, service.MaxSessionsPage)
	if err != nil {
		return err
	}
	page, err := h.store.ListOrphanedSessions(c.Request().Context(), c.QueryParam("after"), int(limit))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// listSessions: one page of the sessions a node owns (?owner_node=, required), of one state
// (?state=) when given, paged like the orphans.
func (h *handlers) listSessions(c echo.Context) error {
	limit, err := queryLimit(c, service.MaxSessionsPage, service.MaxSessionsPage)
	if err != nil {
		return err
	}
	page, err := h.store.ListNodeSessions(c.Request().Context(), c.QueryParam("owner_node"), c.QueryParam("state"),
		c.QueryParam("after"), int(limit))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
