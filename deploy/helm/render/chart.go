// The chart on disk and the objects templates see: .Chart, .Values' methods,
// .Capabilities, .Files.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/ghodss/yaml" // what sigs.k8s.io/yaml, Helm's YAML library, was forked from
)

// ---------------------------------------------------------------- the chart

// Metadata is Chart.yaml, with the field names templates see as .Chart.*.
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []interface{}     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

type chart struct {
	meta      *Metadata
	values    map[string]interface{}
	schema    []byte            // values.schema.json, nil when absent
	templates map[string]string // "templates/x.yaml" -> text
	files     Files             // every other file, as .Files
}

func loadChart(dir string) (*chart, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	c := &chart{meta: &Metadata{}, templates: map[string]string{}, files: Files{}}
	if err := yaml.Unmarshal(raw, c.meta); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %w", err)
	}
	if err := validateMetadata(c.meta); err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	if len(c.meta.Dependencies) > 0 {
		return nil, errors.New("chart dependencies (subcharts) are not supported by this renderer")
	}
	c.values = map[string]interface{}{}
	if raw, err := os.ReadFile(filepath.Join(dir, "values.yaml")); err == nil {
		if c.values, err = readValues(raw); err != nil {
			return nil, fmt.Errorf("cannot load values.yaml: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "values.schema.json")); err == nil {
		c.schema = raw
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "charts" {
				if entries, _ := os.ReadDir(p); len(entries) > 0 {
					return errors.New("charts/ (subcharts) is not supported by this renderer")
				}
			}
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case rel == "Chart.yaml", rel == "values.yaml", rel == "values.schema.json", rel == ".helmignore":
		case strings.HasPrefix(rel, "templates/"):
			// Helm's loader ignores dotfiles in templates/ (its default .helmignore rule).
			if !strings.HasPrefix(path.Base(rel), ".") {
				c.templates[rel] = string(raw)
			}
		default:
			c.files[rel] = raw
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

var chartName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// validateMetadata is Helm's Metadata.Validate.
func validateMetadata(md *Metadata) error {
	switch {
	case md.APIVersion == "":
		return errors.New("chart.metadata.apiVersion is required")
	case md.Name == "":
		return errors.New("chart.metadata.name is required")
	case !chartName.MatchString(md.Name):
		return fmt.Errorf("chart.metadata.name %q is invalid", md.Name)
	case md.Version == "":
		return errors.New("chart.metadata.version is required")
	case md.Type != "" && md.Type != "application" && md.Type != "library":
		return errors.New("chart.metadata.type must be application or library")
	}
	if _, err := semver.StrictNewVersion(md.Version); err != nil {
		return fmt.Errorf("chart.metadata.version %q is invalid", md.Version)
	}
	return nil
}

// --------------------------------------------------------- built-in objects

// Values is .Values and the top-level object, with chartutil.Values' methods.
type Values map[string]interface{}

func (v Values) AsMap() map[string]interface{} { return v }

func (v Values) YAML() (string, error) {
	b, err := yaml.Marshal(v)
	return string(b), err
}

// Table returns the table at a dotted path ("a.b"), as .Values.Table does.
func (v Values) Table(name string) (Values, error) {
	table := v
	for _, key := range strings.Split(name, ".") {
		next, ok := table[key].(map[string]interface{})
		if !ok {
			if nv, isValues := table[key].(Values); isValues {
				next, ok = nv, true
			}
		}
		if !ok {
			return Values{}, fmt.Errorf("no table named %q", name)
		}
		table = next
	}
	return table, nil
}

type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (kv *KubeVersion) String() string { return kv.Version }

// GitVersion is the deprecated name of Version, kept by Helm for old charts.
func (kv *KubeVersion) GitVersion() string { return kv.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type BuildInfo struct {
	Version      string `json:"version,omitempty"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitTreeState string `json:"git_tree_state,omitempty"`
	GoVersion    string `json:"go_version,omitempty"`
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion BuildInfo
}

func parseKubeVersion(s string) (*KubeVersion, error) {
	sv, err := semver.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("invalid kube version %q: %w", s, err)
	}
	return &KubeVersion{
		Version: "v" + sv.String(),
		Major:   strconv.FormatUint(sv.Major(), 10),
		Minor:   strconv.FormatUint(sv.Minor(), 10),
	}, nil
}

// Files is .Files: the chart's files outside templates/.
type Files map[string][]byte

func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Get(name string) string      { return string(f[name]) }

// Glob matches with path.Match (Helm uses gobwas/glob, which also knows "**").
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func (f Files) AsConfig() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYAML(m)
}

func (f Files) AsSecrets() string {
	m := map[string][]byte{} // encoding/json base64-encodes []byte
	for name, data := range f {
		m[path.Base(name)] = data
	}
	return toYAML(m)
}

func (f Files) Lines(name string) []string {
	if f[name] == nil {
		return []string{}
	}
	return strings.Split(string(f[name]), "\n")
}
