package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerfile is what TestDockerfile reads of ../../Dockerfile: the final
// stage's instructions, and the directories the build stages make.
type dockerfile struct {
	made     map[string]bool   // directories a build stage's RUN mkdir -p makes
	copies   map[string]string // final stage: destination -> --chown of a COPY --from
	sources  map[string]string // final stage: destination -> source of that COPY
	volumes  []string
	env      map[string]string
	user     string
	entry    string
	cmd      string
	finalRef string
}

// parseDockerfile reads the instructions TestDockerfile checks. It knows the
// few forms the repository's Dockerfile uses, and fails on a FROM count it
// does not expect rather than guessing.
func parseDockerfile(t *testing.T, name string) dockerfile {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := dockerfile{made: map[string]bool{}, copies: map[string]string{}, sources: map[string]string{}, env: map[string]string{}}
	var lines []string
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		lines = append(lines, cont+l)
		cont = ""
	}
	stages := 0
	mkdir := regexp.MustCompile(`mkdir -p ((?:\S+ ?)+)`)
	for _, l := range lines {
		fields := strings.Fields(l)
		instr, args := strings.ToUpper(fields[0]), fields[1:]
		final := stages == 2
		switch {
		case instr == "FROM":
			stages++
			d.finalRef = args[0]
		case instr == "RUN" && !final:
			if m := mkdir.FindStringSubmatch(l); m != nil {
				for _, dir := range strings.Fields(strings.Split(m[1], "&&")[0]) {
					d.made[dir] = true
				}
			}
		case instr == "COPY" && final:
			chown := ""
			var rest []string
			for _, a := range args {
				switch {
				case strings.HasPrefix(a, "--chown="):
					chown = strings.TrimPrefix(a, "--chown=")
				case strings.HasPrefix(a, "--"):
				default:
					rest = append(rest, a)
				}
			}
			dst := rest[len(rest)-1]
			d.copies[dst], d.sources[dst] = chown, rest[0]
		case instr == "VOLUME" && final:
			d.volumes = append(d.volumes, args...)
		case instr == "ENV" && final:
			for _, kv := range args {
				k, v, _ := strings.Cut(kv, "=")
				d.env[k] = v
			}
		case instr == "USER" && final:
			d.user = args[0]
		case instr == "ENTRYPOINT" && final:
			d.entry = strings.Join(args, " ")
		case instr == "CMD" && final:
			d.cmd = strings.Join(args, " ")
		}
	}
	if stages != 2 {
		t.Fatalf("the Dockerfile has %d stages; this test reads a build stage and a final one", stages)
	}
	return d
}

// TestDockerfile proves by inspection what no Docker engine here can show:
// the image starts on a fresh named volume. Docker gives a new named volume
// the owner of the image directory it is mounted on; the final stage must
// therefore ship /data owned by the user it runs as, and the database must
// live under it. Then the test runs the entrypoint's command with the
// image's environment, /data standing for a directory of ours, as that
// directory's owner.
func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t, filepath.Join("..", "..", "Dockerfile"))
	const nonroot = "65532:65532" // distroless's nonroot user and group
	if !strings.HasSuffix(d.finalRef, ":nonroot") {
		t.Errorf("final image %s is not a distroless :nonroot one", d.finalRef)
	}
	if d.user != nonroot && d.user != "nonroot:nonroot" && d.user != "nonroot" {
		t.Errorf("USER %q: want %s", d.user, nonroot)
	}
	if len(d.volumes) != 1 {
		t.Fatalf("VOLUME %v: want exactly one", d.volumes)
	}
	vol := d.volumes[0]
	if owner := d.copies[vol]; owner != nonroot {
		t.Errorf("%s is not copied into the final stage with --chown=%s (have %q): a fresh named volume would be root-owned and the service (uid 65532) could not create its database", vol, nonroot, owner)
	}
	if src := d.sources[vol]; !d.made[src] {
		t.Errorf("the build stage does not make %s, which is copied to %s", src, vol)
	}
	dbPath, ok := sqlitePath(d.env["REFRESHING_DB"])
	if !ok || !strings.HasPrefix(path.Clean(dbPath), vol+"/") {
		t.Fatalf("REFRESHING_DB=%q is not a SQLite file under the volume %s", d.env["REFRESHING_DB"], vol)
	}
	if d.entry != `["/usr/local/bin/refreshing"]` || d.cmd != `["serve"]` {
		t.Errorf("ENTRYPOINT %s CMD %s: want the binary and serve", d.entry, d.cmd)
	}
	if d.copies["/usr/local/bin/refreshing"] != "" {
		t.Error("the binary is owned by the service's user: it could rewrite itself")
	}

	// The entrypoint with the image's environment, /data replaced by an
	// empty directory like the fresh volume (owned by us, mode 0755 as
	// mkdir makes it): serve creates the database there and answers.
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range d.env {
		env[k] = strings.Replace(v, vol, data, 1)
	}
	env["REFRESHING_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{strings.Trim(d.cmd, `[]"`)}, func(k string) string { return env[k] }, io.Discard, logs)
	}()
	if _, err := listeningURL(logs.String, done); err != nil {
		t.Fatalf("the image's command did not start on an empty volume: %v\n%s", err, logs)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	fi, err := os.Stat(filepath.Join(data, filepath.Base(dbPath)))
	if err != nil {
		t.Fatalf("no database in the volume: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), `"msg":"listening"`) {
		t.Errorf("REFRESHING_LOG_FORMAT=json did not give JSON logs:\n%s", logs)
	}
}
