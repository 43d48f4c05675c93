#!/usr/bin/python3
"""Static checks of the Helm chart (Helm itself is not installed here or in CI).

  * Chart.yaml and values.yaml parse; Chart.yaml has apiVersion v2, a name, a
    semver version and an appVersion.
  * Every `.Values.a.b` a template reads exists in values.yaml (a typo would
    otherwise render as an empty string, silently).
  * Every template's `{{ }}` are balanced, and its block actions (if, with,
    range, define, block) match its `end`s, with `else` only inside if/with/range.
  * Every `include "name"` / `template "name"` names a `define`.

What it cannot check is the rendered output; see the report of the chart's
author for that. Usage: scripts/check-chart.py [CHART_DIR]
"""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
VALUES_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
INCLUDE = re.compile(r"\b(?:include|template)\s+\"([^\"]+)\"")
DEFINE = re.compile(r"^\s*-?\s*(?:define|block)\s+\"([^\"]+)\"")
OPENERS = ("if", "with", "range", "define", "block")


def fail(errors, where, msg):
    errors.append(f"{where}: {msg}")


def check_chart_yaml(chart, errors):
    path = chart / "Chart.yaml"
    try:
        meta = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        fail(errors, path, f"does not parse: {e}")
        return
    if not isinstance(meta, dict):
        fail(errors, path, "is not a mapping")
        return
    if meta.get("apiVersion") != "v2":
        fail(errors, path, "apiVersion must be v2")
    if not meta.get("name"):
        fail(errors, path, "no name")
    if not SEMVER.match(str(meta.get("version", ""))):
        fail(errors, path, f"version {meta.get('version')!r} is not semver")
    if not meta.get("appVersion"):
        fail(errors, path, "no appVersion")
    if meta.get("name") != chart.name:
        fail(errors, path, f"name {meta.get('name')!r} differs from the directory {chart.name!r}")


def load_values(chart, errors):
    path = chart / "values.yaml"
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        fail(errors, path, f"does not parse: {e}")
        return None
    if not isinstance(values, dict):
        fail(errors, path, "is not a mapping")
        return None
    return values


def has_path(values, keys):
    node = values
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return False
        node = node[k]
    return True


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def check_template(path, text, values, errors, defines, includes):
    # Balanced delimiters: every {{ closes before the next {{ opens.
    depth_errors = 0
    pos = 0
    while True:
        open_at = text.find("{{", pos)
        close_at = text.find("}}", pos)
        if open_at < 0 and close_at < 0:
            break
        if close_at >= 0 and (open_at < 0 or close_at < open_at):
            fail(errors, f"{path}:{line_of(text, close_at)}", "'}}' without '{{'")
            depth_errors += 1
            pos = close_at + 2
            continue
        next_close = text.find("}}", open_at + 2)
        next_open = text.find("{{", open_at + 2)
        if next_close < 0 or (0 <= next_open < next_close):
            fail(errors, f"{path}:{line_of(text, open_at)}", "'{{' without '}}'")
            depth_errors += 1
            pos = open_at + 2
            continue
        pos = next_close + 2
    if depth_errors:
        return

    stack = []
    for m in ACTION.finditer(text):
        body = m.group(1).strip()
        if body.startswith("-"):
            body = body[1:].lstrip()
        if body.endswith("-"):
            body = body[:-1].rstrip()
        where = f"{path}:{line_of(text, m.start())}"
        if body.startswith("/*"):
            if not body.endswith("*/"):
                fail(errors, where, "unterminated comment")
            continue
        word = body.split(None, 1)[0] if body else ""
        if word in OPENERS:
            stack.append((word, where))
        elif word == "else":
            if not stack or stack[-1][0] not in ("if", "with", "range"):
                fail(errors, where, "'else' outside if/with/range")
        elif word == "end":
            if not stack:
                fail(errors, where, "'end' without an opening block")
            else:
                stack.pop()
        dm = DEFINE.match(body)
        if dm:
            defines.add(dm.group(1))
        for im in INCLUDE.finditer(body):
            includes.append((im.group(1), where))
        if values is not None:
            for vm in VALUES_REF.finditer(body):
                keys = vm.group(1).lstrip(".").split(".")
                if not has_path(values, keys):
                    fail(errors, where, f".Values.{'.'.join(keys)} is not in values.yaml")
    for word, where in stack:
        fail(errors, where, f"'{word}' has no 'end'")


def main():
    chart = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "deploy/helm/portico"
    errors = []
    check_chart_yaml(chart, errors)
    values = load_values(chart, errors)
    templates = sorted(p for p in (chart / "templates").iterdir() if p.is_file())
    if not templates:
        fail(errors, chart / "templates", "no templates")
    defines, includes = set(), []
    for path in templates:
        if path.suffix not in (".yaml", ".yml", ".tpl", ".txt"):
            fail(errors, path, "unexpected file type in templates/")
            continue
        check_template(path.relative_to(chart), path.read_text(), values, errors, defines, includes)
    for name, where in includes:
        if name not in defines:
            fail(errors, where, f'include "{name}" has no define')
    if errors:
        for e in errors:
            print(f"check-chart: {e}", file=sys.stderr)
        print(f"check-chart: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"check-chart: {chart.name}: {len(templates)} templates, {len(defines)} defines, ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
