package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

// IdempotencyHeader names a write so that a retry of it is answered with the first answer and
// writes nothing (docs/api.md, "Idempotent writes").
const IdempotencyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer that is the stored first answer to an Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// maxIdempotencyKey is the longest key taken, in bytes.
const maxIdempotencyKey = 255

// sessionIDSpace is the UUID namespace of the session ids derived from an Idempotency-Key.
var sessionIDSpace = uuid.MustParse("5b0f6a4e-2d7c-4e53-9a61-3f1f0c8e2a17")

// requestHashKey is where hashIdempotentRequest leaves a request's hash in its echo context.
const requestHashKey = "ixnstore.request_hash"

// hashIdempotentRequest hashes a request sent with an Idempotency-Key before its body is
// read: the method, path, query, lease epoch and body, all that makes it the request it is.
// The body is put back for the handler. Requests without the header pass untouched.
func hashIdempotentRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		key := r.Header.Get(IdempotencyHeader)
		if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			return next(c)
		}
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			return badRequest("malformed_header", IdempotencyHeader+" must be 1 to 255 printable ASCII characters")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var he *echo.HTTPError
			if errors.As(err, &he) {
				return he // the body limit
			}
			return badRequest("malformed_json", "reading the request body: "+err.Error())
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		for _, part := range []string{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get(EpochHeader)} {
			h.Write([]byte(part))
			h.Write([]byte{0})
		}
		h.Write(body)
		c.Set(requestHashKey, h.Sum(nil))
		return next(c)
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// respond answers a write on session sid: run makes the answer (status and value) with the
// store it is given. Without an Idempotency-Key run gets the Store itself and the write is the
// single statement it always is. With one, run gets a Store bound to the transaction that
// keeps the key and the answer (service.Store.Idempotent); a retry gets the stored answer,
// byte for byte, marked Idempotent-Replayed.
func (h *handlers) respond(c echo.Context, sid string, run func(ctx context.Context, st *service.Store) (int, any, error)) error {
	ctx := c.Request().Context()
	hash, _ := c.Get(requestHashKey).([]byte)
	if hash == nil {
		status, v, err := run(ctx, h.store)
		if err != nil {
			return err
		}
		return c.JSON(status, v)
	}
	key := service.IdempotencyKey{SessionID: sid, Key: c.Request().Header.Get(IdempotencyHeader), RequestHash: hash}
	answer, replayed, err := h.store.Idempotent(ctx, key, func(ctx context.Context, st *service.Store) (service.Answer, error) {
		status, v, err := run(ctx, st)
		var refusal *service.RequestRefusal
		switch {
		case errors.As(err, &refusal):
			// A refused action request is stored, with its error event: an answer to keep.
			status, v = classify(err)
		case err != nil:
			return service.Answer{}, err
		}
		body, err := json.Marshal(v)
		return service.Answer{Status: status, Body: body}, err
	})
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set(ReplayedHeader, "true")
	}
	return c.JSONBlob(answer.Status, answer.Body)
}
