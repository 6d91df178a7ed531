package container

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/jaild/jaild/jail"
)

// chunkReader returns data in pieces whose sizes come from sizes.
type chunkReader struct {
	data, sizes []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		n = int(r.sizes[0]) + 1
		r.sizes = r.sizes[1:]
	}
	n = min(n, len(r.data), len(p))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// FuzzCapture: whatever the stream and its chunking, the capture keeps
// exactly the first max bytes, counts the rest, and streams exactly the
// kept bytes, in order, to the notifier.
func FuzzCapture(f *testing.F) {
	f.Fuzz(func(t *testing.T, limit uint16, data, sizes []byte) {
		var streamed []byte
		c := newCapture(&chunkReader{data: data, sizes: sizes}, int64(limit), func(p []byte) {
			streamed = append(streamed, p...)
		})
		kept, dropped, err := c.wait()
		keep := min(int(limit), len(data))
		switch {
		case err != nil:
			t.Fatalf("error %v", err)
		case !bytes.Equal(kept, data[:keep]):
			t.Fatalf("kept %d bytes, want the first %d", len(kept), keep)
		case dropped != int64(len(data)-keep):
			t.Fatalf("dropped %d, want %d", dropped, len(data)-keep)
		case !bytes.Equal(streamed, kept):
			t.Fatalf("streamed %d bytes, kept %d", len(streamed), len(kept))
		}
	})
}

// FuzzSeccompProfile feeds OCI seccomp JSON through the conversion the
// runner applies to every Spec. It must not panic, and what it accepts must
// keep the profile's default action and every listed name as one rule.
func FuzzSeccompProfile(f *testing.F) {
	f.Fuzz(func(t *testing.T, profile []byte) {
		var sc specs.LinuxSeccomp
		if json.Unmarshal(profile, &sc) != nil {
			return
		}
		var cfg configs.Config
		if err := configureSeccomp(&cfg, jailParams{spec: &jail.Spec{Seccomp: &sc}}); err != nil {
			return
		}
		names := 0
		for _, s := range sc.Syscalls {
			names += len(s.Names)
		}
		if len(cfg.Seccomp.Syscalls) != names {
			t.Fatalf("%d rules from %d names", len(cfg.Seccomp.Syscalls), names)
		}
		if sc.DefaultAction == specs.ActAllow && cfg.Seccomp.DefaultAction != configs.Allow {
			t.Fatalf("default action %v from %s", cfg.Seccomp.DefaultAction, sc.DefaultAction)
		}
		if sc.DefaultAction != specs.ActAllow && cfg.Seccomp.DefaultAction == configs.Allow {
			t.Fatalf("default action became allow from %s", sc.DefaultAction)
		}
	})
}
