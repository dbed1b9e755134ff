package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/labstack/echo/v4"
)

// decodeBody reads one JSON value into v: unknown fields, wrong types and trailing data are
// refused, so that a typo is an error and not a silently ignored field.
func decodeBody(c echo.Context, v any, required bool) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return badRequest("malformed_json", "reading the request body: "+err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return badRequest("malformed_json", "a JSON request body is required")
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed_json", describeJSONError(err))
	}
	if dec.More() {
		return badRequest("malformed_json", "the request body has data after its JSON value")
	}
	return nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("the request body is not valid JSON (at byte %d): %v", syntax.Offset, err)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must be a JSON %s, not %s", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
		}
		return fmt.Sprintf("the request body must be a JSON %s, not %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body is not valid JSON: it ends too early"
	default:
		return "the request body is not valid JSON: " + err.Error()
	}
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "ptr":
		return "value"
	default:
		return "number"
	}
}

// EpochHeader carries the lease epoch a routing node holds for the session it writes to.
const EpochHeader = "X-Lease-Epoch"

func epochOf(c echo.Context) (*int64, error) {
	h := c.Request().Header.Get(EpochHeader)
	if h == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(h, 10, 64)
	if err != nil || n < 1 {
		return nil, badRequest("malformed_header", EpochHeader+" must be a positive whole number")
	}
	return &n, nil
}

func queryInt(c echo.Context, name string, def int64) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("malformed_query", name+" must be a whole number, 0 or more")
	}
	return n, nil
}
