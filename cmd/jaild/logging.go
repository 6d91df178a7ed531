package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"

	"github.com/jaild/jaild/systemd"
)

// serveLogger is the daemon's logger: native journal fields under systemd,
// text on stderr otherwise.
func (c *common) serveLogger(stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("bad --log-level %q", c.logLevel)}
	}
	return systemd.NewLogger(stderr, lvl), nil
}

// routeLogrus sends libcontainer's logrus output (the standard logger)
// through log, so it reaches the journal with the daemon's own lines
// instead of appearing as unstructured text on stderr.
func routeLogrus(log *slog.Logger) {
	std := logrus.StandardLogger()
	std.SetOutput(io.Discard)
	std.SetLevel(logrus.DebugLevel) // slog's level decides
	std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(logrusHook{log.With("component", "libcontainer")})
}

type logrusHook struct{ log *slog.Logger }

func (logrusHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h logrusHook) Fire(e *logrus.Entry) error {
	lvl := slog.LevelInfo
	switch {
	case e.Level <= logrus.ErrorLevel:
		lvl = slog.LevelError
	case e.Level == logrus.WarnLevel:
		lvl = slog.LevelWarn
	case e.Level >= logrus.DebugLevel:
		lvl = slog.LevelDebug
	}
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if !h.log.Enabled(ctx, lvl) {
		return nil
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.log.Log(ctx, lvl, e.Message, attrs...)
	return nil
}
