#!/usr/bin/env python3
"""Render the nightly RayJob (rayjob-nightly.yaml) for one logical date; print it or write it to --out.

Standard library only: it runs in the CronJob's python:3.11-slim init container and on an operator's laptop.
The date is decided here, once, and written into the RayJob (its name, its label and the `--date` of its
entrypoint), so a retry of the job or a late start replays the same night, and any night can be re-run:

    python3 infra/k8s/render_rayjob.py --date 2026-12-01 --image REGISTRY/bidirag:TAG | kubectl create -f -

Inside a Job created by the CronJob, JOB_NAME and JOB_UID (downward API) make that Job the RayJob's owner, so
the CronJob's history limits also delete old RayJobs (and nothing else piles up).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import string
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

TEMPLATE = Path(__file__).resolve().with_name("rayjob-nightly.yaml")


class RenderError(ValueError):
    pass


def yesterday(now: datetime | None = None) -> str:
    """The logical date of a nightly run: the UTC day before `now`."""
    return ((now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")


def check_date(day: str) -> str:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise ValueError(day)
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError:
        raise RenderError(f"--date {day!r}: give the logical date as YYYY-MM-DD, e.g. 2026-12-01") from None
    return day


def render(template: str, day: str, image: str, job_name: str | None = None, job_uid: str | None = None) -> str:
    if not image or any(c.isspace() for c in image):
        raise RenderError("no image: pass --image REGISTRY/bidirag:TAG or set BIDIRAG_IMAGE")
    owners = ([{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": job_uid}]
              if job_name and job_uid else [])
    try:
        return string.Template(template).substitute(DATE=check_date(day), IMAGE=image,
                                                    OWNER_REFERENCES=json.dumps(owners))
    except (KeyError, ValueError) as e:
        raise RenderError(f"template placeholder not filled: {e}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--date", default=None, help="logical date YYYY-MM-DD (default: yesterday, UTC)")
    ap.add_argument("--image", default=os.environ.get("BIDIRAG_IMAGE", ""), help="bidirag image (or BIDIRAG_IMAGE)")
    ap.add_argument("--template", default=str(TEMPLATE))
    ap.add_argument("--out", default="-", help="file to write (default: standard output)")
    args = ap.parse_args(argv)
    try:
        text = render(Path(args.template).read_text(encoding="utf-8"), args.date or yesterday(), args.image,
                      os.environ.get("JOB_NAME"), os.environ.get("JOB_UID"))
    except (RenderError, OSError) as e:
        print(f"render_rayjob: error: {e}", file=sys.stderr)
        return 2
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"render_rayjob: wrote {args.out} for {args.date or yesterday()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
