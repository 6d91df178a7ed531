package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
)

// dialHelperEnv makes the test binary a client that GETs /v1/info on the
// socket named in it and prints the status and body; with dialAsEnv set it
// first becomes uid/gid 65534 (TestForbiddenCaller). It drops privileges
// itself because the test binary's directory may be closed to that uid.
const (
	dialHelperEnv = "JAILD_TEST_DIAL_SOCKET"
	dialAsEnv     = "JAILD_TEST_DIAL_AS_NOBODY"
)

func TestMain(m *testing.M) {
	if sock := os.Getenv(dialHelperEnv); sock != "" {
		if os.Getenv(dialAsEnv) != "" {
			if err := errors.Join(syscall.Setgroups(nil), syscall.Setgid(65534), syscall.Setuid(65534)); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
		c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		resp, err := c.Get("http://jaild/v1/info")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, body)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
