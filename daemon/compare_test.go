package daemon

import (
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

func TestCompareStdout(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		got, want string
		ok        bool
	}{
		{api.CompareExact, "42\n", "42\n", true},
		{api.CompareExact, "42 \n", "42\n", false},
		{api.CompareExact, "42", "42\n", false},
		{api.CompareTrimmed, "42  \n\n\n", "42", true},
		{api.CompareTrimmed, "a \t\r\nb\r\n", "a\nb\n", true},
		{api.CompareTrimmed, " 42", "42", false}, // leading whitespace counts
		{api.CompareTrimmed, "a\n\nb", "a\nb", false},
		{api.CompareFloat, "0.6666666666\n", "0.6666667", true},
		{api.CompareFloat, "1 2.0000001 x\n", "1 2 x", true},
		{api.CompareFloat, "1 2.1 x", "1 2 x", false},
		{api.CompareFloat, "1 2 y", "1 2 x", false},
		{api.CompareFloat, "1 2", "1 2 3", false},
		{api.CompareFloat, "nan", "nan", true}, // equal tokens are equal as text
		{api.CompareFloat, "nan", "NaN", false},
		{api.CompareFloat, "1e300", "1.0000000001e300", true}, // relative tolerance
	} {
		ok, reason := comparison{mode: tc.mode, tol: 1e-6}.stdout(tc.got, tc.want)
		if ok != tc.ok || (!ok && reason == "") {
			t.Errorf("%s: stdout(%q, %q) = %v %q, want %v with a reason when false", tc.mode, tc.got, tc.want, ok, reason, tc.ok)
		}
	}
}

func TestCompareValues(t *testing.T) {
	for _, tc := range []struct {
		mode      string
		got, want string
		ok        bool
		err       bool
	}{
		{api.CompareExact, `{"b":[1,2],"a":"x"}`, `{"a": "x", "b": [1, 2]}`, true, false},
		{api.CompareExact, `1.0`, `1`, true, false},
		{api.CompareExact, `100000000000000000000000000001`, `100000000000000000000000000000`, false, false},
		{api.CompareExact, `9007199254740993`, `9007199254740993`, true, false},
		{api.CompareExact, `1e2`, `100`, true, false},
		{api.CompareExact, `0.30000000000000004`, `0.3`, false, false},
		{api.CompareFloat, `0.30000000000000004`, `0.3`, true, false},
		{api.CompareFloat, `[0.1, {"x": 2.0000001}]`, `[0.1, {"x": 2}]`, true, false},
		{api.CompareExact, `[1,2]`, `[2,1]`, false, false},
		{api.CompareExact, `{"a":1}`, `{"a":1,"b":2}`, false, false},
		{api.CompareExact, `null`, `null`, true, false},
		{api.CompareExact, `"1"`, `1`, false, false},
		{api.CompareExact, `true`, `1`, false, false},
		{api.CompareExact, `1e999999999`, `1`, false, false}, // must not compute a billion digits
		{api.CompareExact, `1e999999999`, `1e999999999`, true, false},
		{api.CompareExact, `NaN`, `1`, false, true},
		{api.CompareExact, `1 2`, `1`, false, true},
		{api.CompareExact, ``, `1`, false, true},
	} {
		ok, reason, err := comparison{mode: tc.mode, tol: 1e-6}.values([]byte(tc.got), []byte(tc.want))
		if ok != tc.ok || (err != nil) != tc.err || (!ok && err == nil && reason == "") {
			t.Errorf("%s: values(%s, %s) = %v %q %v, want %v err=%v", tc.mode, tc.got, tc.want, ok, reason, err, tc.ok, tc.err)
		}
	}
}
