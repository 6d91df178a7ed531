package policy

import (
	"reflect"
	"testing"

	"github.com/jaild/jaild/jail"
)

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		lang  jail.Language
		entry string
		args  []string
		want  []string
		ok    bool
	}{
		{jail.Python, "main.py", []string{"a"}, []string{"/usr/bin/python3", "-B", "-E", "-s", "/work/main.py", "a"}, true},
		{jail.Node, "src/index.js", nil, []string{"/usr/bin/python3", "/work/src/index.js"}, true},
		{jail.Python, "../x.py", nil, nil, false},
		{"ruby", "main.rb", nil, nil, false},
	} {
		got, err := Command(tc.lang, "/usr/bin/python3", tc.entry, tc.args)
		if (err == nil) != tc.ok || (tc.ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("Command(%s, %s) = %v, %v; want %v ok=%v", tc.lang, tc.entry, got, err, tc.want, tc.ok)
		}
	}
	if _, err := Command(jail.Python, "python3", "main.py", nil); err == nil {
		t.Error("relative interpreter accepted")
	}
}
