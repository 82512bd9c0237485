package refreshing

import (
	"context"
	_ "embed"
	"strings"
	"sync"
)

// Password policy (OWASP ASVS 4.0.3 V2.1, which ASVS 5 renumbers as V6.2):
// a new password has at least Settings.PasswordMinLength characters (8 by
// default, ASVS 2.1.1 / 6.2.1) and, with Settings.PasswordRefuseCommon on
// (the default), is not one of the 10,000 most common passwords (ASVS 2.1.7
// / 6.2.4), compared without regard to case. Nothing else is asked of it: no
// composition rules (ASVS 2.1.9 / 6.2.5), up to MaxPasswordLen characters
// (ASVS 2.1.2), every Unicode character allowed.
//
// It applies wherever a password is chosen: Register, ChangePassword, the
// administrator's CreateUser, CreateAdmin, and any other flow that sets one
// (a password reset calls CheckPassword). It does not apply to signing in:
// a password chosen before the policy keeps working.

// commonPasswords is the 10,000 most common passwords, one per line, most
// common first, all lower-case ASCII.
//
// Source: the first 10,000 entries of the frequency-ordered password
// dictionary of zxcvbn-ts (src/passwords.json in the npm package
// @zxcvbn-ts/language-common 4.1.3), which carries on the list of Dropbox's
// zxcvbn, built from leaked-password corpora. License: MIT, Copyright (c)
// 2012-2016 Dan Wheeler and Dropbox, Inc., Copyright (c) 2021 @zxcvbn-ts
// (the MIT permission notice applies to this file as to the package).
//
//go:embed commonpasswords.txt
var commonPasswords string

// commonSet is commonPasswords as a set, built on first use (about 10,000
// map entries, 0.5 MiB).
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonPasswords) {
		set[strings.TrimRight(line, "\r\n")] = struct{}{}
	}
	return set
})

// IsCommonPassword reports whether password, lower-cased, is one of the
// 10,000 most common passwords.
func IsCommonPassword(password string) bool {
	_, ok := commonSet()[strings.ToLower(password)]
	return ok
}

// CheckPassword is the password policy: it returns a *FieldError for field
// (a 400 ValidationError in Strapi's shape, naming the field) when password
// may not be chosen as a new password under the current settings, and nil
// when it may. Every flow that sets a password calls it, the password reset
// included.
func (s *Service) CheckPassword(ctx context.Context, field, password string) error {
	st, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	return checkNewPassword(field, password, st, 0)
}

// checkNewPassword is CheckPassword with the settings at hand; floor raises
// the minimum length (administrators' passwords have at least 10).
func checkNewPassword(field, password string, st Settings, floor int) error {
	minLen := max(st.PasswordMinLength, floor)
	if err := checkPassword(field, password, minLen); err != nil {
		return err
	}
	if st.PasswordRefuseCommon && IsCommonPassword(password) {
		return Invalid(field, "%s is one of the most common passwords; choose another", field)
	}
	return nil
}
