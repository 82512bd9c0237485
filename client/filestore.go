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
func (s FileStore) Save(_ context.Context, tok *Token) error {
	b, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.Path, append(b, '\n'), false)
}

// writeFileAtomic writes data to path through a temporary file (mode 0600,
// synced) renamed over it, creating the directory 0700 if missing, so that
// a crash leaves the old content or the new, never half of either. With
// exclusive, an existing file is left as it is and the error is
// fs.ErrExist.
func writeFileAtomic(path string, data []byte, exclusive bool) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // created 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
		os.Remove(f.Name()) // renamed or linked already when all went well
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if exclusive {
		// A hard link fails if path exists: of two programs creating the
		// file at once, one wins and the other reads its file.
		err = os.Link(f.Name(), path)
	} else {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
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
