package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

// The one input rule of the HTTP layer (docs/api.md, "Input rules"): whatever a request
// carries is checked here, before a handler or the database sees it.
//
//   - A NUL character or bytes that are not UTF-8, in the path, a query value, a header
//     ixnstore reads or a JSON body (raw, or escaped as \u0000 or a lone surrogate in a
//     string): 400. PostgreSQL cannot store a NUL in text or jsonb and would answer an error
//     late; invalid UTF-8 would be stored as U+FFFD, changed without a word.
//   - A path parameter that names a thing (sid, iid, pid, rid, nid) must follow the id rule of
//     the schema's ixn_id domain (service.CheckID): 422 otherwise, as the same id in a body.
//   - A JSON body: see decodeBody (400 for what is not the JSON the schema says, 422 for a
//     value the schema allows by type but the rules do not).

// headersRead are the request headers whose values ixnstore reads, each with its key in the
// header map (canonical form, worked out once rather than per request).
var headersRead = func() (hs []struct{ name, key string }) {
	for _, name := range []string{EpochHeader, "Last-Event-ID", "Idempotency-Key", echo.HeaderAccept} {
		hs = append(hs, struct{ name, key string }{name, http.CanonicalHeaderKey(name)})
	}
	return hs
}()

// textParams are the path parameters that are free text rather than ids; every other path
// parameter is an id, so a new route's parameter is checked as one unless listed here.
var textParams = map[string]bool{"key": true}

// idQueryParams are the query parameters that name a thing by its id.
var idQueryParams = []string{"session_id", "node_id", "owner_node"}

// checkInputs applies the rule above to the path, the query and the headers of every request.
func checkInputs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := checkRequestInputs(c); err != nil {
			return err
		}
		return next(c)
	}
}

func checkRequestInputs(c echo.Context) error {
	r := c.Request()
	if problem := textProblem(r.URL.Path); problem != "" {
		return badRequest("malformed_path", "the path "+problem)
	}
	names, values := c.ParamNames(), slices.Clone(c.ParamValues())
	for i, name := range names {
		if i >= len(values) {
			break
		}
		v := values[i]
		if strings.IndexByte(v, '%') >= 0 {
			var err error
			if v, err = url.PathUnescape(v); err != nil {
				return badRequest("malformed_path", "path parameter "+name+" is not a valid escaped value")
			}
		}
		if problem := textProblem(v); problem != "" {
			return badRequest("malformed_path", "path parameter "+name+" "+problem)
		}
		if !textParams[name] {
			if err := service.CheckID(name, v); err != nil {
				return err
			}
		}
		values[i] = v
	}
	// The handlers read the values as they were meant, escapes undone.
	c.SetParamValues(values...)
	if err := checkQuery(r.URL.RawQuery); err != nil {
		return err
	}
	for _, h := range headersRead {
		for _, v := range r.Header[h.key] {
			if problem := textProblem(v); problem != "" {
				return badRequest("malformed_header", h.name+" "+problem)
			}
		}
	}
	return nil
}

// checkQuery applies the rule to the query string; most writes have none.
func checkQuery(raw string) error {
	if raw == "" {
		return nil
	}
	query, err := url.ParseQuery(raw)
	if err != nil {
		return badRequest("malformed_query", "the query is not valid: "+err.Error())
	}
	for name, vs := range query {
		if problem := textProblem(name); problem != "" {
			return badRequest("malformed_query", "a query parameter name "+problem)
		}
		for _, v := range vs {
			if problem := textProblem(v); problem != "" {
				return badRequest("malformed_query", "query parameter "+name+" "+problem)
			}
		}
	}
	for _, name := range idQueryParams {
		if v := query.Get(name); v != "" {
			if err := service.CheckID(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// textProblem says what is wrong with s as text ixnstore can store, or "" when nothing is.
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "holds a NUL character"
	}
	return ""
}

// maxJSONDepth is how deeply objects and arrays may nest in a request body. Nothing ixnstore
// stores needs more; a deeper body costs stack and time in every JSON parser on its way.
const maxJSONDepth = 64

// jsonProblem is what scanJSON finds wrong with a JSON text that may be valid JSON.
type jsonProblem struct {
	status  int
	message string
}

// scanJSON checks what encoding/json lets pass in a JSON text: escaped NULs and lone
// surrogates in strings (which it turns into U+FFFD), nesting deeper than maxJSONDepth, and
// numbers beyond float64 (which PostgreSQL's numeric would store and clients decoding
// float64 could not read back). Raw bytes that are not UTF-8 are found too. It reads a text
// that is not JSON without harm; the decoder says what is wrong with it.
func scanJSON(b []byte) *jsonProblem {
	if !utf8.Valid(b) {
		return &jsonProblem{http.StatusBadRequest, "the request body is not valid UTF-8"}
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case ch == '{' || ch == '[':
			depth++
			if depth > maxJSONDepth {
				return &jsonProblem{http.StatusBadRequest, fmt.Sprintf("the request body nests objects and arrays deeper than %d levels", maxJSONDepth)}
			}
		case ch == '}' || ch == ']':
			depth--
		case ch == '"':
			end, p := scanString(b, i+1)
			if p != nil {
				return p
			}
			i = end
		case ch == '-' || (ch >= '0' && ch <= '9'):
			end := i + 1
			for end < len(b) && strings.IndexByte("0123456789.eE+-", b[end]) >= 0 {
				end++
			}
			if !finiteFloat(string(b[i:end])) {
				return &jsonProblem{http.StatusUnprocessableEntity, fmt.Sprintf("the number %.40s is beyond what a 64-bit floating-point number holds", b[i:end])}
			}
			i = end - 1
		}
	}
	return nil
}

// scanString reads a JSON string from b[i:] (after its opening quote) and returns the index
// of its closing quote.
func scanString(b []byte, i int) (int, *jsonProblem) {
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, nil
		case 0:
			return i, &jsonProblem{http.StatusBadRequest, "a string of the request body holds a NUL character"}
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' && i+6 <= len(b) {
				r, ok := hex4(b[i+2 : i+6])
				switch {
				case !ok:
				case r == 0:
					return i, &jsonProblem{http.StatusBadRequest, `a string of the request body holds a NUL character (\u0000)`}
				case r >= 0xD800 && r <= 0xDBFF:
					// A high surrogate must be followed by an escaped low one.
					if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
						return i, loneSurrogate()
					}
					low, ok := hex4(b[i+8 : i+12])
					if !ok || low < 0xDC00 || low > 0xDFFF {
						return i, loneSurrogate()
					}
					i += 6
				case r >= 0xDC00 && r <= 0xDFFF:
					return i, loneSurrogate()
				}
				i += 5
				continue
			}
			i++ // the escaped character
		}
	}
	return i, nil
}

// err is the problem as an answer: 400 with code400, or 422 invalid_value.
func (p *jsonProblem) err(code400, prefix string) error {
	code := "invalid_value"
	if p.status == http.StatusBadRequest {
		code = code400
	}
	return &apiError{status: p.status, code: code, message: prefix + p.message}
}

func loneSurrogate() *jsonProblem {
	return &jsonProblem{http.StatusBadRequest, "a string of the request body holds a lone UTF-16 surrogate escape, which is not a character"}
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
