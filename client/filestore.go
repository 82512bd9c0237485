package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileStore is a TokenStore in a JSON file that only its owner can read
// (mode 0600, in a directory created 0700 if missing), for command-line and
// desktop programs that must stay signed in across restarts. Save replaces
// the file atomically (a temporary file, synced, then renamed over it), so a
// crash leaves the old token or the new one, never half of either. The file
// holds a live refresh token: treat it like a password.
type FileStore struct {
	Path string
}

// Load implements TokenStore. A missing file means no token.
func (s FileStore) Load(context.Context) (*Token, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var tok Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("token file %s: %w", s.Path, err)
	}
	return &tok, nil
}

// Save implements TokenStore.
func (s FileStore) Save(_ context.Context, tok *Token) (err error) {
	b, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.Path)+".*.tmp") // created 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), s.Path); err != nil {
		return err
	}
	// Make the rename itself durable. Not every system can sync a
	// directory; the file's content is on disk either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
