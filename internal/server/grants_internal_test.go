package server

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/refreshing/refreshing"
)

// TestGrantTable: refreshing.GrantTypes is the one description of the
// grants. Every grant in it has a handler here and no handler serves a
// grant it lacks; openapi.json, a committed file, names exactly its grants
// wherever it enumerates them (the token request's grant_type, the admin
// API's client grants), so that a new grant cannot be left out of the
// contract.
func TestGrantTable(t *testing.T) {
	names := refreshing.GrantNames(false)
	for _, n := range names {
		if grantHandlers[n] == nil {
			t.Errorf("grant %s is in refreshing.GrantTypes but has no handler in grantHandlers", n)
		}
	}
	for n := range grantHandlers {
		if !slices.Contains(names, n) {
			t.Errorf("grantHandlers serves %s, which refreshing.GrantTypes does not describe", n)
		}
	}

	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "grant_type" || k == "grants" {
					schema, _ := x.(map[string]any)
					if items, ok := schema["items"].(map[string]any); ok {
						schema = items
					}
					if enum, ok := schema["enum"].([]any); ok {
						found++
						var got []string
						for _, e := range enum {
							s, _ := e.(string)
							got = append(got, s)
						}
						if !slices.Equal(got, names) {
							t.Errorf("openapi.json %s/%s enumerates %q, want refreshing.GrantTypes' %q", path, k, got, names)
						}
					}
				}
				walk(path+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("", doc)
	if found < 3 {
		t.Errorf("openapi.json enumerates the grants in %d places, want 3 (token request, client creation, client)", found)
	}
}
