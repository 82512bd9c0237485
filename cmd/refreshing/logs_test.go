package main_test

import (
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSONLogsToTheLastLine: with REFRESHING_LOG_FORMAT=json, everything
// the binary writes is JSON, even why it stops (here: its address is
// taken), and its stdout stays empty.
func TestJSONLogsToTheLastLine(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cmd := exec.Command(binary(t), "serve", "--addr", taken.Addr().String())
	cmd.Env = serveEnv(filepath.Join(t.TempDir(), "refreshing.db"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve on a taken address: %v, want exit status 1\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q, want nothing", stdout.String())
	}
	var last map[string]any
	for line := range strings.Lines(stderr.String()) {
		if err := json.Unmarshal([]byte(line), &last); err != nil {
			t.Fatalf("a line that is not JSON: %q", line)
		}
	}
	if last["msg"] != "serve stopped" || last["level"] != "ERROR" || !strings.Contains(last["err"].(string), "address already in use") {
		t.Errorf("last line %v, want the reason serve stopped", last)
	}
}
