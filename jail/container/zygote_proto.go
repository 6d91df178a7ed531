package container

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/jaild/jaild/jail"
	"golang.org/x/sys/unix"
)

// The runner's side of the zygote protocol (see zygoteLoader).

// socketpair returns both ends of a unix socket pair as *net.UnixConn
// and *os.File: ours (non-blocking, with deadlines) and the one to hand on.
func socketpair(typ int, name string) (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s socket: %w", name, err)
	}
	f := os.NewFile(uintptr(fds[0]), name)
	c, err := net.FileConn(f) // dups the descriptor
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("open %s socket: %w", name, err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), name), nil
}

// readChildReady waits for the child's b"G": it is set up. b"E" (or EOF)
// means it could not become a jail: nothing of the script ran.
func readChildReady(conn *net.UnixConn) error {
	b := make([]byte, 1)
	if n, err := conn.Read(b); n != 1 || b[0] != 'G' {
		if n == 1 && b[0] == 'E' {
			msg, _ := io.ReadAll(io.LimitReader(conn, 4096))
			if n := len(msg) - 5; n >= 0 && msg[n] == 'S' {
				msg = msg[:n]
			}
			return fmt.Errorf("zygote child setup: %s", msg)
		}
		if err == nil {
			// The zygote's b"S": the child died before it was a jail.
			return fmt.Errorf("wait for zygote child setup: got %q", b[:n])
		}
		return fmt.Errorf("wait for zygote child setup: got %q: %w", b[:n], err)
	}
	return nil
}

// readChildPid reads the child's first byte and, from the credentials the
// kernel attached to it, the child's pid in this process's PID namespace.
func readChildPid(conn *net.UnixConn) (int, error) {
	_ = conn.SetReadDeadline(time.Now().Add(parkTimeout))
	defer conn.SetReadDeadline(time.Time{})
	b := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err := conn.ReadMsgUnix(b, oob)
	if err != nil || n != 1 {
		return 0, fmt.Errorf("wait for zygote child: %w", errors.Join(err, errZygoteGone))
	}
	if b[0] == 'E' { // the zygote could not fork: the message follows
		msg, _ := io.ReadAll(io.LimitReader(conn, 4096))
		return 0, fmt.Errorf("zygote fork: %s: %w", msg, errZygoteGone)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 || b[0] != 'P' {
		return 0, fmt.Errorf("zygote child sent %q: %w", b, errors.Join(err, errZygoteGone))
	}
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	if err != nil || cred.Pid <= 0 {
		return 0, fmt.Errorf("zygote child credentials: %w", errors.Join(err, errZygoteGone))
	}
	return int(cred.Pid), nil
}

// readChildExit waits for the zygote's word on how the child ended: b"S"
// and the wait status, or b"E" and why the child could not become a jail.
// EOF without either means the zygote died.
func readChildExit(conn *net.UnixConn, pid int) exitInfo {
	// After the b"G" readChildReady took, only two things can come: the
	// child's b"E" (then the zygote's status, ignored), or the zygote's
	// b"S" and four status bytes, alone.
	b, err := io.ReadAll(io.LimitReader(conn, 8192))
	switch {
	case len(b) > 0 && b[0] == 'E':
		msg := b[1:]
		if n := len(msg) - 5; n >= 0 && msg[n] == 'S' {
			msg = msg[:n]
		}
		return exitInfo{pid: pid, err: fmt.Errorf("zygote child: %s", msg)}
	case len(b) == 5 && b[0] == 'S':
		ws := syscall.WaitStatus(int32(binary.LittleEndian.Uint32(b[1:])))
		return exitInfo{ws: &ws, pid: pid}
	}
	return exitInfo{pid: pid, err: fmt.Errorf("zygote sent no status (%q): %w", b, errors.Join(err, errZygoteGone))}
}

// encodeZygoteRequest is what a zygote child reads (see zygoteLoader): a
// u32 length, then items of u32 length and bytes.
func encodeZygoteRequest(spec *jail.Spec, prog program) ([]byte, error) {
	l := spec.Limits
	cpu := uint64(math.Ceil(l.CPUTime.Seconds()))
	items := [][]byte{
		[]byte(strconv.FormatInt(l.Tmp, 10)), []byte(strconv.FormatInt(inodeCap(l.Tmp), 10)),
		[]byte(strconv.FormatUint(cpu+1, 10)), []byte(strconv.FormatUint(cpu+2, 10)),
	}
	argv := append([]string{prog.script}, prog.args...)
	items = append(items, []byte(strconv.Itoa(len(argv))))
	for _, a := range argv {
		if bytes.IndexByte([]byte(a), 0) >= 0 {
			return nil, fmt.Errorf("%w: argv contains NUL", jail.ErrInvalidSpec)
		}
		items = append(items, []byte(a))
	}
	items = append(items, []byte(strconv.Itoa(len(spec.Env))))
	for _, e := range spec.Env {
		items = append(items, []byte(e))
	}
	for _, f := range spec.Files {
		if err := jail.ValidFileName(f.Name); err != nil {
			return nil, err
		}
		items = append(items, []byte(f.Name), f.Content)
	}
	var b bytes.Buffer
	b.Write(make([]byte, 4))
	for _, it := range items {
		if int64(len(it)) > math.MaxUint32 {
			return nil, fmt.Errorf("%w: request item too large", jail.ErrInvalidSpec)
		}
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(it)))
		b.Write(it)
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out, uint32(len(out)-4))
	return out, nil
}
