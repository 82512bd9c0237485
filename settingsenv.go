package refreshing

import (
	"context"
	"fmt"
	"strings"
)

// The configuration story (docs/operations.md): bootstrap configuration
// (address, database, issuer, keys) comes from flags, then REFRESHING_*
// variables, then defaults, and is never stored. Runtime settings (Settings)
// are stored in the database and edited on the admin screen; a REFRESHING_*
// variable that is set wins over the stored value: serve writes it into the
// stored settings at every start and logs each value it replaced
// (ApplyEnvSettings). An administrator's later edit applies until the next
// start with the variable still set.

// SettingVar describes one runtime setting for documentation and for
// `refreshing config`.
type SettingVar struct {
	Name    string // the JSON name, as stored and on the admin screen ("accessTTL")
	Env     string // the variable that sets it ("REFRESHING_ACCESS_TTL"); "" if none does
	Default string // the default, as JSON shows it ("15m0s", "true", "30")
}

// SettingVars lists every runtime setting in SettingsTable's order (a
// nested group's settings by dotted name: "mail.serviceName"), with the
// variable that sets it.
func SettingVars() []SettingVar {
	out := make([]SettingVar, len(settingsTable))
	for i, d := range settingsTable {
		out[i] = SettingVar{Name: d.Key, Env: d.Env, Default: d.Value(defaultSettings)}
	}
	return out
}

// SettingField is one runtime setting's name and value as JSON shows them.
type SettingField struct {
	Name  string // JSON name ("accessTTL"); dotted inside a group ("mail.serviceName")
	Value string // "15m0s", "true", "30", "https://a.example.com"
}

// SettingsFields returns st's settings in SettingsTable's order, with their
// values as text (strings unquoted).
func SettingsFields(st Settings) []SettingField {
	out := make([]SettingField, len(settingsTable))
	for i, d := range settingsTable {
		out[i] = SettingField{Name: d.Key, Value: d.Value(st)}
	}
	return out
}

// SettingChange is a stored runtime setting that a variable replaced.
type SettingChange struct {
	Name     string // JSON name
	Env      string // the variable
	From, To string // the stored value and the variable's, as JSON shows them
}

// ApplyEnvSettings makes the environment win over the stored settings: it
// reads the stored settings, overrides them with every REFRESHING_* variable
// that is set (Settings.WithEnv), and saves the result if anything changed,
// with an audit event by "environment". It returns what changed, for the
// caller to log; an invalid variable is an error naming it and changes
// nothing. serve calls it once at start (other commands never change the
// settings), so an administrator's edit of a setting a variable pins holds
// until the next start.
func (s *Service) ApplyEnvSettings(ctx context.Context, getenv func(string) string) ([]SettingChange, error) {
	stored, err := s.store.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	merged, err := stored.WithEnv(getenv)
	if err != nil {
		return nil, err
	}
	pinned := map[string]string{}
	for _, v := range SettingVars() {
		if v.Env != "" && getenv(v.Env) != "" {
			pinned[v.Name] = v.Env
		}
	}
	var changes []SettingChange
	before, after := SettingsFields(stored), SettingsFields(merged)
	for i, f := range after {
		if i < len(before) && before[i].Value != f.Value {
			changes = append(changes, SettingChange{Name: f.Name, Env: pinned[f.Name], From: before[i].Value, To: f.Value})
		}
	}
	if len(changes) > 0 {
		if err := s.UpdateSettings(ctx, merged); err != nil {
			return nil, err
		}
		parts := make([]string, len(changes))
		for i, c := range changes {
			parts[i] = fmt.Sprintf("%s %s → %s (%s)", c.Name, c.From, c.To, c.Env)
		}
		s.audit(ctx, AuditEvent{Type: AuditSettingsChange, Actor: "environment", Detail: strings.Join(parts, "; ")})
	}
	s.mu.Lock()
	s.envPinned = pinned
	s.mu.Unlock()
	return changes, nil
}

// EnvSettings returns the runtime settings that variables set at the last
// ApplyEnvSettings, by JSON name, with the variable's name: the admin screen
// can say that a start puts them back.
func (s *Service) EnvSettings() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.envPinned))
	for k, v := range s.envPinned {
		out[k] = v
	}
	return out
}
