package api

import (
	_ "embed"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the API's own description, kept true by a test that checks every route is in
// it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

var openAPIJSON = mustJSON(openAPIYAML)

func mustJSON(y []byte) []byte {
	var doc any
	if err := yaml.Unmarshal(y, &doc); err != nil {
		panic("api: openapi.yaml: " + err.Error())
	}
	j, err := json.Marshal(doc)
	if err != nil {
		panic("api: openapi.yaml as JSON: " + err.Error())
	}
	return j
}

func serveOpenAPIJSON(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIJSON)
}

func serveOpenAPIYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPIYAML)
}
