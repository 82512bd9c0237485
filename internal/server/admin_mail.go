package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The admin screens of the account life cycle's mail: the outbox (pending
// and failed mail, retry), the mail settings with their templates and a
// preview, and the user page's confirm / set password / resend actions.

// mailData is the outbox screen.
type mailData struct {
	Configured bool
	Counts     map[string]int64
	Pending    []refreshing.Mail
	Failed     []refreshing.Mail
	Finished   []refreshing.Mail // sent and dropped, newest first
}

// mailList serves GET /admin/mail.
func (a *adminUI) mailList(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	ctx := r.Context()
	d := &mailData{Configured: a.s.svc.MailConfigured()}
	var err error
	if d.Counts, err = a.s.svc.CountMail(ctx); err != nil {
		a.fail(w, r, err)
		return
	}
	for _, l := range []struct {
		state string
		dst   *[]refreshing.Mail
	}{{refreshing.MailPending, &d.Pending}, {refreshing.MailFailed, &d.Failed}, {"", &d.Finished}} {
		list, err := a.s.svc.ListMail(ctx, refreshing.MailFilter{State: l.state, Limit: 100})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for _, m := range list {
			if l.state != "" || m.State == refreshing.MailSent || m.State == refreshing.MailDropped {
				*l.dst = append(*l.dst, m)
			}
		}
	}
	a.render(w, r, http.StatusOK, "mail", view{Title: "Mail", Nav: "mail", Admin: auth.Admin.Email, Notice: notice(r), Data: d})
}

// mailRetry serves POST /admin/mail/{id}/retry.
func (a *adminUI) mailRetry(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.fail(w, r, refreshing.ErrNotFound)
		return
	}
	if err := a.s.svc.RetryMail(r.Context(), id); err != nil {
		if errors.Is(err, refreshing.ErrStale) {
			err = refreshing.Invalid("id", "only a failed mail can be sent again")
		}
		a.fail(w, r, err)
		return
	}
	back(w, r, "/admin/mail", "mailretry", 0)
}

// settingDesc returns the refreshing.SettingsTable row whose form name is
// field, for a screen's label and help; the zero Setting if none.
func settingDesc(field string) refreshing.Setting {
	for _, d := range refreshing.SettingsTable() {
		if d.Field == field {
			return d
		}
	}
	return refreshing.Setting{}
}

// mailSettingsData is the mail settings screen.
type mailSettingsData struct {
	Configured bool
	Form       mailForm
	Previews   []mailPreview // after "Preview"
	Field      string        // the invalid field, if any
}

// mailForm is the mail settings form, as shown and as typed.
type mailForm struct {
	ServiceName, ResetPasswordURL, ConfirmationRedirect string
	ResetCodeTTL, ConfirmationCodeTTL                   string
	RateLimitPerAddress                                 string
	Reset, Confirmation                                 refreshing.MailTemplate
}

// mailPreview is one rendered message.
type mailPreview struct {
	Kind, Subject, Text, HTML string
}

// formOf returns the form for m, templates as in force (defaults filled in).
func formOf(m refreshing.MailSettings) mailForm {
	return mailForm{
		ServiceName: m.ServiceName, ResetPasswordURL: m.ResetPasswordURL, ConfirmationRedirect: m.ConfirmationRedirect,
		ResetCodeTTL: fmtDuration(m.ResetCodeTTL), ConfirmationCodeTTL: fmtDuration(m.ConfirmationCodeTTL),
		RateLimitPerAddress: strconv.Itoa(m.RateLimitPerAddress),
		Reset:               m.Template(refreshing.MailResetPassword), Confirmation: m.Template(refreshing.MailEmailConfirmation),
	}
}

// parseMailForm reads the posted form into a mailForm and onto m. A
// template part equal to the built-in default is stored empty, so that it
// keeps following the default.
func parseMailForm(m refreshing.MailSettings, f map[string][]string) (mailForm, refreshing.MailSettings, error) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return strings.ReplaceAll(v[0], "\r\n", "\n")
		}
		return ""
	}
	form := mailForm{
		ServiceName: strings.TrimSpace(get("serviceName")), ResetPasswordURL: strings.TrimSpace(get("resetPasswordURL")),
		ConfirmationRedirect: strings.TrimSpace(get("confirmationRedirect")),
		ResetCodeTTL:         strings.TrimSpace(get("resetCodeTTL")), ConfirmationCodeTTL: strings.TrimSpace(get("confirmationCodeTTL")),
		RateLimitPerAddress: strings.TrimSpace(get("rateLimitPerAddress")),
		Reset:               refreshing.MailTemplate{Subject: get("resetSubject"), Text: get("resetText"), HTML: get("resetHTML")},
		Confirmation:        refreshing.MailTemplate{Subject: get("confirmationSubject"), Text: get("confirmationText"), HTML: get("confirmationHTML")},
	}
	m.ServiceName, m.ResetPasswordURL, m.ConfirmationRedirect = form.ServiceName, form.ResetPasswordURL, form.ConfirmationRedirect
	var err error
	if m.ResetCodeTTL, err = time.ParseDuration(form.ResetCodeTTL); err != nil {
		return form, m, refreshing.Invalid("resetCodeTTL", "%q is not a duration such as 30m or 1h", form.ResetCodeTTL)
	}
	if m.ConfirmationCodeTTL, err = time.ParseDuration(form.ConfirmationCodeTTL); err != nil {
		return form, m, refreshing.Invalid("confirmationCodeTTL", "%q is not a duration such as 24h or 72h", form.ConfirmationCodeTTL)
	}
	if m.RateLimitPerAddress, err = strconv.Atoi(form.RateLimitPerAddress); err != nil {
		return form, m, refreshing.Invalid("mailRateLimit", "%q is not a whole number", form.RateLimitPerAddress)
	}
	strip := func(t, d refreshing.MailTemplate) refreshing.MailTemplate {
		for _, p := range []struct {
			v *string
			d string
		}{{&t.Subject, d.Subject}, {&t.Text, d.Text}, {&t.HTML, d.HTML}} {
			if strings.TrimSpace(*p.v) == strings.TrimSpace(p.d) {
				*p.v = ""
			}
		}
		return t
	}
	m.Reset = strip(form.Reset, refreshing.DefaultMailTemplate(refreshing.MailResetPassword))
	m.Confirmation = strip(form.Confirmation, refreshing.DefaultMailTemplate(refreshing.MailEmailConfirmation))
	return form, m, nil
}

// mailSettings serves GET /admin/mail/settings.
func (a *adminUI) mailSettings(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	st, err := a.s.svc.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "mailsettings", view{Title: "Mail settings", Nav: "mail", Admin: auth.Admin.Email,
		Notice: notice(r), Data: &mailSettingsData{Configured: a.s.svc.MailConfigured(), Form: formOf(st.Mail)}})
}

// saveMailSettings serves POST /admin/mail/settings: "preview" renders both
// messages from the form as typed, without saving; "save" saves.
func (a *adminUI) saveMailSettings(w http.ResponseWriter, r *http.Request, auth *refreshing.AdminAuth) {
	f, cur, ok := a.settingsForm(w, r)
	if !ok {
		return
	}
	form, m, err := parseMailForm(cur.Mail, f)
	st := cur
	st.Mail = m
	if err == nil {
		err = st.Validate()
	}
	d := &mailSettingsData{Configured: a.s.svc.MailConfigured(), Form: form}
	if err == nil && f.Get("action") == "preview" {
		for _, kind := range []string{refreshing.MailResetPassword, refreshing.MailEmailConfirmation} {
			p := mailPreview{Kind: kind}
			p.Subject, p.Text, p.HTML, _ = m.PreviewMail(kind)
			d.Previews = append(d.Previews, p)
		}
		a.render(w, r, http.StatusOK, "mailsettings", view{Title: "Mail settings", Nav: "mail", Admin: auth.Admin.Email,
			Notice: "Preview with example data; nothing is saved yet.", Data: d})
		return
	}
	if err == nil {
		err = a.s.svc.AdminUpdateSettings(r.Context(), st)
	}
	if err != nil {
		var fe *refreshing.FieldError
		if !errors.As(err, &fe) {
			a.fail(w, r, err)
			return
		}
		d.Field = fe.Field
		a.render(w, r, http.StatusBadRequest, "mailsettings", view{Title: "Mail settings", Nav: "mail", Admin: auth.Admin.Email,
			Error: "Not saved: " + fe.Field + " — " + fe.Message + ".", Data: d})
		return
	}
	back(w, r, "/admin/mail/settings", "saved", 0)
}

// userMailAction serves POST /admin/users/{id}/mail/{op}: confirm,
// set-password and resend-confirmation.
func (a *adminUI) userMailAction(w http.ResponseWriter, r *http.Request, _ *refreshing.AdminAuth) {
	id, f, err := idForm(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, ok := r.Context(), ""
	switch r.PathValue("op") {
	case "confirm":
		_, err = a.s.svc.ConfirmUser(ctx, id)
		ok = "confirmed"
	case "set-password":
		_, err = a.s.svc.SetUserPassword(ctx, id, f.Get("password"))
		ok = "password"
	case "resend-confirmation":
		err = a.s.svc.ResendConfirmation(ctx, id)
		ok = "resent"
	default:
		err = refreshing.ErrNotFound
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/admin/users/"+strconv.FormatInt(id, 10), ok, 0)
}
