package rootfs

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// publish digests a finished tree (a directory inside s.Dir), moves it to
// <name>@<digest>, writes its metadata and points the name at it. If that
// digest is already stored and intact, the stored image is reused and tree
// is discarded. img.Created is the start of the build or import.
func (s *Store) publish(log *slog.Logger, tree string, img Image) (Image, error) {
	digest, st, err := digestTree(tree)
	if err != nil {
		return Image{}, err
	}
	img.Digest, img.Files, img.SizeBytes = digest, st.Files, st.Size
	unlock, err := s.lock()
	if err != nil {
		return Image{}, err
	}
	defer unlock()
	final := filepath.Join(s.Dir, img.Ref())
	reused, err := s.place(log, tree, final, digest)
	if err != nil {
		return Image{}, err
	}
	img.Path = final
	if reused {
		if old, err := s.load(img.Name, img.Digest); err == nil {
			log.Info("reusing stored rootfs with the same digest", "ref", img.Ref(), "created", old.Created)
			return old, s.pointName(old.Name, old.Ref())
		}
	}
	img.BuildTime = time.Since(img.Created)
	if err := s.writeMeta(img); err != nil {
		return Image{}, err
	}
	if err := s.pointName(img.Name, img.Ref()); err != nil {
		return Image{}, err
	}
	return img, nil
}

// place renames tree to final unless an intact tree with that digest is
// already there (reused). A damaged one is replaced.
func (s *Store) place(log *slog.Logger, tree, final, digest string) (reused bool, err error) {
	_, err = os.Lstat(final)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("stat %s: %w", final, err)
	default:
		if got, err := Digest(final); err == nil && got == digest {
			return true, s.discard(tree)
		}
		log.Warn("replacing damaged stored tree", "path", final)
		if err := s.discard(final); err != nil {
			return false, err
		}
	}
	if err := os.Rename(tree, final); err != nil {
		return false, fmt.Errorf("publish %s: %w", final, err)
	}
	// The tree was built inside a 0700 work directory; its own mode is not
	// part of the digest.
	if err := os.Chmod(final, 0o755); err != nil {
		return false, fmt.Errorf("publish %s: %w", final, err)
	}
	return false, nil
}

// writeMeta writes <ref>.json via a temporary file and rename(2), so that
// readers see the old file or the complete new one.
func (s *Store) writeMeta(img Image) error {
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", img.Ref(), err)
	}
	f, err := os.CreateTemp(s.Dir, ".meta-") // O_EXCL
	if err != nil {
		return fmt.Errorf("write metadata of %s: %w", img.Ref(), err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.Dir, img.Ref()+".json"))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write metadata of %s: %w", img.Ref(), err)
	}
	return s.syncDir()
}

// pointName makes <name> a symlink to ref by renaming a fresh symlink over
// it, so that Lookup(name) never finds the name missing.
func (s *Store) pointName(name, ref string) error {
	tmp := filepath.Join(s.Dir, ".link-"+rand.Text())
	if err := os.Symlink(ref, tmp); err != nil {
		return fmt.Errorf("point %s at %s: %w", name, ref, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.Dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("point %s at %s: %w", name, ref, err)
	}
	return s.syncDir()
}

func (s *Store) syncDir() error {
	d, err := os.Open(s.Dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", s.Dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.Dir, err)
	}
	return nil
}

// discard removes a tree inside the store: first renamed out of the way
// (atomic: nothing finds a half-removed tree under its old name), then
// deleted. Directories without owner write permission (possible when the
// store does not run as root) are made writable first.
func (s *Store) discard(p string) error {
	trash := filepath.Join(s.Dir, ".trash-"+rand.Text())
	if err := os.Rename(p, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove %s: %w", p, err)
	}
	if err := os.RemoveAll(trash); err == nil {
		return nil
	}
	filepath.WalkDir(trash, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}
