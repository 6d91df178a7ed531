package container

import (
	"errors"
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/jaild/jaild/jail"
)

// startInit starts the jail's init, j.spec.Argv in /work, with stdin,
// stdout and stderr on fresh pipes, and extra as fd 3, 4, … in the jail.
// It returns the runner's ends: the stdin writer and the two output
// readers, which teardown closes. The jail's ends, extra among them, are
// closed before it returns, started or not, so EOF can arrive once the
// jail's own copies go.
func (j *run) startInit(extra ...*os.File) (inW, outR, errR *os.File, err error) {
	theirs := extra // the jail's ends, closed once it holds its own copies
	defer func() {
		for _, f := range theirs {
			f.Close()
		}
	}()
	var opened []*os.File
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			opened = append(opened, r, w)
		}
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		for _, f := range opened {
			f.Close()
		}
		return nil, nil, nil, fmt.Errorf("create stdio pipes: %w", err)
	}
	theirs = append(append([]*os.File(nil), extra...), inR, outW, errW)
	j.readers = []*os.File{outR, errR}
	j.push(func() error {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil
	})
	j.process = &libcontainer.Process{
		Args:       j.spec.Argv,
		Env:        j.spec.Env,
		Cwd:        jail.WorkDir,
		Stdin:      inR,
		Stdout:     outW,
		Stderr:     errW,
		ExtraFiles: extra,
		Init:       true,
	}
	if err := j.ct.Run(j.process); err != nil {
		j.process = nil
		return nil, nil, nil, err
	}
	return inW, outR, errR, nil
}
