package rootfs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ImportOptions tune Import.
type ImportOptions struct {
	Logger *slog.Logger // nil discards
	// Strip drops setuid/setgid bits and skips device nodes, fifos and
	// sockets instead of refusing the source; each is logged. Escaping
	// symlinks and bad archive names are refused regardless.
	Strip bool
}

// Import copies a root filesystem into the store as name (a new current
// image of that name) for language ("" guesses it from the interpreter
// found, python first). src is a directory or a tar archive,
// plain, gzip or bzip2 compressed, recognised by content (a docker export
// works). The source is only read; symlinks in it are copied, never
// followed. Anything a jail must not get is refused with a *CheckError
// listing every problem (wrapping ErrBadTree). The copy gets the mount
// points, /etc/passwd and /etc/group if missing, root:root ownership and
// normalised modes, and is digested like a build.
func (s *Store) Import(ctx context.Context, name, language, src string, opts ImportOptions) (Image, error) {
	log := discardLogger(opts.Logger).With("rootfs", name)
	start := time.Now()
	if !nameRE().MatchString(name) {
		return Image{}, fmt.Errorf("import %s: %w: bad name %q", src, ErrInvalidRef, name)
	}
	if language != "" {
		if err := validLanguage(language); err != nil {
			return Image{}, fmt.Errorf("import %s: %w", src, err)
		}
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", src, err)
	}
	work, err := os.MkdirTemp(s.Dir, ".import-"+name+"-")
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", src, err)
	}
	defer s.discard(work)
	root := filepath.Join(work, "root")
	interp, err := copyIn(ctx, log, abs, root, language, opts.Strip)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", src, err)
	}
	if language == "" {
		language = languageOf(interp)
		log.Info("guessed language from the interpreter", "language", language, "interpreter", interp)
	}
	img := Image{Name: name, Language: language, Interpreter: interp,
		Source: "import:" + abs, Created: start.UTC()}
	img, err = s.publish(log, root, img)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", src, err)
	}
	log.Info("imported rootfs", "ref", img.Ref(), "source", abs,
		"size_bytes", img.SizeBytes, "files", img.Files, "seconds", time.Since(start).Seconds())
	return img, nil
}

// copyIn extracts src into a new directory root, completes and checks it,
// and returns the interpreter found.
func copyIn(ctx context.Context, log *slog.Logger, src, root, language string, strip bool) (string, error) {
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", err
	}
	defer r.Close()
	x := newExtractor(r, log, strip, src)
	if err := readSource(ctx, src, x.add); err != nil {
		return "", err
	}
	if err := x.finish(); err != nil {
		return "", err
	}
	if err := addSkeleton(r, log, false); err != nil {
		return "", err
	}
	if err := normalise(r, log); err != nil {
		return "", err
	}
	interp, err := check(root, language)
	var ce *CheckError
	if errors.As(err, &ce) {
		x.ce.merge(ce)
	} else if err != nil {
		return "", err
	}
	if err := x.ce.orNil(); err != nil {
		return "", err
	}
	return interp, nil
}

// readSource feeds every entry of src, a directory or an archive, to add.
func readSource(ctx context.Context, src string, add func(entry) error) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if info.IsDir() {
		r, err := os.OpenRoot(src)
		if err != nil {
			return err
		}
		defer r.Close()
		return walkSource(ctx, r, ".", add)
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr, err := openArchive(f)
	if err != nil {
		return err
	}
	return readTar(ctx, tr, add)
}

// Magic numbers of the compressions an archive may come in.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// openArchive returns a tar stream, decompressing by content rather than
// by file name: exports are often named .tar whatever they hold.
func openArchive(f io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return gzip.NewReader(br)
	case bytes.HasPrefix(head, bzip2Magic):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(head, xzMagic):
		return nil, errors.New("xz-compressed archives are not supported: decompress first")
	case bytes.HasPrefix(head, zstdMagic):
		return nil, errors.New("zstd-compressed archives are not supported: decompress first")
	case len(head) < 512:
		return nil, errors.New("not a tar archive: shorter than one header")
	}
	return br, nil
}

func readTar(ctx context.Context, r io.Reader, add func(entry) error) error {
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return errors.New("read archive: no entries")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive entry %d: %w", n, err)
		}
		e := entry{name: hdr.Name, perm: uint32(hdr.Mode) & 0o7777, size: hdr.Size, link: hdr.Linkname}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeCont, tar.TypeGNUSparse:
			e.kind = kindFile
			e.open = func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }
		case tar.TypeDir:
			e.kind = kindDir
		case tar.TypeSymlink:
			e.kind = kindSymlink
		case tar.TypeLink:
			e.kind = kindHardlink
		case tar.TypeChar:
			e.kind = kindChar
		case tar.TypeBlock:
			e.kind = kindBlock
		case tar.TypeFifo:
			e.kind = kindFifo
		default:
			e.kind, e.desc = kindOther, fmt.Sprintf("%q", hdr.Typeflag)
		}
		if err := add(e); err != nil {
			return err
		}
	}
}

// walkSource feeds the entries below dir of a source directory to add, in
// name order, parents before children. It lstat()s everything and follows
// no symlink: the Root keeps every access inside the source, and a file is
// only read if the opened file is the one lstat() saw.
func walkSource(ctx context.Context, r *os.Root, dir string, add func(entry) error) error {
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	des, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := path.Join(dir, de.Name())
		info, err := r.Lstat(name)
		if err != nil {
			return err
		}
		e := entry{name: name, perm: unixPerm(info), size: info.Size()}
		switch m := info.Mode(); {
		case m.IsDir():
			e.kind = kindDir
		case m.IsRegular():
			e.kind, e.open = kindFile, openSame(r, name, info)
		case m&fs.ModeSymlink != 0:
			e.kind = kindSymlink
			if e.link, err = r.Readlink(name); err != nil {
				return err
			}
		case m&fs.ModeCharDevice != 0:
			e.kind = kindChar
		case m&fs.ModeDevice != 0:
			e.kind = kindBlock
		case m&fs.ModeNamedPipe != 0:
			e.kind = kindFifo
		case m&fs.ModeSocket != 0:
			e.kind = kindSocket
		default:
			e.kind, e.desc = kindOther, m.Type().String()
		}
		if err := add(e); err != nil {
			return err
		}
		if e.kind == kindDir {
			if err := walkSource(ctx, r, name, add); err != nil {
				return err
			}
		}
	}
	return nil
}

// openSame opens name for reading, refusing it if it is no longer the file
// lstat() saw (replaced by a symlink, a fifo or another file since).
func openSame(r *os.Root, name string, seen fs.FileInfo) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, err
		}
		info, err := f.Stat()
		if err == nil && (!os.SameFile(info, seen) || info.Size() != seen.Size()) {
			err = fmt.Errorf("%s changed while being copied", name)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
}
