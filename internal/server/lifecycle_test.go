package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/refreshing/refreshing"
)

// TestMailRateLimits: forgot-password and send-email-confirmation spend a
// budget per address (known or not alike) besides the per-IP one.
func TestMailRateLimits(t *testing.T) {
	e := start(t, setup{mailer: unsentMailer{}, settings: func(s *refreshing.Settings) { s.Mail.RateLimitPerAddress = 2 }})
	e.register("ada")
	for _, addr := range []string{"ada@example.com", "nobody@example.com"} {
		for range 2 {
			e.post("/api/auth/forgot-password", map[string]any{"email": addr}).want(t, http.StatusOK, "", "")
		}
		r := e.post("/api/auth/forgot-password", map[string]any{"email": strings.ToUpper(addr)})
		r.want(t, http.StatusTooManyRequests, "RateLimitError", "Too many requests, please try again later.")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		// send-email-confirmation shares the address's budget.
		e.post("/api/auth/send-email-confirmation", map[string]any{"email": addr}).want(t, http.StatusTooManyRequests, "RateLimitError", "")
	}
	e.post("/api/auth/forgot-password", map[string]any{"email": "other@example.com"}).want(t, http.StatusOK, "", "")
}

// TestLifecycleInput: the endpoints refuse bad input as Strapi's yup
// schemas do, and change nothing.
func TestLifecycleInput(t *testing.T) {
	e := start(t, setup{mailer: unsentMailer{}})
	for _, tc := range []struct {
		path string
		body any
		msg  string
	}{
		{"/api/auth/forgot-password", map[string]any{}, "email is a required field"},
		{"/api/auth/forgot-password", map[string]any{"email": "nope"}, "email must be a valid email"},
		{"/api/auth/forgot-password", map[string]any{"email": "a@example.com", "username": "a"}, "this field has unspecified keys: username"},
		{"/api/auth/forgot-password", map[string]any{"email": 42}, "email must be a string"},
		{"/api/auth/reset-password", map[string]any{"code": "c", "password": "new password"}, "passwordConfirmation is a required field"},
		{"/api/auth/reset-password", map[string]any{"code": "c", "password": "12", "passwordConfirmation": "12"}, "password must be at least 8 characters"},
		{"/api/auth/send-email-confirmation", map[string]any{"email": ""}, "email is a required field"},
	} {
		e.post(tc.path, tc.body).want(t, http.StatusBadRequest, "ValidationError", tc.msg)
	}
	list, err := e.svc.ListMail(t.Context(), refreshing.MailFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("refused requests enqueued mail: %v %v", list, err)
	}
}
