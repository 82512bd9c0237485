package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/refreshing/refreshing"
)

// The sign-in providers screen (docs/oidc.md): the providers in force, those
// of REFRESHING_OIDC_PROVIDERS read-only, and a form that adds or changes a
// provider saved at run time. A client secret is never shown back: the
// form's secret field is blank, and left blank it keeps the stored one.

// providersData is the providers screen.
type providersData struct {
	Providers []refreshing.ConfiguredProvider // Redacted
	// Form is the provider being added or edited, without its secret.
	Form    refreshing.ConfiguredProvider
	Editing bool // Form is a saved provider, opened with ?edit=name
}

// providers serves GET /admin/providers[?edit=name].
func (a *adminUI) providers(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	a.renderProviders(w, r, auth, http.StatusOK, "", &providersData{}, r.URL.Query().Get("edit"))
}

// renderProviders shows the screen with d's form, or with the form of the
// saved provider edit (404 if there is none).
func (a *adminUI) renderProviders(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth, status int, errMsg string, d *providersData, edit string) {
	ps, err := a.s.svc.SignInProviders(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, p := range ps {
		p = p.Redacted()
		d.Providers = append(d.Providers, p)
		switch {
		case p.Source != refreshing.ProviderFromSettings:
		case edit != "" && p.Name == edit:
			d.Form, d.Editing = p, true
		case d.Editing && p.Name == d.Form.Name:
			d.Form.SecretSet = p.SecretSet // a refused edit, shown again as typed
		}
	}
	if edit != "" && !d.Editing {
		status, errMsg = http.StatusNotFound, "No saved sign-in provider is called "+edit+"."
	}
	if d.Form.Type == "" {
		d.Form.Type = refreshing.ProviderOIDC
	}
	a.render(w, r, status, "providers", view{Title: "Sign-in providers", Nav: "providers", Admin: auth.Admin.Email,
		Notice: notice(r), Error: errMsg, Data: d})
}

// saveProvider serves POST /admin/providers: add or replace a saved provider.
func (a *adminUI) saveProvider(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c := providerFromForm(f)
	p, err := a.s.svc.SaveSignInProvider(r.Context(), c)
	if err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			// The form as typed, without the secret.
			c.ClientSecret = ""
			a.renderProviders(w, r, auth, status, "Not saved: "+msg, &providersData{
				Form: refreshing.ConfiguredProvider{ProviderConfig: c}, Editing: f.Get("editing") == "yes"}, "")
		})
		return
	}
	done := "providersaved"
	if a.s.checkProvider(r, p.ProviderConfig) != nil {
		done = "providerunreachable"
	}
	back(w, r, "/admin/providers", done, 0)
}

// providerFromForm reads the form's fields: scopes separated by spaces,
// front-end pages by spaces or lines. Empty fields take their defaults
// (refreshing.CheckProvider).
func providerFromForm(f url.Values) refreshing.ProviderConfig {
	c := refreshing.ProviderConfig{
		Name: strings.TrimSpace(f.Get("name")), Type: f.Get("type"),
		ClientID: strings.TrimSpace(f.Get("clientId")), ClientSecret: f.Get("clientSecret"),
		CallbackURL: strings.TrimSpace(f.Get("callbackUrl")), RedirectWith: f.Get("redirectWith"),
		LinkByEmail: f.Get("linkByEmail") == "on",
		Scopes:      strings.Fields(f.Get("scopes")), RedirectURLs: strings.Fields(f.Get("redirectUrls")),
	}
	// One form for every type: the fields of the other types are ignored.
	if c.Type == refreshing.ProviderGitHub {
		c.AuthURL, c.TokenURL, c.APIURL = strings.TrimSpace(f.Get("authUrl")), strings.TrimSpace(f.Get("tokenUrl")), strings.TrimSpace(f.Get("apiUrl"))
	} else {
		c.Issuer = strings.TrimSpace(f.Get("issuer"))
	}
	return c
}

// deleteProvider serves POST /admin/providers/{name}/delete.
func (a *adminUI) deleteProvider(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, err := formValues(w, r)
	if err == nil && f.Get("confirm") != "yes" {
		err = refreshing.Invalid("confirm", "tick the box to confirm the deletion")
	}
	if err == nil {
		err = a.s.svc.DeleteSignInProvider(r.Context(), r.PathValue("name"))
	}
	if err != nil {
		a.refused(w, r, err, func(status int, msg string) {
			a.renderProviders(w, r, auth, status, msg, &providersData{}, "")
		})
		return
	}
	back(w, r, "/admin/providers", "providerdeleted", 0)
}
