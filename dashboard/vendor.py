"""Copies the browser libraries installed by npm (``dashboard/node_modules``) into ``static/vendor``.

Run by ``make setup`` after ``npm ci``; the copies are not committed. Only files the pages load are copied.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {
    "uplot/dist/uPlot.iife.min.js": "uplot/uPlot.iife.min.js",
    "uplot/dist/uPlot.min.css": "uplot/uPlot.min.css",
    "uplot/LICENSE": "uplot/LICENSE",
}


def main() -> int:
    modules, vendor = HERE / "node_modules", HERE / "static" / "vendor"
    for source, target in FILES.items():
        src, dst = modules / source, vendor / target
        if not src.exists():
            print(f"dashboard vendor: {src} missing; run `npm ci` in dashboard/", file=sys.stderr)
            return 1
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
