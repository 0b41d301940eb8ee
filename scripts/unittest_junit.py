#!/usr/bin/env python3
"""Runs Python unittest discovery and writes a JUnit XML report.

    unittest_junit.py REPORT.xml START_DIR [PATTERN]

Prints the usual verbose unittest output; REPORT.xml gets one <testcase>
per test with its outcome, from the runner's own result (what scripts/test.sh
counts). Exits 0 when every test passed, 1 otherwise.
"""
import sys
import time
import unittest
import xml.etree.ElementTree as ET


class RecordingResult(unittest.TextTestResult):
    """A TextTestResult that also keeps (test id, outcome, seconds, text)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = []
        self._started = {}

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        super().startTest(test)

    def _record(self, test, outcome, text=""):
        seconds = time.monotonic() - self._started.get(test.id(), time.monotonic())
        self.records.append((test.id(), outcome, seconds, text))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")


def write_report(path, suite_name, records):
    """Writes the JUnit XML file that test.sh reads."""
    failures = sum(1 for r in records if r[1] == "failure")
    errors = sum(1 for r in records if r[1] == "error")
    skipped = sum(1 for r in records if r[1] == "skipped")
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(records)),
                       failures=str(failures), errors=str(errors), skipped=str(skipped))
    for test_id, outcome, seconds, text in records:
        cls, _, name = test_id.rpartition(".")
        case = ET.SubElement(suite, "testcase", classname=cls, name=name,
                             time="%.3f" % seconds)
        if outcome in ("failure", "error", "skipped"):
            ET.SubElement(case, outcome, message=text.splitlines()[-1] if text else "").text = text
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    report, start = argv[1], argv[2]
    pattern = argv[3] if len(argv) == 4 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(start, pattern=pattern, top_level_dir=start)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=RecordingResult, stream=sys.stdout)
    result = runner.run(suite)
    # A module that fails to import shows up as an error of a synthetic test.
    write_report(report, start, result.records)
    return 0 if result.wasSuccessful() and result.records else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
