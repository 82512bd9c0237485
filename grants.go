package refreshing

import (
	"fmt"
	"strings"
	"time"
)

// GrantType describes an OAuth 2.0 grant type of the token endpoint. The
// table of them (GrantTypes) is the one place a grant is described: client
// creation validates against it, Client.Allows reads it, the token endpoint
// checks its parameters and names it in the metadata's
// grant_types_supported, the CLI's help lists it, and a test holds
// openapi.json's enums to it. A new grant is a row here, a Service method
// and its handler (internal/server refuses to start a grant it has no
// handler for: a test says so).
type GrantType struct {
	// Name is the grant_type value (RFC 6749).
	Name string
	// Params are the form parameters the grant requires, in the order they
	// are checked: a missing one is invalid_request "<param> is required".
	Params []string
	// Implied grants may be used by every client; the others only by a
	// client created with them allowed (ClientSpec.Grants).
	Implied bool
	// RefreshToken: the grant's answer carries a refresh token.
	RefreshToken bool
	// Help says what the grant is for, in a few words (CLI help).
	Help string
}

// grantTypes is the table; GrantTypes hands out copies.
var grantTypes = []GrantType{
	{Name: GrantRefreshToken, Params: []string{"refresh_token"}, Implied: true, RefreshToken: true,
		Help: "exchange a refresh token for new tokens"},
	{Name: GrantPassword, Params: []string{"username", "password"}, RefreshToken: true,
		Help: "a username and password; first-party apps only (RFC 9700)"},
}

// GrantTypes returns every grant type the token endpoint serves, in the
// order the metadata and help list them.
func GrantTypes() []GrantType {
	out := make([]GrantType, len(grantTypes))
	for i, g := range grantTypes {
		g.Params = append([]string(nil), g.Params...)
		out[i] = g
	}
	return out
}

// LookupGrantType returns the grant type named name.
func LookupGrantType(name string) (GrantType, bool) {
	for _, g := range grantTypes {
		if g.Name == name {
			return g, true
		}
	}
	return GrantType{}, false
}

// GrantNames returns the names of the grant types: all of them, or with
// optional set only those a client must be allowed (not Implied).
func GrantNames(optional bool) []string {
	var out []string
	for _, g := range grantTypes {
		if !optional || !g.Implied {
			out = append(out, g.Name)
		}
	}
	return out
}

// grantChoice says the grant names for a message: `"password" or
// "refresh_token"`, optional grants first.
func grantChoice() string {
	names := GrantNames(true)
	for _, g := range grantTypes {
		if g.Implied {
			names = append(names, g.Name)
		}
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if len(quoted) < 2 {
		return strings.Join(quoted, "")
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// ExpiresIn is RFC 6749's expires_in for g at now: the remaining lifetime
// of the access token g carries, from its own expiry (not from the
// settings, which may have changed since it was signed), in whole seconds
// rounded up.
func (g *Grant) ExpiresIn(now time.Time) int64 {
	d := g.AccessExpiresAt.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
