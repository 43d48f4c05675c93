// .Values: values.yaml, -f files and --set coalesced as Helm does, and checked
// against values.schema.json.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ghodss/yaml" // what sigs.k8s.io/yaml, Helm's YAML library, was forked from
	"github.com/xeipuuv/gojsonschema"
)

// ------------------------------------------------------------------- values

// readValues parses YAML as Helm does (through JSON: numbers are float64).
func readValues(raw []byte) (map[string]interface{}, error) {
	vals := map[string]interface{}{}
	if err := yaml.Unmarshal(raw, &vals); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	return vals, nil
}

// mergeMaps is how Helm merges -f files: b wins, tables merge recursively.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(bv, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func warnf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "coalesce.go: warning: "+format+"\n", args...)
}

// coalesce is chartutil.CoalesceValues for a chart without dependencies: the
// user's values win, tables merge, and a user null deletes the chart's key.
func coalesce(chartName string, defaults, user map[string]interface{}) map[string]interface{} {
	defaults = deepCopy(defaults).(map[string]interface{})
	for key, val := range defaults {
		if value, ok := user[key]; ok {
			if value == nil {
				delete(user, key)
			} else if dest, ok := value.(map[string]interface{}); ok {
				if src, ok := val.(map[string]interface{}); ok {
					coalesceTables(dest, src, chartName+"."+key)
				} else if val != nil {
					warnf("skipped value for %s.%s: Not a table.", chartName, key)
				}
			}
		} else {
			user[key] = val
		}
	}
	return user
}

func coalesceTables(dst, src map[string]interface{}, prefix string) {
	for key, val := range src {
		fullkey := prefix + "." + key
		dv, ok := dst[key]
		switch {
		case ok && dv == nil:
			delete(dst, key)
		case !ok:
			dst[key] = val
		case isTable(val):
			if isTable(dv) {
				coalesceTables(dv.(map[string]interface{}), val.(map[string]interface{}), fullkey)
			} else {
				warnf("cannot overwrite table with non table for %s (%v)", fullkey, val)
			}
		case isTable(dv) && val != nil:
			warnf("destination for %s is a table. Ignoring non-table value (%v)", fullkey, val)
		}
	}
}

func isTable(v interface{}) bool {
	_, ok := v.(map[string]interface{})
	return ok
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// validateSchema is chartutil.ValidateAgainstSingleSchema, with the same
// library (xeipuuv/gojsonschema, Helm 3.0-3.17) and error text.
func validateSchema(values map[string]interface{}, schema []byte) error {
	data, err := yaml.Marshal(values)
	if err != nil {
		return err
	}
	valuesJSON, err := yaml.YAMLToJSON(data)
	if err != nil {
		return err
	}
	if bytes.Equal(valuesJSON, []byte("null")) {
		valuesJSON = []byte("{}")
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema),
		gojsonschema.NewBytesLoader(valuesJSON))
	if err != nil {
		return err
	}
	if result.Valid() {
		return nil
	}
	var sb strings.Builder
	for _, desc := range result.Errors() {
		sb.WriteString(fmt.Sprintf("- %s\n", desc))
	}
	return errors.New(sb.String())
}

// ------------------------------------------------------ --set (Helm strvals)

type setParser struct {
	s        []rune
	pos      int
	asString bool // --set-string
}

// parseSet applies one --set (or --set-string) argument, "a.b=c,d[0]=e,f={x,y}".
func parseSet(arg string, base map[string]interface{}, asString bool) error {
	p := &setParser{s: []rune(arg), asString: asString}
	for p.pos < len(p.s) {
		if err := p.key(base); err != nil {
			return fmt.Errorf("failed parsing --set data %q: %w", arg, err)
		}
	}
	return nil
}

// until reads up to (not including) one of stop, resolving backslash escapes.
func (p *setParser) until(stop string) (string, rune) {
	var out []rune
	for p.pos < len(p.s) {
		r := p.s[p.pos]
		p.pos++
		if r == '\\' && p.pos < len(p.s) {
			out = append(out, p.s[p.pos])
			p.pos++
			continue
		}
		if strings.ContainsRune(stop, r) {
			return string(out), r
		}
		out = append(out, r)
	}
	return string(out), 0
}

func (p *setParser) typed(v string) interface{} {
	if p.asString {
		return v
	}
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case strings.EqualFold(v, "false"):
		return false
	case strings.EqualFold(v, "null"):
		return nil
	case v == "0":
		return int64(0)
	}
	if v != "" && v[0] != '0' {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

// value reads what follows '=': a {list} or a scalar up to the next ','.
func (p *setParser) value() (interface{}, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '{' {
		p.pos++
		list := []interface{}{}
		for {
			item, stop := p.until(",}")
			if stop == 0 {
				return nil, errors.New("list must terminate with '}'")
			}
			if !(stop == '}' && item == "" && len(list) == 0) {
				list = append(list, p.typed(item))
			}
			if stop == '}' {
				break
			}
		}
		if p.pos < len(p.s) {
			if p.s[p.pos] != ',' {
				return nil, fmt.Errorf("unexpected %q after list", p.s[p.pos])
			}
			p.pos++
		}
		return list, nil
	}
	v, _ := p.until(",")
	return p.typed(v), nil
}

// key reads one "path=value" assignment into data.
func (p *setParser) key(data map[string]interface{}) error {
	k, stop := p.until("=[,.")
	switch stop {
	case 0:
		return fmt.Errorf("key %q has no value", k)
	case ',':
		return fmt.Errorf("key %q has no value (cannot end with ,)", k)
	case '=':
		v, err := p.value()
		if err != nil {
			return err
		}
		data[k] = v
		return nil
	case '.':
		inner, ok := data[k].(map[string]interface{})
		if !ok {
			inner = map[string]interface{}{}
			data[k] = inner
		}
		return p.key(inner)
	default: // '['
		list, _ := data[k].([]interface{})
		list, err := p.index(list)
		data[k] = list
		return err
	}
}

const maxIndex = 65536

// index reads "N]" and what follows it into list, returning the new list.
func (p *setParser) index(list []interface{}) ([]interface{}, error) {
	num, stop := p.until("]")
	if stop == 0 {
		return list, errors.New("missing ]")
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i > maxIndex {
		return list, fmt.Errorf("invalid list index %q", num)
	}
	for len(list) <= i {
		list = append(list, nil)
	}
	if p.pos >= len(p.s) {
		return list, errors.New("list index must be followed by '=', '.' or '['")
	}
	r := p.s[p.pos]
	p.pos++
	switch r {
	case '=':
		v, err := p.value()
		list[i] = v
		return list, err
	case '.':
		inner, ok := list[i].(map[string]interface{})
		if !ok {
			inner = map[string]interface{}{}
			list[i] = inner
		}
		return list, p.key(inner)
	case '[':
		nested, _ := list[i].([]interface{})
		nested, err := p.index(nested)
		list[i] = nested
		return list, err
	}
	return list, fmt.Errorf("unexpected %q after list index", r)
}
