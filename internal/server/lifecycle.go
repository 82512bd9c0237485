package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/refreshing/refreshing"
)

// The account life cycle's handlers (Strapi 5 users-permissions):
// forgot-password, reset-password, email-confirmation and
// send-email-confirmation, and Strapi 5.54's session list and revocation.
// The rules are in refreshing.Service (lifecycle.go); mail goes out
// through the outbox, so none of these waits for a mail server.

// decodeOnly is decode for the bodies Strapi validates with yup's
// noUnknown(): a member other than fields is refused with yup's words.
func decodeOnly(w http.ResponseWriter, r *http.Request, dst any, fields ...string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return decodeError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := decode(w, r, dst, false); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return decodeError(err)
	}
	var unknown []string
	for k := range members {
		if !slices.Contains(fields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return refreshing.Invalid("", "this field has unspecified keys: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// mailWindow is the window of the per-address mail budget
// (Settings.Mail.RateLimitPerAddress mails per hour).
const mailWindow = time.Hour

// limitAddress charges one mail to the budget of the address email. Like
// every budget it answers 429 when spent; known and unknown addresses
// spend alike.
func (s *server) limitAddress(w http.ResponseWriter, r *http.Request, email string) bool {
	addr := strings.ToLower(strings.TrimSpace(email))
	if addr == "" || len(addr) > refreshing.MaxIdentifierLen {
		return true // refused by validation, before any work
	}
	st, err := s.svc.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	return s.allow(w, r, "mail|"+addr, st.Mail.RateLimitPerAddress, mailWindow)
}

// handleForgotPassword serves POST /api/auth/forgot-password: {ok: true}
// whether or not an account has the address.
func (s *server) handleForgotPassword() http.Handler {
	type request struct {
		Email string `json:"email"`
	}
	type response struct {
		OK bool `json:"ok"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decodeOnly(w, r, &req, "email"); err != nil {
			return err
		}
		if !s.limitAddress(w, r, req.Email) {
			return errAnswered
		}
		if err := s.svc.ForgotPassword(r.Context(), req.Email, s.clientInfo(r)); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{OK: true})
		return nil
	})
}

// handleResetPassword serves POST /api/auth/reset-password: the new
// password with the mailed code; answers as login does.
func (s *server) handleResetPassword() http.Handler {
	type request struct {
		Code                 string `json:"code"`
		Password             string `json:"password"`
		PasswordConfirmation string `json:"passwordConfirmation"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decodeOnly(w, r, &req, "code", "password", "passwordConfirmation"); err != nil {
			return err
		}
		g, err := s.svc.ResetPassword(r.Context(), refreshing.PasswordReset{
			Code: req.Code, Password: req.Password, Confirmation: req.PasswordConfirmation,
		}, s.clientInfo(r))
		if err != nil {
			return err
		}
		s.writeGrant(w, r, g)
		return nil
	})
}

// handleEmailConfirmation serves GET /api/auth/email-confirmation?confirmation=...:
// a redirect to the configured page once confirmed.
func (s *server) handleEmailConfirmation() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		to, err := s.svc.ConfirmEmail(r.Context(), r.URL.Query().Get("confirmation"), s.clientInfo(r))
		if err != nil {
			return err
		}
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	})
}

// handleSendEmailConfirmation serves POST /api/auth/send-email-confirmation.
func (s *server) handleSendEmailConfirmation() http.Handler {
	type request struct {
		Email string `json:"email"`
	}
	type response struct {
		Email string `json:"email"`
		Sent  bool   `json:"sent"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if !s.limitAddress(w, r, req.Email) {
			return errAnswered
		}
		email, err := s.svc.SendEmailConfirmation(r.Context(), req.Email)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{Email: email, Sent: true})
		return nil
	})
}

// strapiSessionJSON is one session as Strapi 5.54's GET /api/auth/sessions
// lists it (@strapi/utils sanitizeSessionEntry): never a token nor an IP.
type strapiSessionJSON struct {
	ID           string `json:"id"`
	DeviceID     string `json:"deviceId,omitempty"`
	DeviceName   string `json:"deviceName,omitempty"`
	Current      bool   `json:"current"`
	LoginAt      string `json:"loginAt,omitempty"`
	LastActiveAt string `json:"lastActiveAt,omitempty"`
}

// isoMillis formats t as JavaScript's toISOString does.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// handleAuthSessions serves GET /api/auth/sessions: {data: [...]}, the
// current session first, then the most recently active.
func (s *server) handleAuthSessions() http.Handler {
	type response struct {
		Data []strapiSessionJSON `json:"data"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.bearer(r)
		if err != nil {
			return err
		}
		list, err := s.svc.Sessions(r.Context(), p)
		if err != nil {
			return err
		}
		sort.SliceStable(list, func(i, j int) bool {
			ci, cj := list[i].ID == p.SessionID, list[j].ID == p.SessionID
			if ci != cj {
				return ci
			}
			return list[i].LastActivity.After(list[j].LastActivity)
		})
		out := response{Data: make([]strapiSessionJSON, 0, len(list))}
		for _, sess := range list {
			out.Data = append(out.Data, strapiSessionJSON{
				ID: sess.ID, DeviceID: sess.DeviceID, DeviceName: refreshing.DeviceName(sess.UserAgent),
				Current: p.SessionID != "" && sess.ID == p.SessionID,
				LoginAt: isoMillis(sess.CreatedAt), LastActiveAt: isoMillis(sess.LastActivity),
			})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// handleAuthRevokeSession serves DELETE /api/auth/sessions/{sessionId}:
// {data: {}}, or 404 "Session not found" for a session that is not one of
// the caller's active ones (Strapi deletes a revoked session, so a second
// revocation finds nothing either).
func (s *server) handleAuthRevokeSession() http.Handler {
	type response struct {
		Data struct{} `json:"data"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.bearer(r)
		if err != nil {
			return err
		}
		id := r.PathValue("sessionId")
		list, err := s.svc.Sessions(r.Context(), p)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(list, func(x refreshing.Session) bool { return x.ID == id }) {
			return errSessionNotFound
		}
		if err := s.svc.RevokeOwnSession(r.Context(), p, id); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, response{})
		return nil
	})
}
