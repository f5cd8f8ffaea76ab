#!/usr/bin/env python3
"""Add up the JUnit reports of every suite `make test` ran and print one closing line: 'N passed, N failed'."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main():
    out = Path(sys.argv[1])
    passed = failed = skipped = 0
    per_suite = []
    for report in sorted(out.rglob("*.xml")):
        try:
            root = ET.parse(report).getroot()
        except ET.ParseError:
            continue
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        p = f = s = 0
        for suite in suites:
            for case in suite.iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    f += 1
                elif case.find("skipped") is not None:
                    s += 1
                else:
                    p += 1
        per_suite.append("%s: %d passed, %d failed, %d skipped" % (report.relative_to(out), p, f, s))
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print("\n".join(per_suite))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
