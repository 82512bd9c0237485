package mail_test

import (
	"strings"
	"testing"

	"github.com/refreshing/refreshing/internal/mail"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url, from string
		want      string // String(), or "" for an error
	}{
		{"smtp://mail.example.com", "a@example.com", "mail.example.com:25 (starttls)"},
		{"smtp://ada:p%40ss@mail.example.com:2525", "Acme <a@example.com>", "ada@mail.example.com:2525 (starttls)"},
		{"smtp+starttls://ada:pw@mail.example.com", "a@example.com", "ada@mail.example.com:587 (starttls-required)"},
		{"smtps://ada:pw@mail.example.com", "a@example.com", "ada@mail.example.com:465 (implicit)"},
		{"smtp://[::1]:25", "a@example.com", "::1:25 (starttls)"},
		{"http://mail.example.com", "a@example.com", ""},
		{"smtp://", "a@example.com", ""},
		{"smtp://mail.example.com:0", "a@example.com", ""},
		{"smtp://mail.example.com:70000", "a@example.com", ""},
		{"smtp://mail.example.com/x", "a@example.com", ""},
		{"smtp://mail.example.com?tls=no", "a@example.com", ""},
		{"smtp://:pw@mail.example.com", "a@example.com", ""},
		{"smtp://mail.example.com", "", ""},
		{"smtp://mail.example.com", "not an address", ""},
	} {
		m, err := mail.New(tc.url, tc.from)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("New(%q, %q) = %v, want an error", tc.url, tc.from, m)
		case tc.want != "" && err != nil:
			t.Errorf("New(%q, %q): %v", tc.url, tc.from, err)
		case tc.want != "" && m.String() != tc.want:
			t.Errorf("New(%q) = %s, want %s", tc.url, m, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q): the error shows the password: %v", tc.url, err)
		}
	}
}
