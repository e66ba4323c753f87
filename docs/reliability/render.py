#!/usr/bin/python3
"""Renders docs/reliability.md from docs/reliability/page.md (hand-written prose) and the figures of one test run.

    /usr/bin/python3 docs/reliability/render.py [--figures DIR] [--out FILE]

DIR (default docs/reliability/figures, filled by docs/reliability/run.sh) holds run.json (date, commit, machine),
one JSON file per reliability scenario (TestResults/reliability/<scenario>.json) and security.json (the security
suite's TestResults/security/figures.json). page.md refers to figures as {{file:path|format}}:

    file    a JSON file in DIR without .json (flaky-network-sqlite, security)
    path    keys separated by '/', each matched whole (keys contain dots and spaces); a last key ending in '*'
            selects the counters whose names start with it
    format  how to print it (see FORMATS); none prints the value

A figure the page uses that the run did not write, or a file older than the run, fails the render (exit 1) with
the file, the field and the page line, so the page never quotes a figure from another run or a blank.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLACEHOLDER = re.compile(r"\{\{([^{}:|]+):([^{}|]*)(?:\|([^{}]+))?\}\}")


class Missing(Exception):
    pass


def status_name(name):
    """InvalidArgument (StatusCode.ToString()) and INVALID_ARGUMENT (Figures.StatusName) print the same."""
    if name == "ok":
        return "OK"
    if not re.fullmatch(r"[A-Z][A-Za-z]*", name) or name.upper() == name:
        return name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def number(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    return str(value)


def duration_ms(value):
    value = float(value)
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def counts(table):
    """{status: n} (or a list of them, added up) as 'UNAVAILABLE 8, DEADLINE_EXCEEDED 1', largest first; 'none' when empty."""
    if isinstance(table, list):
        total = {}
        for part in table:
            for k, v in part.items():
                total[k] = total.get(k, 0) + v
        table = total
    items = sorted(((status_name(k), v) for k, v in table.items() if v), key=lambda kv: (-kv[1], kv[0]))
    # A descriptive outcome seen once ("OK in 12 ms") reads better without its count.
    return ", ".join(k if v == 1 and " " in k else f"{k} {number(v)}" for k, v in items) or "none"


def tally(table):
    """A Figures.Tally table {case: {outcome: n}} summed over its cases."""
    total = {}
    for outcomes in table.values():
        for outcome, n in outcomes.items():
            total[outcome] = total.get(outcome, 0) + n
    return counts(total)


def table(cases):
    """A Figures.Tally table {case: {outcome: n}} as rows of a two-column Markdown table (the placeholder on its own line)."""
    rows = ["| case | answer |", "|---|---|"]
    for case, outcomes in cases.items():
        rows.append(f"| {case} | {counts(outcomes)} |")
    return "\n".join(rows)


FORMATS = {
    "ms": duration_ms,
    "ms-list": lambda v: ", ".join(duration_ms(x) for x in v),
    "s": lambda v: f"{float(v):.1f} s",
    "pct": lambda v: f"{number(v)} %",
    "signed": lambda v: f"{v:+}",
    "counts": counts,
    "tally": tally,
    "cases": lambda v: number(len(v)),
    "calls": lambda v: number(sum(sum(o.values()) for o in v.values())),
    "sum": lambda v: number(sum(v.values() if isinstance(v, dict) else v)),
    "table": table,
    "json": lambda v: json.dumps(v, separators=(", ", ": ")),
}


def lookup(figures, path):
    """
    The value at path. Keys may contain '/' themselves (method paths): the longest run of segments that names a key wins.
    A '*' segment maps the rest of the path over every entry and gives their values as a list.
    """
    value = figures
    keys = path.split("/") if path else []
    i = 0
    while i < len(keys):
        key = keys[i]
        if key == "*" and isinstance(value, dict):
            rest = "/".join(keys[i + 1:])
            return [lookup(v, rest) for v in value.values()]
        if key.endswith("*") and i == len(keys) - 1 and isinstance(value, dict):
            prefix = key[:-1]
            return {k[len(prefix):]: v for k, v in value.items() if k.startswith(prefix) and isinstance(v, (int, float))}
        if not isinstance(value, dict):
            raise Missing(path)
        for j in range(len(keys), i, -1):
            if "/".join(keys[i:j]) in value:
                value, i = value["/".join(keys[i:j])], j
                break
        else:
            raise Missing(path)
    return value


def render_value(figures, path, fmt):
    try:
        value = lookup(figures, path)
    except Missing:
        # Counters are written only once counted: an absent one is zero. Any other absent figure is an error.
        if fmt == "count":
            return "0"
        raise
    if fmt in (None, "count"):
        return number(value)
    if fmt == "failures":
        return counts({k: v for k, v in value.items() if k != "ok"})
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'")
    return FORMATS[fmt](value)


def load_figures(directory):
    files = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                files[name[:-5]] = json.load(f)
    return files


def stale(files, run):
    """Figure files whose run started outside this run: left over from another one."""
    started, finished = run.get("started"), run.get("finished")
    return sorted(name for name, figures in files.items()
                  if name != "run" and not (started <= figures.get("started", "")[:19] <= finished))


def render(page_path, directory):
    files = load_figures(directory)
    if "run" not in files:
        return None, [f"{directory}: no run.json (docs/reliability/run.sh writes it)"]
    run = files["run"]
    errors = [f"{directory}/{name}.json: not written by the run of {run['started']}..{run['finished']}"
              for name in stale(files, run)]
    out = []
    with open(page_path, encoding="utf-8") as f:
        page = f.read().splitlines()
    for number_, line in enumerate(page, 1):
        def replace(match):
            name, path, fmt = match.group(1).strip(), match.group(2).strip(), match.group(3)
            where = f"{os.path.relpath(page_path, ROOT)}:{number_}"
            if name not in files:
                errors.append(f"{where}: no figures file {name}.json")
                return "?"
            try:
                return render_value(files[name], path, fmt and fmt.strip())
            except Missing:
                errors.append(f"{where}: {name}.json has no field '{path}'")
            except (ValueError, TypeError, AttributeError) as e:
                errors.append(f"{where}: {name}.json '{path}' cannot be printed as {fmt}: {e}")
            return "?"
        out.append(PLACEHOLDER.sub(replace, line))

    dirty = f" with uncommitted changes to {', '.join(run['dirty'])}" if run.get("dirty") else ""
    header = [
        "# Reliability and security: what was injected, what happened",
        "",
        "Generated by `docs/reliability/run.sh` (do not edit by hand: edit `docs/reliability/page.md` or",
        "`docs/reliability/render.py` and rerun). Every figure below comes from one run of `tests/Reliability.Tests` and",
        "`tests/Security.Tests`, kept in `docs/reliability/figures/`:",
        "",
        f"- Run: {run['started'][:16].replace('T', ' ')} to {run['finished'][11:16]} UTC, commit `{run['commit'][:10]}`{dirty}",
        f"- Machine: {run['machine']}",
        f"- Reliability.Tests: {run['reliability']}; Security.Tests: {run['security']}",
        "",
    ]
    return "\n".join(header + out).rstrip() + "\n", errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--figures", default=os.path.join(HERE, "figures"))
    parser.add_argument("--page", default=os.path.join(HERE, "page.md"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "reliability.md"))
    args = parser.parse_args()
    text, errors = render(args.page, args.figures)
    if errors:
        print("render.py: the page cannot be rendered from these figures:", file=sys.stderr)
        for error in errors:
            print("  " + error, file=sys.stderr)
        return 1
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
