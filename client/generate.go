package client

// The routes, their parameters and the request and answer types come from the API's own
// description; nothing here restates a path.
//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../api/openapi.yaml
