// Package bridge is Refreshing's client of a paired Strapi app: the calls
// Refreshing makes to the "refreshing" Strapi plugin (integrations/strapi),
// authenticated by the shared bridge secret. It implements
// refreshing.ProfileSync.
package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// ProfilesPath is where the plugin takes profiles, under Strapi's base URL.
const ProfilesPath = "/api/refreshing/bridge/profiles"

// Client calls a paired Strapi app.
type Client struct {
	base   string // Strapi's base URL, without a trailing slash
	secret string
	http   *http.Client
}

var _ refreshing.ProfileSync = (*Client)(nil)

// New returns a Client of the Strapi app at baseURL (http or https), which
// shares secret (at least refreshing.MinBridgeSecretLen bytes). A nil hc
// uses a client with a 10-second timeout.
func New(baseURL, secret string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bridge: Strapi's URL %q is not an http(s) URL with a host", baseURL)
	}
	if len(secret) < refreshing.MinBridgeSecretLen {
		return nil, fmt.Errorf("bridge: the bridge secret is %d bytes long; at least %d are required", len(secret), refreshing.MinBridgeSecretLen)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), secret: secret, http: hc}, nil
}

// profile is the JSON the plugin takes.
type profile struct {
	ID         int64                      `json:"id"`
	DocumentID string                     `json:"documentId"`
	Username   string                     `json:"username"`
	Email      string                     `json:"email"`
	Confirmed  bool                       `json:"confirmed"`
	Blocked    bool                       `json:"blocked"`
	Fields     map[string]json.RawMessage `json:"fields"`
}

// strapiError is Strapi's error shape, as the plugin answers.
type strapiError struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Details struct {
			Errors []struct {
				Path    []string `json:"path"`
				Message string   `json:"message"`
			} `json:"errors"`
		} `json:"details"`
	} `json:"error"`
}

// SaveProfile implements refreshing.ProfileSync.
func (c *Client) SaveProfile(ctx context.Context, p refreshing.Profile) error {
	if p.Fields == nil {
		p.Fields = map[string]json.RawMessage{}
	}
	body, err := json.Marshal(profile{ID: p.UserID, DocumentID: p.DocumentID, Username: p.Username, Email: p.Email,
		Confirmed: p.Confirmed, Blocked: p.Blocked, Fields: p.Fields})
	if err != nil {
		return fmt.Errorf("bridge: encode profile: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+ProfilesPath, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", refreshing.ErrProfileSync, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.secret)
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL, never the secret (it is in a header).
		return fmt.Errorf("%w: %v", refreshing.ErrProfileSync, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusConflict:
		return refreshing.ErrTaken
	case resp.StatusCode == http.StatusBadRequest:
		var se strapiError
		if json.Unmarshal(raw, &se) == nil {
			for _, e := range se.Error.Details.Errors {
				if len(e.Path) > 0 && e.Message != "" {
					return refreshing.Invalid(e.Path[0], "%s", e.Message)
				}
			}
			if se.Error.Message != "" {
				return refreshing.Invalid("body", "%s", se.Error.Message)
			}
		}
		return refreshing.Invalid("body", "Strapi refused the profile")
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: Strapi refused the bridge secret (status %d): REFRESHING_BRIDGE_SECRET differs between the two sides", refreshing.ErrProfileSync, resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s answered 404: is the refreshing plugin installed and enabled in Strapi?", refreshing.ErrProfileSync, c.base+ProfilesPath)
	}
	return fmt.Errorf("%w: status %d", refreshing.ErrProfileSync, resp.StatusCode)
}
