package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// decodeBody reads one JSON value into v: unknown fields, wrong types and trailing data are
// refused, so that a typo is an error and not a silently ignored field.
//
// What is not the JSON the schema says answers 400 malformed_json: not JSON, not an object,
// a field of the wrong JSON type (hints that are not an object, a number where a string is
// due), a NUL or a lone surrogate in a string, nesting deeper than maxJSONDepth. A body of the
// right shape whose values break a rule answers 422 invalid_value: a number beyond float64
// here, the rest in the service's checks. A null field is the field left out.
func decodeBody(c echo.Context, v any, required bool) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return badRequest("malformed_json", "reading the request body: "+err.Error())
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if required {
			return badRequest("malformed_json", "a JSON request body is required")
		}
		return nil
	}
	problem := scanJSON(body)
	if problem != nil && problem.status == http.StatusBadRequest {
		return problem.err("malformed_json", "")
	}
	if trimmed[0] != '{' {
		return badRequest("malformed_json", "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed_json", describeJSONError(err))
	}
	if dec.More() {
		return badRequest("malformed_json", "the request body has data after its JSON value")
	}
	if field := misshapen(reflect.ValueOf(v), ""); field != "" {
		return badRequest("malformed_json", field+" must be a JSON object")
	}
	if problem != nil {
		return problem.err("malformed_json", "")
	}
	return nil
}

// misshapen names the first field of v tagged shape:"object" whose JSON value is neither an
// object nor null: encoding/json takes any JSON into a json.RawMessage, so the type the
// document gives such a field is checked here.
func misshapen(v reflect.Value, prefix string) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if !holdsShaped(v.Type()) {
		return ""
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			path := prefix
			if !f.Anonymous || name != "" {
				if name == "" {
					name = f.Name
				}
				path = prefix + name
			}
			if f.Type == rawMessageType {
				if f.Tag.Get("shape") == "object" && !isObjectOrNull(v.Field(i).Bytes()) {
					return path
				}
				continue
			}
			sub := path
			if sub != prefix {
				sub += "."
			}
			if bad := misshapen(v.Field(i), sub); bad != "" {
				return bad
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if bad := misshapen(v.Index(i), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i)); bad != "" {
				return bad
			}
		}
	}
	return ""
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// shapedTypes caches holdsShaped by type: a body's type is walked for its shape tags once, not
// on every request.
var shapedTypes sync.Map // reflect.Type → bool

// holdsShaped tells whether a value of type t can hold a field tagged shape:"object", at any
// depth; misshapen walks only the values that can.
func holdsShaped(t reflect.Type) bool {
	if known, ok := shapedTypes.Load(t); ok {
		return known.(bool)
	}
	shapedTypes.Store(t, false) // a type that holds itself is answered while it is worked out
	holds := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		holds = holdsShaped(t.Elem())
	case reflect.Interface:
		holds = true // what it holds is known only from the value
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && (f.Tag.Get("shape") != "" || holdsShaped(f.Type)) {
				holds = true
				break
			}
		}
	}
	shapedTypes.Store(t, holds)
	return holds
}

func isObjectOrNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || t[0] == '{' || bytes.Equal(t, []byte("null"))
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
	if err != nil {
		return 0, badRequest("malformed_query", name+" must be a whole number")
	}
	if n < 0 {
		return 0, &apiError{status: http.StatusUnprocessableEntity, code: "invalid_value", message: name + " must be 0 or more"}
	}
	return n, nil
}

// queryLimit reads ?limit=, a page size from 1 to max as the document gives it; out of that
// range is 422, not a silently different page.
func queryLimit(c echo.Context, def, max int64) (int64, error) {
	n, err := queryInt(c, "limit", def)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > max {
		return 0, &apiError{status: http.StatusUnprocessableEntity, code: "invalid_value",
			message: fmt.Sprintf("limit must be from 1 to %d", max)}
	}
	return n, nil
}

// finiteFloat tells whether a JSON number fits a float64, the number type of most JSON
// decoders; text that is not a number is the decoder's to refuse.
func finiteFloat(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil || !math.IsInf(f, 0)
}
