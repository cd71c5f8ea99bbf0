"""What each operation answered in a schemathesis run, from its HAR and NDJSON reports.

    schemathesis_summary.py SPEC REPORT [REPORT...]     (each *.har.json or *.ndjson)

One line per operation of SPEC that was called: cases, how many got a 2xx, how many a 4xx; the
positive cases (valid by the spec: what schemathesis generated to be accepted), how many of
them got a 2xx and how many a 400 (a 400 there means the spec is looser than the API); and the
most common refusals (status and problem `code`, or API Gateway's `message`). Requests for a
path or method the spec does not list (schemathesis probes them) are counted on one line.
"""

import collections
import json
import re
import sys
import urllib.parse

import yaml

METHODS = ("get", "put", "post", "delete", "patch")


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS]
    patterns = {path: re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$") for _, path in operations}
    counts = collections.defaultdict(collections.Counter)
    refusals = collections.defaultdict(collections.Counter)
    modes = {}
    for report in sys.argv[2:]:
        if report.endswith(".ndjson"):
            with open(report) as handle:
                for line in handle:
                    event = json.loads(line).get("ScenarioFinished") or {}
                    for case_id, case in (event.get("recorder") or {}).get("cases", {}).items():
                        modes[case_id] = case["value"]["meta"]["generation"]["mode"]
    entries = []
    for report in sys.argv[2:]:
        if not report.endswith(".ndjson"):
            with open(report) as handle:
                entries += json.load(handle)["log"]["entries"]
    for entry in entries:
        method, status = entry["request"]["method"], entry["response"]["status"]
        path = urllib.parse.urlsplit(entry["request"]["url"]).path
        # A literal path wins over a template (/auth/sessions/x is not /auth/sessions).
        matches = [p for m, p in operations if m == method and patterns[p].match(path)]
        name = f"{method} {min(matches, key=lambda p: p.count('{'))}" if matches else "(unlisted path or method)"
        count = counts[name]
        count["cases"] += 1
        count[f"{status // 100}xx"] += 1
        case_id = next((h["value"] for h in entry["request"]["headers"] if h["name"] == "X-Schemathesis-TestCaseId"), None)
        if modes.get(case_id) == "positive":
            count["positive"] += 1
            count["positive 2xx"] += status // 100 == 2
            count["positive 400"] += status == 400
        if status >= 400:
            try:
                body = json.loads(entry["response"]["content"].get("text") or "{}")
            except ValueError:
                body = {}
            reason = (body.get("code") or body.get("message") or "") if isinstance(body, dict) else ""
            refusals[name][f"{status} {reason}".strip()] += 1
    print(f"{'':40} {'all cases':^16} {'positive cases':^16}")
    print(f"{'operation':40} {'cases':>5} {'2xx':>4} {'4xx':>5} {'cases':>5} {'2xx':>4} {'400':>5}  most common refusals")
    for name in sorted(counts, key=lambda n: (n.startswith("("), n.split(" ", 1)[-1], n)):
        c = counts[name]
        top = ", ".join(f"{reason} x{n}" for reason, n in refusals[name].most_common(3))
        print(
            f"{name:40} {c['cases']:>5} {c['2xx']:>4} {c['4xx']:>5} {c['positive']:>5} {c['positive 2xx']:>4}"
            f" {c['positive 400']:>5}  {top}"
        )


if __name__ == "__main__":
    main()
