package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/refreshing/refreshing"
	"golang.org/x/oauth2"
)

// GitHub is plain OAuth 2.0: no ID token, no nonce. The identity is GitHub's
// numeric user id (stable across renames), and the email is the account's
// primary one, only if GitHub says it is verified (GET /user/emails).

func (p *Provider) githubOAuth2(callback string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint:    oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: callback, Scopes: p.cfg.Scopes}
}

func (p *Provider) githubExchange(ctx context.Context, callback, code, verifier string) (refreshing.ExternalIdentity, error) {
	var id refreshing.ExternalIdentity
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.githubOAuth2(callback).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return id, fmt.Errorf("%w: token endpoint: %s", refreshing.ErrProviderToken, re.ErrorCode)
		}
		return id, fmt.Errorf("%w: token endpoint: %w", ErrDiscovery, err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	}
	if err := p.githubGet(ctx, tok, "/user", &user); err != nil {
		return id, err
	}
	if user.ID <= 0 {
		return id, fmt.Errorf("%w: GitHub user without an id", refreshing.ErrProviderToken)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := p.githubGet(ctx, tok, "/user/emails", &emails); err != nil {
		return id, err
	}
	id = refreshing.ExternalIdentity{Provider: p.cfg.Name, Subject: strconv.FormatInt(user.ID, 10),
		Username: user.Login, LinkByEmail: p.cfg.LinkByEmail}
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
		}
	}
	return id, nil
}

// githubGet reads one JSON document of GitHub's REST API with tok.
func (p *Provider) githubGet(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	tok.SetAuthHeader(req)
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GitHub API: %w", ErrDiscovery, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: GitHub API: %w", ErrDiscovery, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GitHub API %s: status %d", refreshing.ErrProviderToken, path, res.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GitHub API %s: %w", refreshing.ErrProviderToken, path, err)
	}
	return nil
}
