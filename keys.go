package refreshing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/refreshing/refreshing/internal/jwt"
)

// KeyPropagation is how long after `keys rotate` another instance may still
// sign with the previous key: serving instances re-read the keys every
// second (cmd/refreshing), and this allows for reloads that lag or fail for
// a while. Key pruning waits for it.
const KeyPropagation = 10 * time.Second

// maxJWKSMaxAge caps how long verifiers may cache the JWKS.
const maxJWKSMaxAge = 5 * time.Minute

// Issuer returns the JWT "iss" of this Service, also the OAuth issuer.
func (s *Service) Issuer() string { return s.issuer }

// splitKeys divides stored keys (newest first) into those that may still
// verify a live access token at now and those that cannot. The newest key
// signs and is always live. Every older key stopped signing when the key
// after it was created, give or take KeyPropagation for instances that had
// not reloaded yet; the last token it signed expires accessTTL later, and
// this server's verification allows jwt.Leeway of clock skew. After that the
// key leaves the JWKS and may be deleted.
//
// A shortened AccessTTL is applied to tokens signed before the change too: a
// token issued with the longer lifetime may stop verifying early once its key
// is pruned.
func splitKeys(keys []SigningKey, now time.Time, accessTTL time.Duration) (live, retired []SigningKey) {
	for i, k := range keys {
		if i == 0 {
			live = append(live, k)
			continue
		}
		lastLive := keys[i-1].CreatedAt.Add(KeyPropagation + accessTTL + jwt.Leeway)
		if now.After(lastLive) {
			retired = append(retired, k)
		} else {
			live = append(live, k)
		}
	}
	return live, retired
}

// liveKeys returns the stored keys that may still verify a live token.
func (s *Service) liveKeys(ctx context.Context, stored []SigningKey) ([]SigningKey, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	live, _ := splitKeys(stored, s.clock(), st.AccessTTL)
	return live, nil
}

// storedKeys reads the stored signing keys, newest first, and splits them
// as splitKeys does, now.
func (s *Service) storedKeys(ctx context.Context) (stored, live, retired []SigningKey, err error) {
	if stored, err = s.store.SigningKeys(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("load signing keys: %w", err)
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	live, retired = splitKeys(stored, s.clock(), st.AccessTTL)
	return stored, live, retired, nil
}

// PruneKeys deletes the signing keys that can no longer verify a live access
// token (see KeyPropagation) and returns their ids. They already left the
// JWKS at the first key reload after that moment; pruning only forgets them.
// Several instances may prune at once.
func (s *Service) PruneKeys(ctx context.Context) ([]string, error) {
	_, _, retired, err := s.storedKeys(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, k := range retired {
		if err := s.store.DeleteSigningKey(ctx, k.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return ids, fmt.Errorf("delete signing key %s: %w", k.ID, err)
		}
		ids = append(ids, k.ID)
	}
	return ids, nil
}

// JWKSMaxAge is how long verifiers may cache the JWKS: a tenth of the access
// token lifetime, at most five minutes. A key added by `keys rotate` signs at
// once, and its tokens become common over one access-token lifetime as
// clients refresh, so a verifier that caches this long sees the new key
// before most of its tokens arrive (client.Verifier also refetches on an
// unknown key id).
func (s *Service) JWKSMaxAge(ctx context.Context) (time.Duration, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return 0, err
	}
	return min(st.AccessTTL/10, maxJWKSMaxAge).Truncate(time.Second), nil
}
