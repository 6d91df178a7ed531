package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestRouteLogrus(t *testing.T) {
	var buf bytes.Buffer
	routeLogrus(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	t.Cleanup(func() { logrus.StandardLogger().ReplaceHooks(logrus.LevelHooks{}) })
	logrus.WithField("id", "j1").Warn("cgroup busy")
	logrus.Debug("hidden below info")
	out := buf.String()
	if !strings.Contains(out, `level=WARN msg="cgroup busy" component=libcontainer id=j1`) {
		t.Errorf("routed line = %q, want a WARN with component and fields", out)
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line passed an info logger: %q", out)
	}
}
