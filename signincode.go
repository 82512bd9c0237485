package refreshing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A provider sign-in that ends on a front-end page can hand the page a
// one-time code instead of the tokens (the provider's redirectWith "code",
// docs/oidc.md): the page redeems it with a POST for {jwt, refreshToken,
// user}, so that no token ever travels in a URL. The code is an
// AccountCode of purpose CodeSignIn: only the SHA-256 of its secret part is
// stored; it works once, for SignInCodeTTL.

// SignInCodeTTL is how long the one-time code of a provider sign-in works.
const SignInCodeTTL = 60 * time.Second

// ErrSignInCode: the one-time sign-in code is unknown, used already or expired.
var ErrSignInCode = errors.New("invalid or expired sign-in code")

// ProviderSignInCode decides which account id signs in, exactly as
// ProviderSignIn does, but issues nothing yet: it returns a one-time code
// that RedeemSignInCode turns into the tokens within SignInCodeTTL. A newer
// code of the same user replaces an unredeemed older one.
func (s *Service) ProviderSignInCode(ctx context.Context, id ExternalIdentity, ci ClientInfo) (string, error) {
	u, _, _, _, err := s.providerAccount(ctx, id, ci)
	if err != nil {
		return "", err
	}
	code, cid, hash := newCode()
	now := s.clock()
	if err := s.store.PutCode(ctx, AccountCode{ID: cid, UserID: u.ID, Purpose: CodeSignIn, Hash: hash,
		CreatedAt: now, ExpiresAt: now.Add(SignInCodeTTL)}); err != nil {
		return "", fmt.Errorf("store sign-in code: %w", err)
	}
	return code, nil
}

// RedeemSignInCode turns a one-time code of ProviderSignInCode into tokens,
// issued exactly as Login does. It works once: a second redemption, a late
// one or an unknown code is ErrSignInCode and issues nothing; a user
// blocked meanwhile is ErrBlocked.
func (s *Service) RedeemSignInCode(ctx context.Context, code string, ci ClientInfo) (*Grant, error) {
	ci, err := clampInfo(ci)
	if err != nil {
		return nil, err
	}
	c, err := s.checkCode(ctx, code, CodeSignIn)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSignInCode
	}
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteCode(ctx, c.ID); errors.Is(err, ErrNotFound) {
		return nil, ErrSignInCode // redeemed meanwhile by a concurrent request
	} else if err != nil {
		return nil, fmt.Errorf("delete sign-in code: %w", err)
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSignInCode
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	if u.Blocked {
		s.auditProviderRefusal(ctx, ci, u, "one-time sign-in code", ErrBlocked)
		return nil, ErrBlocked
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return s.issueProviderLogin(ctx, u, st, ci, "provider sign-in completed with its one-time code")
}
