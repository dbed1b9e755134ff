package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

// putCheckpoint stores a new version of the session's checkpoint, fenced by X-Lease-Epoch
// like every write.
func (h *handlers) putCheckpoint(c echo.Context) error {
	var in service.NewCheckpoint
	t, err := decodeWrite(c, &in)
	if err != nil {
		return err
	}
	return h.respond(c, t.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		ck, err := st.WriteCheckpoint(ctx, t, in)
		return http.StatusOK, ck, err
	})
}

func (h *handlers) getCheckpoint(c echo.Context) error {
	ck, err := h.store.GetCheckpoint(c.Request().Context(), c.Param("sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ck)
}

func (h *handlers) checkpointHistory(c echo.Context) error {
	h2, err := h.store.CheckpointHistory(c.Request().Context(), c.Param("sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]service.Checkpoint{"checkpoints": h2})
}

// The bodies of the changes that may carry a checkpoint: the change's own fields, and the
// checkpoint to commit with it. Embedded, so the change's fields stay at the top level.
type partyStateChangeBody struct {
	service.PartyStateChange
	Checkpoint *service.NewCheckpoint `json:"checkpoint,omitempty"`
}

type userDataChangeBody struct {
	service.UserDataChange
	Checkpoint *service.NewCheckpoint `json:"checkpoint,omitempty"`
}
