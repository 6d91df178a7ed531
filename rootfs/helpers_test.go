package rootfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// requireRoot skips t, saying why, unless the test runs as root.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root (%s); CI runs this as root", why)
	}
}

// node is one entry of a test tree or archive.
type node struct {
	path    string // relative, slash-separated
	kind    byte   // 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'p' fifo, 'c' char device
	mode    int64  // low 12 bits
	content string // file content, or link target
}

func file(p string, mode int64, content string) node { return node{p, 'f', mode, content} }
func dir(p string, mode int64) node                  { return node{p, 'd', mode, ""} }
func link(p, target string) node                     { return node{p, 'l', 0o777, target} }

// goodNodes is the smallest tree Check accepts: mount points and a python.
func goodNodes() []node {
	return []node{
		dir("dev", 0o755), dir("proc", 0o755), dir("sys", 0o755), dir("tmp", 0o1777), dir("work", 0o755),
		dir("usr", 0o755), dir("usr/bin", 0o755), dir("usr/lib", 0o755),
		file("usr/bin/python3.11", 0o755, "#!python\n"),
		link("usr/bin/python3", "python3.11"),
		dir("etc", 0o755), file("etc/passwd", 0o644, "root:x:0:0::/:/x\n"),
		file("usr/lib/data.txt", 0o644, "hello"),
	}
}

// makeTree writes nodes under a new temp dir (in order) and returns it.
func makeTree(t *testing.T, nodes []node) string {
	t.Helper()
	root := t.TempDir()
	for _, n := range nodes {
		p := filepath.Join(root, filepath.FromSlash(n.path))
		var err error
		switch n.kind {
		case 'f':
			if err = os.WriteFile(p, []byte(n.content), 0o600); err == nil {
				err = os.Chmod(p, fileMode(uint32(n.mode)))
			}
		case 'd':
			if err = os.Mkdir(p, 0o700); err == nil {
				err = os.Chmod(p, fileMode(uint32(n.mode)))
			}
		case 'l':
			err = os.Symlink(n.content, p)
		case 'h':
			err = os.Link(filepath.Join(root, n.content), p)
		case 'p':
			err = syscall.Mkfifo(p, uint32(n.mode))
		case 'c':
			err = syscall.Mknod(p, syscall.S_IFCHR|uint32(n.mode), 1<<8|3) // like /dev/null
		}
		if err != nil {
			t.Fatalf("make %s: %v", n.path, err)
		}
	}
	return root
}

// makeTar returns a tar archive of nodes, gzipped if gz.
func makeTar(t *testing.T, nodes []node, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, n := range nodes {
		h := &tar.Header{Name: n.path, Mode: n.mode, ModTime: time.Unix(1e9, 0), Uid: 1000, Gid: 1000}
		switch n.kind {
		case 'f':
			h.Typeflag, h.Size = tar.TypeReg, int64(len(n.content))
		case 'd':
			h.Typeflag = tar.TypeDir
		case 'l':
			h.Typeflag, h.Linkname = tar.TypeSymlink, n.content
		case 'h':
			h.Typeflag, h.Linkname = tar.TypeLink, n.content
		case 'p':
			h.Typeflag = tar.TypeFifo
		case 'c':
			h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, 1, 3
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatalf("tar header %s: %v", n.path, err)
		}
		if n.kind == 'f' {
			w.Write([]byte(n.content))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writeFile writes data to a new file in a temp dir and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "rootfs"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}
