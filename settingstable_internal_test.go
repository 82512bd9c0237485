package refreshing

import (
	"reflect"
	"testing"
)

// TestSettingsTable: the table describes every field of Settings exactly
// once, each default is written as Value shows it, and keys, form names
// and variables are unique. A field added to Settings without a row fails
// here.
func TestSettingsTable(t *testing.T) {
	var st Settings
	leaves := map[uintptr]string{}
	var walk func(v reflect.Value, name string)
	walk = func(v reflect.Value, name string) {
		if v.Kind() == reflect.Struct && v.Type().Name() != "Duration" {
			for i := range v.NumField() {
				walk(v.Field(i), name+"."+v.Type().Field(i).Name)
			}
			return
		}
		leaves[v.Addr().Pointer()] = name
	}
	walk(reflect.ValueOf(&st).Elem(), "Settings")
	seen := map[string]bool{}
	for _, d := range SettingsTable() {
		addr := reflect.ValueOf(d.ptr(&st)).Pointer()
		if _, ok := leaves[addr]; !ok {
			t.Errorf("%s: ptr is not a field of Settings, or two rows share it", d.Key)
		}
		delete(leaves, addr)
		for _, k := range []string{"key " + d.Key, "field " + d.Field, "env " + d.Env} {
			if k != "env " && seen[k] {
				t.Errorf("%s is used twice", k)
			}
			seen[k] = true
		}
		if got := d.Value(DefaultSettings()); got != d.Default {
			t.Errorf("%s: Default %q is written %q", d.Key, d.Default, got)
		}
	}
	for _, name := range leaves {
		t.Errorf("%s has no row in the settings table", name)
	}
	groups := map[string]bool{"": true}
	for _, g := range SettingGroups() {
		groups[g.Title] = true
	}
	for _, d := range settingsTable {
		if !groups[d.Group] {
			t.Errorf("%s: group %q is not a heading of SettingGroups", d.Key, d.Group)
		}
	}
}
