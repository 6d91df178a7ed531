package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/jaild/jaild/daemon/api"
)

// comparison decides pass or fail: the daemon compares, never the jail
// (the expected value never enters it).
type comparison struct {
	mode string  // api.Compare*
	tol  float64 // for CompareFloat
}

// stdout compares a program's standard output with the expected one; the
// reason says where they first differ.
func (c comparison) stdout(got, want string) (bool, string) {
	switch c.mode {
	case api.CompareTrimmed:
		got, want = trimLines(got), trimLines(want)
	case api.CompareFloat:
		return c.tokens(got, want)
	}
	if got == want {
		return true, ""
	}
	return false, firstDifference(got, want)
}

// trimLines drops trailing whitespace of every line and trailing empty
// lines: what a judge's "ignore trailing whitespace" means.
func trimLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r\f\v")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

func firstDifference(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w || i >= len(gl) || i >= len(wl) {
			return fmt.Sprintf("line %d: got %s, want %s", i+1, clip(g, i < len(gl)), clip(w, i < len(wl)))
		}
	}
	return "outputs differ"
}

func clip(s string, present bool) string {
	if !present {
		return "end of output"
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}

// tokens compares whitespace-separated tokens: numbers within the
// tolerance, everything else exactly.
func (c comparison) tokens(got, want string) (bool, string) {
	g, w := strings.Fields(got), strings.Fields(want)
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] == w[i] {
			continue
		}
		gf, gerr := strconv.ParseFloat(g[i], 64)
		wf, werr := strconv.ParseFloat(w[i], 64)
		if gerr != nil || werr != nil || !c.close(gf, wf) {
			return false, fmt.Sprintf("token %d: got %s, want %s", i+1, clip(g[i], true), clip(w[i], true))
		}
	}
	if len(g) != len(w) {
		return false, fmt.Sprintf("got %d tokens, want %d", len(g), len(w))
	}
	return true, ""
}

// close is true when a and b are within tol absolutely or relatively.
func (c comparison) close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	if a == b {
		return true
	}
	d := math.Abs(a - b)
	return d <= c.tol || d <= c.tol*math.Max(math.Abs(a), math.Abs(b))
}

// errNotJSON is a return value the harness reported that does not decode
// as exactly one JSON value.
var errNotJSON = errors.New("not a single JSON value")

// decodeValue decodes one JSON value, keeping numbers exact.
func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the value", errNotJSON)
	}
	return v, nil
}

// values compares two JSON documents: objects regardless of key order,
// numbers by value (1 equals 1.0), floats within the tolerance in float
// mode. The reason names the first path that differs.
func (c comparison) values(got, want []byte) (bool, string, error) {
	g, err := decodeValue(got)
	if err != nil {
		return false, "", err
	}
	w, err := decodeValue(want)
	if err != nil {
		return false, "", fmt.Errorf("expected: %w", err)
	}
	if p, ok := c.equal(g, w, "$"); !ok {
		return false, "differs at " + p, nil
	}
	return true, "", nil
}

func (c comparison) equal(g, w any, at string) (string, bool) {
	switch w := w.(type) {
	case json.Number:
		gn, ok := g.(json.Number)
		if !ok || !c.numbersEqual(gn, w) {
			return at, false
		}
		return "", true
	case []any:
		ga, ok := g.([]any)
		if !ok || len(ga) != len(w) {
			return at, false
		}
		for i := range w {
			if p, ok := c.equal(ga[i], w[i], fmt.Sprintf("%s[%d]", at, i)); !ok {
				return p, false
			}
		}
		return "", true
	case map[string]any:
		gm, ok := g.(map[string]any)
		if !ok || len(gm) != len(w) {
			return at, false
		}
		for k, wv := range w {
			gv, ok := gm[k]
			if !ok {
				return at + "." + k, false
			}
			if p, ok := c.equal(gv, wv, at+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	default: // string, bool, nil
		if g != w {
			return at, false
		}
		return "", true
	}
}

// numbersEqual compares exactly (as big rationals, so 10**30 and 1e30
// agree and 2**63+1 is not rounded), or within the tolerance in float mode.
func (c comparison) numbersEqual(a, b json.Number) bool {
	if c.mode == api.CompareFloat {
		af, aerr := strconv.ParseFloat(string(a), 64)
		bf, berr := strconv.ParseFloat(string(b), 64)
		if aerr == nil && berr == nil {
			return c.close(af, bf)
		}
	}
	if !ratSafe(a) || !ratSafe(b) {
		// A number from the jail like 1e999999999 would make big.Rat
		// compute a billion-digit power: compare such numbers as floats.
		af, aerr := strconv.ParseFloat(string(a), 64)
		bf, berr := strconv.ParseFloat(string(b), 64)
		return a == b || (aerr == nil && berr == nil && af == bf && !math.IsInf(af, 0))
	}
	ar, aok := new(big.Rat).SetString(string(a))
	br, bok := new(big.Rat).SetString(string(b))
	return aok && bok && ar.Cmp(br) == 0
}

// ratSafe reports whether n is cheap to turn into a big.Rat: few digits
// and a small exponent.
func ratSafe(n json.Number) bool {
	s := string(n)
	if len(s) > 400 {
		return false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		return err == nil && e > -400 && e < 400
	}
	return true
}
