package refreshing

import (
	"net/url"
	"strings"
	"time"
)

// ParseOrigins parses the AllowedOrigins setting: a comma-separated list of
// origins (scheme://host[:port], no path). It returns them normalised
// (lower case, no trailing slash).
func ParseOrigins(v string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, Invalid("allowedOrigins", "%q is not an origin such as https://app.example.com", f)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// ValidateForAdmin is Validate plus the checks that only make sense for a
// person editing the settings on the admin screen: values that are each
// valid but together nonsense. The environment seeding keeps using Validate
// alone, so that existing deployments (and tests) that start with, say,
// REFRESHING_ACCESS_TTL=2s and the default 10s grace keep starting.
func (s Settings) ValidateForAdmin() error {
	if err := s.Validate(); err != nil {
		return err
	}
	switch {
	case s.ReuseGrace > s.AccessTTL:
		return Invalid("reuseGrace", "must not be longer than the access token lifetime (%v)", s.AccessTTL)
	case s.RefreshTTL > 0 && s.AccessTTL > s.RefreshTTL:
		return Invalid("accessTTL", "must not be longer than the session lifetime (%v)", s.RefreshTTL)
	case s.RefreshTTL > 0 && s.RefreshIdle > s.RefreshTTL:
		return Invalid("refreshIdle", "must not be longer than the session lifetime (%v): it would never apply", s.RefreshTTL)
	case s.RefreshIdle > 0 && s.RefreshIdle < time.Minute:
		return Invalid("refreshIdle", "must be at least 1m (or 0 for none): shorter would sign users out between requests")
	case s.AuditRetention > 0 && s.AuditRetention < time.Hour:
		return Invalid("auditRetention", "must be at least 1h (or 0 for forever)")
	}
	return nil
}
