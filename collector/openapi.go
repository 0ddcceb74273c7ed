package collector

import (
	_ "embed"
	"net/http"

	"github.com/krakend-usage/krakend-usage/collector/internal/httpx"
)

// openapiDoc is the OpenAPI 3.1 document of the intake and the /api/*
// routes, served at /api/openapi.yaml. openapi_test.go checks real
// answers of both backends against it, and that every route registered
// is in it.
//
//go:embed openapi.yaml
var openapiDoc []byte

// handleOpenAPI serves GET /api/openapi.yaml.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadOnly(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(openapiDoc) // a write error is the client gone
	return nil
}
