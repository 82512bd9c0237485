package refreshing

import "time"

// NewSession returns a new, unsaved session of user userID, created at now
// under settings st, and its first refresh token, exactly as a sign-in makes
// them; Store.CreateSession saves it. It lets bulk tools (imports, the load
// generator's seeding) create many sessions without a password check each.
// The token is the only copy: the session keeps its hash.
func NewSession(userID int64, ci ClientInfo, now time.Time, st Settings) (*Session, string) {
	sess := &Session{
		ID: newSessionID(), UserID: userID, ClientID: ci.ClientID, DeviceID: ci.DeviceID,
		Description: ci.Description, UserAgent: ci.UserAgent, IP: ci.IP,
		CreatedAt: now, LastActivity: now, AuthTime: now, DPoPJKT: ci.bindJKT,
	}
	if st.RefreshTTL > 0 {
		sess.ExpiresAt = now.Add(st.RefreshTTL)
	}
	token := firstToken(sess.ID)
	sess.TokenHash = hashToken(token)
	return sess, token
}
