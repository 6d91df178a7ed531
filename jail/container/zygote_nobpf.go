//go:build !seccomp

package container

import (
	"errors"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// compileBPF needs libseccomp: see zygote_bpf.go.
func compileBPF(*configs.Seccomp) ([]byte, uint32, error) {
	return nil, 0, errors.New("built without seccomp support (build with cgo and -tags seccomp)")
}
