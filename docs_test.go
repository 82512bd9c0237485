package refreshing_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestReadme keeps the README a newcomer's page: the two commands first,
// and short enough to read (the long material lives in docs/).
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if n := len(readme); n > 16000 {
		t.Errorf("README.md is %d bytes: move the details to docs/ and keep a short section pointing there", n)
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no sh block")
	}
	var cmds []string
	for _, l := range strings.Split(block[1], "\n") {
		if c, _, _ := strings.Cut(l, "#"); strings.TrimSpace(c) != "" {
			cmds = append(cmds, strings.TrimSpace(c))
		}
	}
	if len(cmds) < 2 || cmds[0] != "go run ./cmd/refreshing" || cmds[1] != "bash scripts/test" {
		t.Errorf("the README's first commands are %q, want go run ./cmd/refreshing and bash scripts/test", cmds)
	}
}

// TestDocLinks checks that every relative link of the README and docs/
// names a file that exists and, with a #fragment, a heading in it.
func TestDocLinks(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	files = append(files, "README.md", "SECURITY.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			resolved := f
			if path != "" {
				resolved = filepath.Join(filepath.Dir(f), path)
			}
			body, err := os.ReadFile(resolved)
			if err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
				continue
			}
			if frag != "" && !hasAnchor(string(body), frag) {
				t.Errorf("%s links to %s: no heading with that anchor", f, target)
			}
		}
	}
}

// hasAnchor reports whether markdown has a heading whose GitHub anchor is frag.
func hasAnchor(markdown, frag string) bool {
	for _, l := range strings.Split(markdown, "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		if b.String() == frag {
			return true
		}
	}
	return false
}

// TestNoReferenceOutsideRepo keeps the repository self-contained: no source
// or page may point to the original contract outside it (the shared
// specification); what the repository documents lives in docs/.
func TestNoReferenceOutsideRepo(t *testing.T) {
	outside := []string{"../" + "shared", "shared/" + "spec", "(" + "API.md)", " " + "API.md"}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "node_modules" || name == ".git" || name == "dist" || name == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".ts", ".js", ".json", ".html", ".tmpl":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range outside {
			if strings.Contains(string(b), s) {
				t.Errorf("%s mentions %q: point to docs/api.md (in the repository) instead", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
