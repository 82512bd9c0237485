package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestModuleGraph: client/ is a module of its own, and an application that
// imports it pulls in nothing else: `go mod graph`, run here, names only
// this module, the go version and the toolchain. A requirement added to
// client/go.mod (a JWT library, a driver of the server's) fails this test.
func TestModuleGraph(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the module graph: %v", err)
	}
	cmd := exec.Command(gobin, "mod", "graph")
	cmd.Dir = "."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go mod graph: %v\n%s", err, out)
	}
	const self = "github.com/refreshing/refreshing/client"
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 || lines[0] != self {
		t.Fatalf("go mod graph does not start with %s:\n%s", self, out)
	}
	for _, m := range lines {
		if m != self && !strings.HasPrefix(m, "go@") && !strings.HasPrefix(m, "toolchain@") {
			t.Errorf("client's module graph has %s: an application importing client would inherit it", m)
		}
	}
}
