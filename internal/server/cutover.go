package server

import "net/http"

// handlePluginRefresh serves POST /api/auth/local/refresh, the exchange of
// the Strapi 5 refresh-token plugin (@redon2inc/strapi-plugin-refresh-token):
// {refreshToken} in, {jwt, refreshToken} out, as the plugin answers with
// rotation on. A token the plugin issued before the cutover (imported by
// `refreshing import strapi`) works here once and continues as one of ours;
// the exchange is the one every other path uses (Service.Exchange).
func (s *server) handlePluginRefresh() http.Handler {
	type request struct {
		RefreshToken string `json:"refreshToken"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			s.fail(w, r, err)
			return
		}
		s.exchange(w, r, req.RefreshToken)
	})
}
