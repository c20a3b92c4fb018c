package cmd

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// kerf's config file is a small subset of TOML: [section] headers,
// `key = value` lines with strings ("…"), numbers, booleans and one-line
// arrays of those, and # comments. parseTOMLish returns the values keyed by
// "section.key", each with the line it came from, so that validation errors
// can name both.

type tomlValue struct {
	v    any // string, float64, bool or []any
	line int
}

func parseTOMLish(r io.Reader, name string) (map[string]tomlValue, error) {
	out := map[string]tomlValue{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	section := ""
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(stripComment(sc.Text()))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("%s:%d: malformed section header %q", name, n, line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			if !isBareKey(section) {
				return nil, fmt.Errorf("%s:%d: bad section name %q", name, n, section)
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected key = value, got %q", name, n, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !isBareKey(k) {
			return nil, fmt.Errorf("%s:%d: bad key %q", name, n, k)
		}
		val, err := parseTOMLValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, n, k, err)
		}
		full := k
		if section != "" {
			full = section + "." + k
		}
		if prev, dup := out[full]; dup {
			return nil, fmt.Errorf("%s:%d: %s set again (first set on line %d)", name, n, full, prev.line)
		}
		out[full] = tomlValue{v: val, line: n}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return out, nil
}

// stripComment removes a # comment that is not inside a string.
func stripComment(s string) string {
	in := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if in {
				i++
			}
		case '"':
			in = !in
		case '#':
			if !in {
				return s[:i]
			}
		}
	}
	return s
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func parseTOMLValue(v string) (any, error) {
	switch {
	case v == "":
		return nil, fmt.Errorf("missing value")
	case v == "true":
		return true, nil
	case v == "false":
		return false, nil
	case v[0] == '"':
		s, err := strconv.Unquote(v)
		if err != nil {
			return nil, fmt.Errorf("bad string %s", v)
		}
		return s, nil
	case v[0] == '[':
		if !strings.HasSuffix(v, "]") {
			return nil, fmt.Errorf("unterminated array %s (arrays must fit on one line)", v)
		}
		inner := strings.TrimSpace(v[1 : len(v)-1])
		items := []any{}
		if inner == "" {
			return items, nil
		}
		for _, part := range splitArray(inner) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue // trailing comma
			}
			it, err := parseTOMLValue(part)
			if err != nil {
				return nil, err
			}
			if _, nested := it.([]any); nested {
				return nil, fmt.Errorf("nested arrays are not supported")
			}
			items = append(items, it)
		}
		return items, nil
	default:
		f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
		if err != nil {
			return nil, fmt.Errorf("bad value %s (strings need double quotes)", v)
		}
		return f, nil
	}
}

// splitArray splits on commas outside strings.
func splitArray(s string) []string {
	var parts []string
	in, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if in {
				i++
			}
		case '"':
			in = !in
		case ',':
			if !in {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
