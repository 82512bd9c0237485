package server

import (
	"testing"

	"github.com/refreshing/refreshing"
)

// TestSettingsScreenFromTable: the settings screen shows every setting of
// refreshing.SettingsTable that has a heading, each once, under it, with
// the table's label and help; the mail screen finds a label and help for
// each of its fields in the table.
func TestSettingsScreenFromTable(t *testing.T) {
	shown := map[string]string{}
	for _, g := range groupSettings(settingFields(refreshing.DefaultSettings())) {
		for _, f := range g.Fields {
			if _, dup := shown[f.Name]; dup {
				t.Errorf("%s is shown twice", f.Name)
			}
			shown[f.Name] = g.Title
			if f.Label == "" || f.Help == "" {
				t.Errorf("%s has no label or help", f.Name)
			}
		}
	}
	for _, d := range refreshing.SettingsTable() {
		if d.Group != "" && shown[d.Field] != d.Group {
			t.Errorf("%s is under %q, want %q", d.Field, shown[d.Field], d.Group)
		}
	}
	for _, field := range []string{"mailServiceName", "resetPasswordURL", "confirmationRedirect", "resetCodeTTL", "confirmationCodeTTL", "mailRateLimit"} {
		if d := settingDesc(field); d.Label == "" || d.Help == "" {
			t.Errorf("the mail screen's %s has no label or help in the table", field)
		}
	}
}
