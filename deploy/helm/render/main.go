// Command helm-render renders a Helm 3 chart the way `helm template` does,
// for machines without a Helm binary (Debian packages none). It is Go's
// text/template with Helm's function library (sprig, from Debian's
// golang-github-masterminds-sprig-dev) plus the functions, values merging,
// schema validation, built-in objects and output format of Helm 3's engine.
//
//	helm-render [NAME] CHART_DIR [-f values.yaml]... [--set a.b=c]... [-n NAMESPACE]
//	            [--kube-version 1.20.2] [-a GROUP/VERSION[/KIND]]... [--is-upgrade]
//	            [-s templates/FILE]... [--notes] [--skip-schema-validation]
//
// README.md beside this file lists what it leaves out. Built by build.sh.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"runtime"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// The group/versions and group/version/kinds a stock kube-apiserver v1.20.2
// serves (read from the e2e suite's server): the default of
// .Capabilities.APIVersions, as `helm install` discovers it on such a cluster.
//
//go:embed kube-1.20-api-versions.txt
var defaultAPIVersions string

const defaultKubeVersion = "v1.20.2"

// ---------------------------------------------------------------------- cli

type options struct {
	releaseName, chartDir, namespace, kubeVersion string
	valueFiles, sets, setStrings, apiVersions     []string
	showOnly                                      []string
	isUpgrade, notes, skipSchema                  bool
}

const usage = `usage: helm-render [NAME] CHART_DIR [flags]
  -f, --values FILE             values file (repeatable; later files win)
      --set K=V[,K=V]           set values (a.b=c, list={x,y}, list[0]=x; repeatable)
      --set-string K=V          same, every value a string
  -n, --namespace NS            .Release.Namespace (default "default")
      --kube-version VERSION    .Capabilities.KubeVersion (default ` + defaultKubeVersion + `)
  -a, --api-versions G/V[/KIND] add to .Capabilities.APIVersions (repeatable, comma-separated)
      --is-upgrade              .Release.IsUpgrade=true, IsInstall=false
  -s, --show-only templates/F   print only the manifests of that template (repeatable)
      --notes                   print the rendered NOTES.txt instead of the manifests
      --skip-schema-validation  do not validate values against values.schema.json
`

func parseArgs(args []string) (*options, error) {
	o := &options{namespace: "default", kubeVersion: defaultKubeVersion}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name, val, hasVal := strings.Cut(arg, "=")
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch name {
		case "-f", "--values":
			if v, err = next(); err == nil {
				o.valueFiles = append(o.valueFiles, strings.Split(v, ",")...)
			}
		case "--set":
			if v, err = next(); err == nil {
				o.sets = append(o.sets, v)
			}
		case "--set-string":
			if v, err = next(); err == nil {
				o.setStrings = append(o.setStrings, v)
			}
		case "-n", "--namespace":
			o.namespace, err = next()
		case "--kube-version":
			o.kubeVersion, err = next()
		case "-a", "--api-versions":
			if v, err = next(); err == nil {
				o.apiVersions = append(o.apiVersions, strings.Split(v, ",")...)
			}
		case "-s", "--show-only":
			if v, err = next(); err == nil {
				o.showOnly = append(o.showOnly, v)
			}
		case "--is-upgrade":
			o.isUpgrade = true
		case "--notes":
			o.notes = true
		case "--skip-schema-validation":
			o.skipSchema = true
		case "-h", "--help":
			fmt.Print(usage)
			os.Exit(0)
		default:
			return nil, fmt.Errorf("unknown flag %s", name)
		}
		if err != nil {
			return nil, err
		}
	}
	switch len(positional) {
	case 1:
		o.releaseName, o.chartDir = "release-name", positional[0] // helm template's default
	case 2:
		o.releaseName, o.chartDir = positional[0], positional[1]
	default:
		return nil, errors.New("expected [NAME] CHART_DIR\n" + usage)
	}
	return o, nil
}

var releaseNameRe = regexp.MustCompile(
	`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func userValues(o *options) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, file := range o.valueFiles {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		current, err := readValues(raw)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", file, err)
		}
		base = mergeMaps(base, current)
	}
	for _, s := range o.sets {
		if err := parseSet(s, base, false); err != nil {
			return nil, err
		}
	}
	for _, s := range o.setStrings {
		if err := parseSet(s, base, true); err != nil {
			return nil, err
		}
	}
	return base, nil
}

func run(o *options) (string, error) {
	if len(o.releaseName) > 53 || !releaseNameRe.MatchString(o.releaseName) {
		return "", fmt.Errorf("release name %q: invalid release name, must match regex %s "+
			"and the length must not be longer than 53", o.releaseName, releaseNameRe)
	}
	c, err := loadChart(o.chartDir)
	if err != nil {
		return "", err
	}
	if c.meta.Type == "library" {
		return "", errors.New("library charts are not installable")
	}
	kv, err := parseKubeVersion(o.kubeVersion)
	if err != nil {
		return "", err
	}
	if c.meta.KubeVersion != "" {
		constraint, err := semver.NewConstraint(c.meta.KubeVersion)
		sv, verr := semver.NewVersion(kv.Version)
		if err != nil || verr != nil || !constraint.Check(sv) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
				c.meta.KubeVersion, kv.Version)
		}
	}
	apis := VersionSet(strings.Fields(defaultAPIVersions))
	apis = append(apis, o.apiVersions...)

	user, err := userValues(o)
	if err != nil {
		return "", err
	}
	vals := coalesce(c.meta.Name, c.values, user)
	if c.schema != nil && !o.skipSchema {
		if err := validateSchema(vals, c.schema); err != nil {
			return "", fmt.Errorf("values don't meet the specifications of the schema(s) "+
				"in the following chart(s):\n%s:\n%s", c.meta.Name, err)
		}
	}
	top := Values{
		"Chart": c.meta,
		"Capabilities": &Capabilities{
			KubeVersion: *kv,
			APIVersions: apis,
			// Nominal: the Helm 3 release whose engine this follows.
			HelmVersion: BuildInfo{Version: "v3.14.0", GitTreeState: "clean",
				GoVersion: runtime.Version()},
		},
		"Release": map[string]interface{}{
			"Name":      o.releaseName,
			"Namespace": o.namespace,
			"IsUpgrade": o.isUpgrade,
			"IsInstall": !o.isUpgrade,
			"Revision":  1,
			"Service":   "Helm",
		},
		"Values":    Values(vals),
		"Files":     c.files,
		"Subcharts": map[string]interface{}{},
	}
	templates := map[string]string{}
	for name, text := range c.templates {
		templates[path.Join(c.meta.Name, name)] = text
	}
	rendered, err := render(templates, top, path.Join(c.meta.Name, "templates"))
	if err != nil {
		return "", err
	}
	notesName := path.Join(c.meta.Name, "templates", "NOTES.txt")
	notes := rendered[notesName]
	for name := range rendered {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(rendered, name)
		}
	}
	if o.notes {
		return notes, nil
	}
	generic, hooks, err := sortManifests(rendered)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	shown := 0
	for _, m := range append(generic, hooks...) {
		if len(o.showOnly) > 0 && !selected(m.source, c.meta.Name, o.showOnly) {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.source, m.content)
		shown++
	}
	if len(o.showOnly) > 0 && shown == 0 {
		return "", fmt.Errorf("could not find template %s in chart", strings.Join(o.showOnly, ", "))
	}
	return out.String(), nil
}

func selected(source, chartName string, showOnly []string) bool {
	for _, s := range showOnly {
		if source == s || source == path.Join(chartName, s) {
			return true
		}
	}
	return false
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err == nil {
		var out string
		if out, err = run(o); err == nil {
			fmt.Print(out)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "Error: %s\n", strings.TrimRight(err.Error(), "\n"))
	os.Exit(1)
}
