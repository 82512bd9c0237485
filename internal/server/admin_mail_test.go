package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// TestAdminMail: the mail screens say when no mail server is configured,
// edit and preview the templates, list the outbox, and the user page
// confirms, sets a password and resends a confirmation.
func TestAdminMail(t *testing.T) {
	t.Run("NoMailServer", func(t *testing.T) {
		e := start(t, setup{})
		c := e.admin()
		c.get("/admin/mail").wantPage(t, http.StatusOK, "No mail server is configured")
		c.get("/admin/mail/settings").wantPage(t, http.StatusOK, "No mail server is configured")
		c.get("/admin/settings").wantPage(t, http.StatusOK, "No mail server is configured")
	})

	e := start(t, setup{settings: func(s *refreshing.Settings) { s.EmailConfirmation = true }, mailer: unsentMailer{}})
	c := e.admin()
	c.get("/admin/settings").wantPage(t, http.StatusOK, "mail settings and templates")
	c.get("/admin/mail/settings").wantPage(t, http.StatusOK, "Reset your {{.ServiceName}} password")

	form := func(subject, html string) url.Values {
		d := refreshing.DefaultMailTemplate(refreshing.MailEmailConfirmation)
		return url.Values{
			"serviceName": {"Acme <b>Accounts</b>"}, "resetPasswordURL": {"https://app.example.com/reset"},
			"confirmationRedirect": {"/welcome"}, "resetCodeTTL": {"30m"}, "confirmationCodeTTL": {"48h"},
			"rateLimitPerAddress": {"3"},
			"resetSubject":        {subject}, "resetText": {"Code {{.Code}} or {{.Link}}"}, "resetHTML": {html},
			"confirmationSubject": {d.Subject}, "confirmationText": {d.Text}, "confirmationHTML": {d.HTML},
			"action": {"preview"},
		}
	}
	t.Run("Preview", func(t *testing.T) {
		f := form("Reset for {{.Username}}", `<a href="{{.Link}}">reset</a> {{.ServiceName}}`)
		r := c.post("/admin/mail/settings", f, nil)
		// The preview shows the HTML source, escaped once more by the page.
		r.wantPage(t, http.StatusOK, "Reset for ada", "Code EXAMPLE-CODE or https://app.example.com/reset?code=EXAMPLE-CODE",
			"Acme &amp;lt;b&amp;gt;Accounts&amp;lt;/b&amp;gt;", "nothing is saved yet")
		if st, _ := e.svc.Settings(t.Context()); st.Mail.ServiceName != "Refreshing" {
			t.Errorf("a preview saved the settings: %q", st.Mail.ServiceName)
		}
	})
	t.Run("InvalidTemplate", func(t *testing.T) {
		f := form("Reset {{.Nope}}", "x")
		f.Set("action", "save")
		c.post("/admin/mail/settings", f, nil).wantPage(t, http.StatusBadRequest, "Not saved: resetTemplateSubject")
	})
	t.Run("Save", func(t *testing.T) {
		f := form("Reset for {{.Username}}", `<p>{{.Link}}</p>`)
		f.Set("action", "save")
		if r := c.post("/admin/mail/settings", f, nil); r.status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", r.status, r.body)
		}
		st, err := e.svc.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		m := st.Mail
		if m.ServiceName != "Acme <b>Accounts</b>" || m.ResetCodeTTL.String() != "30m0s" || m.RateLimitPerAddress != 3 ||
			m.Reset.Subject != "Reset for {{.Username}}" || m.Confirmation != (refreshing.MailTemplate{}) {
			t.Errorf("saved %+v (a template equal to the default is stored empty)", m)
		}
	})

	ada := e.register("ada")
	id := ftoa(ada.id)
	t.Run("UserActions", func(t *testing.T) {
		c.get("/admin/users/"+id).wantPage(t, http.StatusOK, "Confirm email", "Resend confirmation mail", "Set password")
		if r := c.post("/admin/users/"+id+"/mail/resend-confirmation", url.Values{}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("resend: %d %s", r.status, r.body)
		}
		c.get("/admin/mail").wantPage(t, http.StatusOK, "ada@example.com", "email-confirmation", "Pending 2")
		if r := c.post("/admin/users/"+id+"/mail/confirm", url.Values{}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("confirm: %d %s", r.status, r.body)
		}
		e.remember("set by ops")
		if r := c.post("/admin/users/"+id+"/mail/set-password", url.Values{"password": {"set by ops"}}, nil); r.status != http.StatusSeeOther {
			t.Fatalf("set-password: %d %s", r.status, r.body)
		}
		e.post("/api/auth/local", map[string]any{"identifier": "ada", "password": "set by ops"}).want(t, http.StatusOK, "", "")
		c.post("/admin/users/"+id+"/mail/set-password", url.Values{"password": {"123"}}, nil).wantPage(t, http.StatusBadRequest, "at least 8")
		c.post("/admin/users/"+id+"/mail/resend-confirmation", url.Values{}, nil).wantPage(t, http.StatusBadRequest, "Already confirmed")
		c.post("/admin/users/"+id+"/mail/nope", url.Values{}, nil).wantPage(t, http.StatusNotFound)
		page := c.get("/admin/users/" + id)
		if strings.Contains(string(page.body), "Resend confirmation mail") {
			t.Error("a confirmed user is offered a confirmation mail")
		}
	})
	t.Run("RetryOnlyFailed", func(t *testing.T) {
		c.post("/admin/mail/1/retry", url.Values{}, nil).wantPage(t, http.StatusBadRequest, "only a failed mail")
		c.post("/admin/mail/999/retry", url.Values{}, nil).wantPage(t, http.StatusNotFound)
	})
}
