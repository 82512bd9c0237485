package refreshing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Look-alike usernames. "atk_x", "Atk_x", "atk_x" with a zero-width space or
// a soft hyphen in it, and the fullwidth "ａｔｋ＿ｘ" all read as the same name
// in a list, the audit log or an admin screen, so they must not be five
// accounts. A new username is therefore
//
//   - stored in Unicode normalization form NFKC, trimmed: compatibility
//     forms such as fullwidth letters become the letters they stand for;
//   - refused if it holds a control character (Cc), a format character
//     (Cf: the zero-width space and joiners, the soft hyphen, bidi
//     controls), any other default-ignorable code point (Hangul fillers,
//     U+034F, ...), a variation selector, or a line or paragraph separator:
//     characters that show nothing or move what the others show;
//   - unique by its UsernameKey, its case-folded NFKC form, so names that
//     differ only in case or compatibility form are "already taken".
//
// Strapi compatibility: Strapi's users-permissions stores a username as
// sent and compares it exactly. Refreshing is stricter, on purpose: a
// registration Strapi would accept may be refused here (with Strapi's own
// "Email or Username are already taken", or a ValidationError naming the
// username), and a fullwidth username is stored in its NFKC form. Sign-in
// by username stays exact, as Strapi's, except that an identifier is also
// tried in its NFKC form, so the fullwidth spelling finds the account it
// was stored as. Usernames imported from Strapi are kept as they are (they
// may already break these rules) but get a key too: an imported look-alike
// of an existing user is a conflict that the import reports. Users created
// before migration 0012 get their key when the service starts
// (BackfillUsernameKeys); look-alikes among them keep their accounts, and
// are reported.

// UsernameKey returns the key under which username is unique: its NFKC form,
// case-folded, normalized again (case folding can leave a string that is
// not in NFKC), and trimmed.
func UsernameKey(username string) string {
	return strings.TrimSpace(norm.NFKC.String(cases.Fold().String(norm.NFKC.String(username))))
}

// normalizeUsername returns username as it is stored: trimmed, in NFKC, or
// a *FieldError when it holds a character that shows nothing (see above).
func normalizeUsername(username string) (string, error) {
	n := strings.TrimSpace(norm.NFKC.String(username))
	for _, c := range n {
		if invisible(c) {
			return "", Invalid("username", "username must not contain invisible, formatting or control characters (U+%04X)", c)
		}
	}
	return n, nil
}

// invisible reports whether c is a character a username may not hold: a
// control or format character, another default-ignorable code point, a
// variation selector, or a line or paragraph separator.
func invisible(c rune) bool {
	return unicode.Is(unicode.Cc, c) || unicode.Is(unicode.Cf, c) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, c) ||
		unicode.Is(unicode.Variation_Selector, c) ||
		unicode.Is(unicode.Zl, c) || unicode.Is(unicode.Zp, c)
}

// UsernameCollision is a user whose username has the same UsernameKey as an
// earlier user's: two accounts that predate migration 0012 and read alike.
type UsernameCollision struct {
	UserID      int64
	Username    string
	OtherUserID int64 // the user that holds the key
}

// BackfillUsernameKeys gives every user without a username key (users
// created before migration 0012) its UsernameKey. A user whose key another
// user holds already keeps its account and no key: it is returned as a
// collision for an operator to look at, and never stops the service. It is
// safe to run concurrently on several instances and again at every start:
// when every user has a key it costs one indexed query.
func (s *Service) BackfillUsernameKeys(ctx context.Context) (int, []UsernameCollision, error) {
	var collisions []UsernameCollision
	done := 0
	after := int64(0)
	for {
		users, err := s.store.UsersWithoutUsernameKey(ctx, after, 500)
		if err != nil {
			return done, collisions, fmt.Errorf("list users without a username key: %w", err)
		}
		if len(users) == 0 {
			return done, collisions, nil
		}
		for _, u := range users {
			after = u.ID
			key := UsernameKey(u.Username)
			err := s.store.SetUsernameKey(ctx, u.ID, key)
			switch {
			case err == nil:
				done++
			case errors.Is(err, ErrConflict):
				c := UsernameCollision{UserID: u.ID, Username: u.Username}
				if other, err := s.store.UserByUsernameKey(ctx, key); err == nil {
					c.OtherUserID = other.ID
				}
				collisions = append(collisions, c)
			case errors.Is(err, ErrNotFound):
				// Deleted meanwhile.
			default:
				return done, collisions, fmt.Errorf("set username key: %w", err)
			}
		}
	}
}
