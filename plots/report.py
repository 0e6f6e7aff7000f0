#!/usr/bin/python3
"""report.py RESULTS_DIR - write RESULTS_DIR/report.html, the design-review report.

One self-contained HTML file (CSS inline, matplotlib charts embedded as base64 PNG, no
external URL): the verdict per workload and an overall recommendation in words, the
tables, the charts, the machine and method, and the command that reproduces the run.
Reads summary.csv (required), machine.json, raw/*.jsonl, timelines/*.csv and
errors.log (see results/README.md). Run with /usr/bin/python3: the only Python with
matplotlib here. Exit status: 0 written, 1 usage or bad input (the message names the file).
"""

import os
import sys

sys.dont_write_bytecode = True   # no __pycache__ left in plots/ by a report run

import report_data  # noqa: E402  (after the bytecode switch)
import report_html  # noqa: E402


def write_atomically(path, text):
    """path gets text whole or not at all: a temp file in the same folder, then a rename."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 else 1
    folder = argv[1]
    out = os.path.join(folder, "report.html")
    try:
        res = report_data.load_results(folder)
        text = report_html.page(res)
        write_atomically(out, text)
    except report_data.InputError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"report.py: cannot write {out}: {e.strerror}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
