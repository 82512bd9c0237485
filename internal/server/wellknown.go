package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/refreshing/refreshing"
	"github.com/refreshing/refreshing/internal/dpop"
)

// handleJWKS serves GET /.well-known/jwks.json: the public keys that verify
// access tokens (RFC 7517), cacheable for a tenth of the access-token
// lifetime (Service.JWKSMaxAge says why). In HS256 mode the set is empty:
// the shared secret is never published.
func (s *server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		maxAge, err := s.svc.JWKSMaxAge(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int64(maxAge.Seconds())))
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.svc.JWKS())
	})
}

// metadata is the RFC 8414 authorization server metadata.
type metadata struct {
	Issuer                           string   `json:"issuer"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	GrantTypes                       []string `json:"grant_types_supported"`
	ResponseTypes                    []string `json:"response_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgs           []string `json:"access_token_signing_alg_values_supported"`
	DPoPSigningAlgs                  []string `json:"dpop_signing_alg_values_supported"` // RFC 9449 section 5.1
}

// handleMetadata serves GET /.well-known/oauth-authorization-server (RFC
// 8414). Endpoints are named under the configured issuer, the URL clients
// reach this server at. There is no authorization endpoint, so no response
// type is supported; access_token_signing_alg_values_supported (not in RFC
// 8414) names the JWT algorithm of the access tokens.
func (s *server) handleMetadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := strings.TrimSuffix(s.svc.Issuer(), "/")
		w.Header().Set("Cache-Control", "public, max-age=300")
		writeJSON(w, http.StatusOK, metadata{
			Issuer:                           s.svc.Issuer(),
			TokenEndpoint:                    iss + "/oauth/token",
			JWKSURI:                          iss + "/.well-known/jwks.json",
			RevocationEndpoint:               iss + "/oauth/revoke",
			IntrospectionEndpoint:            iss + "/oauth/introspect",
			GrantTypes:                       refreshing.GrantNames(false),
			ResponseTypes:                    []string{},
			TokenEndpointAuthMethods:         []string{"client_secret_basic", "client_secret_post", "none"},
			RevocationEndpointAuthMethods:    []string{"client_secret_basic", "client_secret_post", "none"},
			IntrospectionEndpointAuthMethods: []string{"client_secret_basic", "client_secret_post"},
			AccessTokenSigningAlgs:           []string{s.svc.SigningAlgorithm()},
			DPoPSigningAlgs:                  dpop.AlgNames(),
		})
	})
}
