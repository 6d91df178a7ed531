package systemd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// SendFunc writes one entry to the journal; journal.Send in production.
type SendFunc func(message string, priority journal.Priority, fields map[string]string) error

// JournalHandler is a slog.Handler that writes each record to journald's
// native protocol: every attribute becomes a field of its own, its key
// upper-cased ("run_id" → RUN_ID, group "caller" + "uid" → CALLER_UID), so
// `journalctl -u jaild RUN_ID=…` finds one run. MESSAGE carries the text
// form as well ("run finished run_id=… status=ok") so plain journalctl
// output stays readable.
type JournalHandler struct {
	send     SendFunc
	level    slog.Leveler
	prefix   string    // group prefix for keys added from now on, "CALLER_"
	fields   []field   // from WithAttrs, already prefixed
	text     string    // text form of fields, for MESSAGE
	fallback io.Writer // where entries go when the journal refuses them
	mu       *sync.Mutex
}

type field struct{ key, value string }

// NewJournalHandler returns a handler sending through send (journal.Send
// when nil). Entries the journal refuses are written as text to fallback.
func NewJournalHandler(send SendFunc, level slog.Leveler, fallback io.Writer) *JournalHandler {
	if send == nil {
		send = journal.Send
	}
	if level == nil {
		level = slog.LevelInfo
	}
	return &JournalHandler{send: send, level: level, fallback: fallback, mu: &sync.Mutex{}}
}

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.fields = append([]field(nil), h.fields...)
	var b strings.Builder
	b.WriteString(h.text)
	for _, a := range as {
		c.fields = appendAttr(c.fields, &b, h.prefix, a)
	}
	c.text = b.String()
	return &c
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + fieldName(name) + "_"
	return &c
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.text)
	fs := append([]field(nil), h.fields...)
	r.Attrs(func(a slog.Attr) bool {
		fs = appendAttr(fs, &b, h.prefix, a)
		return true
	})
	vars := make(map[string]string, len(fs)+2)
	vars["SYSLOG_IDENTIFIER"] = "jaild"
	for _, f := range fs {
		vars[f.key] = f.value
	}
	if err := h.send(b.String(), priority(r.Level), vars); err != nil && h.fallback != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		_, _ = fmt.Fprintf(h.fallback, "%s %s %s\n", r.Time.Format(time.RFC3339), r.Level, b.String())
	}
	return nil
}

// appendAttr flattens a (possibly group) attribute into fields and text.
func appendAttr(fs []field, b *strings.Builder, prefix string, a slog.Attr) []field {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return fs
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += fieldName(a.Key) + "_"
		}
		for _, g := range a.Value.Group() {
			fs = appendAttr(fs, b, p, g)
		}
		return fs
	}
	key := prefix + fieldName(a.Key)
	if reserved[key] {
		key = "JAILD_" + key // never let an attribute overwrite the entry's own fields
	}
	v := a.Value.String()
	if a.Value.Kind() == slog.KindTime {
		v = a.Value.Time().Format(time.RFC3339Nano)
	}
	fs = append(fs, field{key, v})
	b.WriteByte(' ')
	b.WriteString(strings.ToLower(key))
	b.WriteByte('=')
	if needsQuote(v) {
		b.WriteString(strconv.Quote(v))
	} else {
		b.WriteString(v)
	}
	return fs
}

// reserved are fields journald or the handler sets itself.
var reserved = map[string]bool{"MESSAGE": true, "PRIORITY": true, "SYSLOG_IDENTIFIER": true,
	"MESSAGE_ID": true, "CODE_FILE": true, "CODE_LINE": true, "CODE_FUNC": true, "ERRNO": true,
	"SYSLOG_FACILITY": true, "SYSLOG_PID": true, "SYSLOG_TIMESTAMP": true}

// fieldName maps a slog key to a journal field name: upper case letters,
// digits and underscores, not starting with an underscore or a digit.
func fieldName(key string) string {
	var b strings.Builder
	for _, c := range key {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "F" + s
	}
	return s
}

func needsQuote(s string) bool {
	return s == "" || strings.ContainsAny(s, " \"=\n\t\\")
}

// priority maps slog levels to syslog priorities.
func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}

// NewLogger returns a logger writing native journal entries when stderr is
// connected to journald (systemd sets JOURNAL_STREAM for that), and text to
// stderr otherwise.
func NewLogger(stderr io.Writer, level slog.Leveler) *slog.Logger {
	if ok, _ := journal.StderrIsJournalStream(); ok && journal.Enabled() {
		return slog.New(NewJournalHandler(nil, level, stderr))
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}
