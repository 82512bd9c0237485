package server

import "net/http"

// handleReauthenticate serves POST /api/auth/reauthenticate (step-up,
// refreshing.Service.Reauthenticate): the caller of an access token (bearer,
// or DPoP with its proof) proves their password again, and gets a new
// access token of the same session whose auth_time is now. The password is
// checked: the route is on the sign-in budget per IP, and the account's
// budget is charged as for a sign-in (passwordCaller).
func (s *server) handleReauthenticate() http.Handler {
	type request struct {
		Password string `json:"password"`
	}
	type response struct {
		JWT       string    `json:"jwt"`
		SessionID string    `json:"sessionId"`
		AuthTime  string    `json:"authTime"`
		User      *userJSON `json:"user"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		p, ok := s.passwordCaller(w, r, &req)
		if !ok {
			return
		}
		g, err := s.svc.Reauthenticate(r.Context(), p, req.Password, s.clientInfo(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, response{JWT: g.AccessToken, SessionID: g.Session.ID,
			AuthTime: timestamp(g.Session.AuthTime), User: userOf(g.User)})
	})
}
