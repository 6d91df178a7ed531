package container

import (
	"reflect"
	"testing"

	"github.com/jaild/jaild/jail"
)

func TestSplitProgram(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want program
		ok   bool
	}{
		{[]string{"/usr/bin/python3", "-B", "-E", "-s", "/work/main.py", "a", "-c"},
			program{"/usr/bin/python3", []string{"-B", "-E", "-s"}, "/work/main.py", []string{"a", "-c"}}, true},
		{[]string{"/usr/bin/node", "/work/src/index.js"}, program{"/usr/bin/node", []string{}, "/work/src/index.js", []string{}}, true},
		{[]string{"/usr/bin/python3", "-c", "print(1)", "/work/main.py"}, program{}, false},
		{[]string{"/usr/bin/python3", "-m", "/work/main.py"}, program{}, false},
		{[]string{"/usr/bin/python3", "/tmp/main.py"}, program{}, false},
		{[]string{"/usr/bin/python3", "/work/../etc/x.py"}, program{}, false},
		{[]string{"/usr/bin/python3"}, program{}, false},
	} {
		got, ok := splitProgram(tc.argv)
		if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("splitProgram(%q) = %+v, %v; want %+v, %v", tc.argv, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEncodeRequest(t *testing.T) {
	p := program{script: "/work/main.py", args: []string{"a b", ""}}
	got, err := encodeRequest(p, []string{"K=V", "E="})
	if want := "3\x00/work/main.py\x00a b\x00\x00K=V\x00E="; err != nil || string(got) != want {
		t.Errorf("encodeRequest = %q, %v; want %q", got, err, want)
	}
	if _, err := encodeRequest(program{script: "/work/x", args: []string{"a\x00b"}}, nil); err == nil {
		t.Error("NUL in an argument accepted")
	}
	if _, err := loaderArgv(jail.Node, program{interpreter: "/usr/bin/node", flags: []string{"-B"}}); err == nil {
		t.Error("node with options accepted as poolable")
	}
}
