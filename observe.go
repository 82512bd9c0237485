package refreshing

import "errors"

// Observer hears what the Service did, for metrics: how exchanges and
// logins ended and how many sessions the janitor deleted. It is called
// synchronously from request goroutines, many at once, so its methods must
// be safe for concurrent use and quick. It never receives a token, a
// password or a user id.
type Observer interface {
	// Exchanged reports how an exchange ended: one of the Outcome
	// constants, or OutcomeError when the Service itself failed.
	Exchanged(o Outcome)
	// LoggedIn reports how a credential check (login, token request,
	// password grant) ended.
	LoggedIn(o LoginOutcome)
	// Purged reports that the janitor deleted n ended sessions.
	Purged(n int)
}

// OutcomeError is the Outcome an Observer hears when an exchange failed for
// a reason that is not about the token (storage unavailable, busy).
const OutcomeError Outcome = "error"

// LoginOutcome says how a credential check ended.
type LoginOutcome string

// Login outcomes.
const (
	LoginSuccess      LoginOutcome = "success"
	LoginInvalid      LoginOutcome = "invalid_credentials" // unknown identifier or wrong password
	LoginBlocked      LoginOutcome = "blocked"
	LoginNotConfirmed LoginOutcome = "not_confirmed"
	LoginBadInput     LoginOutcome = "bad_input" // refused before any password was checked
	LoginError        LoginOutcome = "error"     // the Service failed (storage, busy)
)

// LoginOutcomeOf classifies the error of a credential check.
func LoginOutcomeOf(err error) LoginOutcome {
	var fe *FieldError
	switch {
	case err == nil:
		return LoginSuccess
	case errors.Is(err, ErrInvalidCredentials):
		return LoginInvalid
	case errors.Is(err, ErrBlocked):
		return LoginBlocked
	case errors.Is(err, ErrNotConfirmed):
		return LoginNotConfirmed
	case errors.As(err, &fe):
		return LoginBadInput
	}
	return LoginError
}

// nopObserver is the Observer of a Service configured without one.
type nopObserver struct{}

func (nopObserver) Exchanged(Outcome)     {}
func (nopObserver) LoggedIn(LoginOutcome) {}
func (nopObserver) Purged(int)            {}

// observeExchange tells the observer how an exchange that returned g and
// err ended.
func (s *Service) observeExchange(g *Grant, err error) {
	switch o := ExchangeOutcome(err); {
	case err == nil && g != nil && g.Outcome != "":
		s.obs.Exchanged(g.Outcome)
	case o == "":
		s.obs.Exchanged(OutcomeError)
	default:
		s.obs.Exchanged(o)
	}
}
