package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

// The routes behind the console's pages that no other route answered: the overview, and a
// session's requests and owners.

// overview: GET /v1/overview, the cluster at a glance (service.Overview).
func (h *handlers) overview(c echo.Context) error {
	o, err := h.store.Overview(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// maxSessionRequestsPage is the largest page of GET /v1/sessions/{sid}/requests.
const maxSessionRequestsPage = 1000

// listSessionRequests: GET /v1/sessions/{sid}/requests?state=&after=&limit=.
func (h *handlers) listSessionRequests(c echo.Context) error {
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, 100, maxSessionRequestsPage)
	if err != nil {
		return err
	}
	page, err := h.store.ListSessionRequests(c.Request().Context(), c.Param("sid"), c.QueryParam("state"), after, int(limit))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// sessionOwners: GET /v1/sessions/{sid}/owners, who held the session at each epoch.
func (h *handlers) sessionOwners(c echo.Context) error {
	owners, err := h.store.SessionOwners(c.Request().Context(), c.Param("sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]service.Ownership{"owners": owners})
}
