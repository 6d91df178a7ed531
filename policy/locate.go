package policy

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// locator maps key paths of a TOML file to their line numbers, so that a
// check can say which line is wrong. BurntSushi/toml reports positions of
// syntax errors but not of keys, so this scans the (already parsed, hence
// well-formed) text itself. Keys of the n-th [[rule]] are recorded both as
// "rule[n].key" and, for the first rule having it, as "rule.key" (the form
// MetaData.Undecoded uses).
type locator map[string]int

var (
	arrayHeader = regexp.MustCompile(`^\[\[\s*([^\]]+?)\s*\]\]`)
	tableHeader = regexp.MustCompile(`^\[\s*([^\]]+?)\s*\]`)
	keyLine     = regexp.MustCompile(`^([A-Za-z0-9_."-]+?)\s*=`)
)

func locate(data []byte) locator {
	loc := locator{}
	counts := map[string]int{}
	table, plain := "", ""
	depth := 0       // open brackets of a multi-line array value
	inMulti := false // inside a """ or ''' string
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		if inMulti {
			if strings.Count(line, `"""`)%2 == 1 || strings.Count(line, `'''`)%2 == 1 {
				inMulti = false
			}
			continue
		}
		if depth > 0 {
			depth += bracketDelta(line)
			continue
		}
		switch m := arrayHeader.FindStringSubmatch(line); {
		case m != nil:
			name := unquoteKey(m[1])
			idx := counts[name]
			counts[name]++
			table, plain = name+"["+strconv.Itoa(idx)+"]", name
			loc.set(table, n)
			continue
		}
		if m := tableHeader.FindStringSubmatch(line); m != nil {
			table = unquoteKey(m[1])
			plain = table
			loc.set(table, n)
			continue
		}
		if m := keyLine.FindStringSubmatch(line); m != nil {
			key := unquoteKey(m[1])
			loc.set(join(table, key), n)
			loc.set(join(plain, key), n)
			rest := line[len(m[0]):]
			if strings.Count(rest, `"""`)%2 == 1 || strings.Count(rest, `'''`)%2 == 1 {
				inMulti = true
			}
			depth += bracketDelta(rest)
		}
	}
	return loc
}

// set keeps the first line a path was seen on.
func (l locator) set(path string, n int) {
	if _, ok := l[path]; !ok {
		l[path] = n
	}
}

// at returns the line of path, or of its closest recorded parent, or 1.
func (l locator) at(path string) int {
	for p := path; p != ""; {
		if n, ok := l[p]; ok {
			return n
		}
		i := strings.LastIndex(p, ".")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 1
}

func (l locator) line(k toml.Key) int { return l.at(k.String()) }

func join(table, key string) string {
	if table == "" {
		return key
	}
	return table + "." + key
}

// unquoteKey turns `profile."a b"` into profile.a b (good enough for lookups).
func unquoteKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// bracketDelta counts [ minus ] outside quoted strings, ignoring comments.
func bracketDelta(s string) int {
	d := 0
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#':
			return d
		case r == '[':
			d++
		case r == ']':
			d--
		}
	}
	return d
}
