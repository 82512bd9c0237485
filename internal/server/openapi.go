package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the machine-readable HTTP contract (OpenAPI 3.1), served at
// GET /openapi.json. openapi_test.go validates the answers of the running
// server against it, so it cannot drift from the handlers.
//
//go:embed openapi.json
var openAPI []byte

// handleOpenAPI serves GET /openapi.json.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(openAPI)
	})
}
