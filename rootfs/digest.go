package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// digestHeader starts every digest stream; bump it if the format changes.
const digestHeader = "jaild-rootfs-digest-v1\n"

// Digest returns "sha256:<hex>" over a normalised listing of the tree at
// root, so that two trees with the same content agree however they were
// made. Owners, groups, timestamps, inode numbers and link counts are left
// out; hardlinked names count as separate files.
//
// Format: sha256 of the bytes
//
//	"jaild-rootfs-digest-v1\n"
//
// followed by one record per entry below root (root itself is left out: the
// store fixes its mode), ordered by the bytes of its slash-separated path
// relative to root (e.g. "etc", "etc/passwd", "usr/bin/python3"):
//
//	TYPE NUL PERM NUL PATH NUL DATA NUL
//
//	TYPE  "d" directory, "f" regular file, "l" symlink, "c" char device,
//	      "b" block device, "p" fifo, "s" socket
//	PERM  four octal digits of the mode's low 12 bits (setuid 4000,
//	      setgid 2000, sticky 1000, rwxrwxrwx); "0777" for every symlink
//	DATA  file: "<size in decimal>:<lowercase hex sha256 of the content>"
//	      symlink: the target, byte for byte
//	      device: "<rdev in decimal>"
//	      otherwise empty
//
// Paths cannot contain NUL and every record has exactly four NUL-terminated
// fields, so the stream parses one way only.
func Digest(root string) (string, error) {
	d, _, err := digestTree(root)
	return d, err
}

// treeStats is what the digest walk learns on the way.
type treeStats struct {
	Files int   // regular files
	Size  int64 // sum of regular file sizes
}

type digestEntry struct {
	path string // relative, slash-separated
	kind byte
	perm uint32
	size int64
	data string // symlink target, rdev, or (after hashing) the file's hex sha256
}

func digestTree(root string) (string, treeStats, error) {
	var st treeStats
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", st, fmt.Errorf("digest %s: %w", root, err)
	}
	entries, err := listTree(root)
	if err != nil {
		return "", st, fmt.Errorf("digest %s: %w", root, err)
	}
	if err := hashFiles(root, entries); err != nil {
		return "", st, fmt.Errorf("digest %s: %w", root, err)
	}
	h := sha256.New()
	io.WriteString(h, digestHeader)
	for _, e := range entries {
		writeRecord(h, e)
		if e.kind == 'f' {
			st.Files++
			st.Size += e.size
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), st, nil
}

func writeRecord(w io.Writer, e digestEntry) {
	data := e.data
	if e.kind == 'f' {
		data = strconv.FormatInt(e.size, 10) + ":" + e.data
	}
	fmt.Fprintf(w, "%c\x00%04o\x00%s\x00%s\x00", e.kind, e.perm, e.path, data)
}

// listTree lstat()s every entry below root without following symlinks and
// returns them sorted by path bytes.
func listTree(root string) ([]digestEntry, error) {
	var entries []digestEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e := digestEntry{path: filepath.ToSlash(rel), perm: unixPerm(info)}
		switch m := info.Mode(); {
		case m.IsDir():
			e.kind = 'd'
		case m.IsRegular():
			e.kind = 'f'
		case m&fs.ModeSymlink != 0:
			e.kind, e.perm = 'l', 0o777
			if e.data, err = os.Readlink(p); err != nil {
				return err
			}
		case m&fs.ModeCharDevice != 0:
			e.kind, e.data = 'c', strconv.FormatUint(rdev(info), 10)
		case m&fs.ModeDevice != 0:
			e.kind, e.data = 'b', strconv.FormatUint(rdev(info), 10)
		case m&fs.ModeNamedPipe != 0:
			e.kind = 'p'
		case m&fs.ModeSocket != 0:
			e.kind = 's'
		default:
			return fmt.Errorf("%s: unknown file type %v", p, m.Type())
		}
		entries = append(entries, e)
		return nil
	})
	slices.SortFunc(entries, func(a, b digestEntry) int { return strings.Compare(a.path, b.path) })
	return entries, err
}

// hashFiles fills in size and sha256 of every regular file with a bounded
// pool of workers: a python tree is ~50 MB and a node tree ~113 MB, so hashing is CPU-bound once the page cache is warm.
func hashFiles(root string, entries []digestEntry) error {
	jobs := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	workers := min(runtime.GOMAXPROCS(0), 8)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for i := range jobs {
				e := &entries[i]
				size, sum, err := hashFile(filepath.Join(root, filepath.FromSlash(e.path)), buf)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				e.size, e.data = size, sum
			}
		})
	}
	for i := range entries {
		if entries[i].kind == 'f' {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	return errors.Join(errs...)
}

// hashFile hashes what it reads, not what lstat said: size is the number of
// bytes hashed. O_NOFOLLOW|O_NONBLOCK plus the fstat check mean a file
// swapped for a symlink or fifo since the walk fails instead of being
// followed or blocking.
func hashFile(p string, buf []byte) (int64, string, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	if !info.Mode().IsRegular() {
		return 0, "", fmt.Errorf("%s: changed type during digest", p)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, buf)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// unixPerm returns the low 12 mode bits as stat(2) reports them.
func unixPerm(info fs.FileInfo) uint32 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Mode & 0o7777
	}
	m := info.Mode()
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// fileMode converts low 12 unix mode bits to an fs.FileMode for os calls.
func fileMode(p uint32) fs.FileMode {
	m := fs.FileMode(p & 0o777)
	if p&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if p&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if p&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func rdev(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Rdev
	}
	return 0
}
