package refreshing

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Action is one endpoint of the contract's /api surface, as a permission an
// administrator can grant or withdraw per role (as in Strapi's Users &
// Permissions). Actions is the one list of them.
type Action struct {
	Name        string // "refreshing.sessions.index"
	Method      string // "GET"
	Path        string // "/api/users/me/sessions"
	Description string
	// Authenticated actions are called with a bearer access token and are
	// checked against the caller's role. The others are checked against
	// the public role, or the caller's role when a valid bearer token is
	// sent to an action that accepts one (logout).
	Authenticated bool
}

// The actions of the /api surface.
const (
	ActionRegister       = "users-permissions.auth.register"
	ActionLogin          = "users-permissions.auth.callback"
	ActionMe             = "users-permissions.user.me"
	ActionChangePassword = "users-permissions.auth.changePassword"
	ActionRefresh        = "users-permissions.auth.refresh"
	ActionLogout         = "users-permissions.auth.logout"
	ActionTokenRequest   = "refreshing.token.request"
	ActionTokenExchange  = "refreshing.token.exchange"
	ActionTokenRevoke    = "refreshing.token.revoke"
	ActionSessionsIndex  = "refreshing.sessions.index"
	ActionSessionDestroy = "refreshing.sessions.destroy"
	ActionSessionsPurge  = "refreshing.sessions.destroyAll"
	// The Strapi 5 refresh-token plugin's exchange, for its clients after
	// a cutover (import.go).
	ActionPluginRefresh = "refresh-token.auth.refresh"

	// The account life cycle (lifecycle.go) and Strapi 5.54's sessions.
	ActionForgotPassword        = "users-permissions.auth.forgotPassword"
	ActionResetPassword         = "users-permissions.auth.resetPassword"
	ActionEmailConfirmation     = "users-permissions.auth.emailConfirmation"
	ActionSendEmailConfirmation = "users-permissions.auth.sendEmailConfirmation"
	ActionAuthSessions          = "users-permissions.auth.getSessions"
	ActionAuthRevokeSession     = "users-permissions.auth.revokeSession"

	// Step-up (stepup.go): re-authentication in the current session.
	ActionReauthenticate = "refreshing.auth.reauthenticate"
)

var actions = []Action{
	{ActionRegister, "POST", "/api/auth/local/register", "Create an account", false},
	{ActionLogin, "POST", "/api/auth/local", "Log in with identifier and password", false},
	{ActionMe, "GET", "/api/users/me", "Read one's own user", true},
	{ActionChangePassword, "POST", "/api/auth/change-password", "Change one's own password", true},
	{ActionRefresh, "POST", "/api/auth/refresh", "Exchange a refresh token (Strapi 5)", false},
	{ActionLogout, "POST", "/api/auth/logout", "Log out (Strapi 5)", false},
	{ActionTokenRequest, "POST", "/api/auth/token/request", "Start a session with credentials", false},
	{ActionTokenExchange, "POST", "/api/auth/token", "Exchange a refresh token", false},
	{ActionTokenRevoke, "POST", "/api/auth/revoke", "Revoke a refresh token", false},
	{ActionSessionsIndex, "GET", "/api/users/me/sessions", "List one's own sessions", true},
	{ActionSessionDestroy, "DELETE", "/api/users/me/sessions/{id}", "Sign out one of one's sessions", true},
	{ActionSessionsPurge, "DELETE", "/api/users/me/sessions", "Sign out of other or all devices", true},
	{ActionPluginRefresh, "POST", "/api/auth/local/refresh", "Exchange a refresh token (Strapi 5 refresh-token plugin)", false},
	// The account life cycle (lifecycle.go) and Strapi 5.54's sessions.
	{ActionForgotPassword, "POST", "/api/auth/forgot-password", "Ask for a password reset mail", false},
	{ActionResetPassword, "POST", "/api/auth/reset-password", "Set a new password with a mailed code", false},
	{ActionEmailConfirmation, "GET", "/api/auth/email-confirmation", "Confirm an email with a mailed link", false},
	{ActionSendEmailConfirmation, "POST", "/api/auth/send-email-confirmation", "Ask for a new confirmation mail", false},
	{ActionAuthSessions, "GET", "/api/auth/sessions", "List one's own sessions (Strapi 5)", true},
	{ActionAuthRevokeSession, "DELETE", "/api/auth/sessions/{sessionId}", "Sign out one of one's sessions (Strapi 5)", true},
	// Step-up (stepup.go).
	{ActionReauthenticate, "POST", "/api/auth/reauthenticate", "Prove one's password again in the current session (step-up)", true},
}

// Actions returns every action of the /api surface, in the contract's order.
func Actions() []Action { return slices.Clone(actions) }

// ActionByName returns the action with that name.
func ActionByName(name string) (Action, bool) {
	for _, a := range actions {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// The built-in roles. Every request without a bearer token acts as
// RolePublic; users are created with RoleAuthenticated.
const (
	RolePublic        = "public"
	RoleAuthenticated = "authenticated"
)

// Allows reports whether r allows the action.
func (r Role) Allows(action string) bool {
	_, ok := slices.BinarySearch(r.Permissions, action)
	return ok
}

// DefaultRoles returns the built-in roles as a new database has them: every
// endpoint of the contract open to the callers that need it, exactly as the
// server behaves without any configuration.
func DefaultRoles() []Role {
	var pub, auth []string
	for _, a := range actions {
		if a.Authenticated {
			auth = append(auth, a.Name)
		} else {
			pub = append(pub, a.Name)
		}
	}
	// Logout is the one public action that also takes a bearer token,
	// which makes the caller's own role the one checked.
	auth = append(auth, ActionLogout)
	sort.Strings(pub)
	sort.Strings(auth)
	return []Role{
		{Name: RolePublic, Description: "Callers without an access token", Permissions: pub},
		{Name: RoleAuthenticated, Description: "Signed-in users (the default role of new users)", Permissions: auth},
	}
}

var roleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Roles returns the roles in force: public and authenticated first (their
// defaults unless an administrator changed them), then custom roles by name.
func (s *Service) Roles(ctx context.Context) ([]Role, error) {
	stored, err := s.store.Roles(ctx)
	if err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	out := DefaultRoles()
	for _, r := range stored {
		switch r.Name {
		case RolePublic:
			out[0] = r
		case RoleAuthenticated:
			out[1] = r
		default:
			out = append(out, r)
		}
	}
	return out, nil
}

// Role returns the role with that name, or ErrNotFound.
func (s *Service) Role(ctx context.Context, name string) (Role, error) {
	roles, err := s.Roles(ctx)
	if err != nil {
		return Role{}, err
	}
	for _, r := range roles {
		if r.Name == name {
			return r, nil
		}
	}
	return Role{}, ErrNotFound
}

// SaveRole validates and stores r (creating a custom role, or changing the
// permissions of an existing one). The change applies here at once and on
// other instances within the settings TTL.
func (s *Service) SaveRole(ctx context.Context, r Role) error {
	if !roleName.MatchString(r.Name) {
		return Invalid("name", "name must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	if err := checkText("description", r.Description, false, MaxTextLen); err != nil {
		return err
	}
	perms := slices.Clone(r.Permissions)
	sort.Strings(perms)
	perms = slices.Compact(perms)
	for _, p := range perms {
		if _, ok := ActionByName(p); !ok {
			return Invalid("permissions", "unknown action %q", p)
		}
	}
	r.Permissions = perms
	if err := s.store.SaveRole(ctx, r); err != nil {
		return fmt.Errorf("save role: %w", err)
	}
	s.adm.dropRoles()
	s.audit(ctx, AuditEvent{Type: AuditRoleChange, Detail: fmt.Sprintf("role %s: %d actions allowed", r.Name, len(perms))})
	return nil
}

// DeleteRole deletes a custom role. The built-in roles cannot be deleted.
// Users who had the role act as RoleAuthenticated from then on.
func (s *Service) DeleteRole(ctx context.Context, name string) error {
	if name == RolePublic || name == RoleAuthenticated {
		return Invalid("name", "the built-in role %s cannot be deleted", name)
	}
	if err := s.store.DeleteRole(ctx, name); err != nil {
		return fmt.Errorf("delete role: %w", err)
	}
	s.adm.dropRoles()
	s.audit(ctx, AuditEvent{Type: AuditRoleChange, Detail: "role " + name + " deleted"})
	return nil
}

// SetUserRole gives a user another role.
func (s *Service) SetUserRole(ctx context.Context, userID int64, role string) (*User, error) {
	if _, err := s.Role(ctx, role); err != nil {
		return nil, Invalid("role", "no role named %q", role)
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	u.Role, u.UpdatedAt = role, s.clock()
	if err := s.store.UpdateUser(ctx, u, nil); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	s.audit(ctx, AuditEvent{Type: AuditRoleChange, UserID: u.ID, Detail: "user role set to " + role})
	return u, nil
}

// Allowed reports whether role may perform action. Roles are cached for the
// settings TTL, so a change made on another instance applies within it. A
// role that no longer exists acts as RoleAuthenticated.
func (s *Service) Allowed(ctx context.Context, role, action string) (bool, error) {
	roles, err := s.cachedRoles(ctx)
	if err != nil {
		return false, err
	}
	r, ok := roles[role]
	if !ok {
		r = roles[RoleAuthenticated]
	}
	return r.Allows(action), nil
}

// Authorize returns ErrForbidden unless the caller may perform action: the
// public role when p is nil, the user's role otherwise.
func (s *Service) Authorize(ctx context.Context, p *Principal, action string) error {
	role := RolePublic
	if p != nil {
		role = p.User.Role
	}
	ok, err := s.Allowed(ctx, role, action)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: role %s may not %s", ErrForbidden, role, action)
	}
	return nil
}

// cachedRoles returns the roles by name, re-read when older than the TTL.
func (s *Service) cachedRoles(ctx context.Context) (map[string]Role, error) {
	now := s.clock()
	s.adm.mu.Lock()
	roles, at := s.adm.roles, s.adm.rolesAt
	s.adm.mu.Unlock()
	if roles != nil && now.Sub(at) < s.ttl && !now.Before(at) {
		return roles, nil
	}
	list, err := s.Roles(ctx)
	if err != nil {
		return nil, err
	}
	roles = make(map[string]Role, len(list))
	for _, r := range list {
		roles[r.Name] = r
	}
	s.adm.mu.Lock()
	s.adm.roles, s.adm.rolesAt = roles, now
	s.adm.mu.Unlock()
	return roles, nil
}

// dropRoles forgets the cached roles, so the next check reads them again.
func (a *adminState) dropRoles() {
	a.mu.Lock()
	a.roles, a.rolesAt = nil, time.Time{}
	a.mu.Unlock()
}
