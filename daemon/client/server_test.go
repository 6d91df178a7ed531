package client

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// serveUnix serves h on a Unix socket in a temporary directory, as jaild
// does, and returns the socket's path. The server closes with the test.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 { // sun_path holds 108 bytes; long test names overflow it
		d, err := os.MkdirTemp("", "jc")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	path := filepath.Join(dir, "jaild.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)
	return path
}

// canned answers every request with one status, content type and body.
func canned(status int, contentType, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}
