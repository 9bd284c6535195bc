"""The upload strategies being compared, each runnable alone in a fresh process.

    python -m benchmarks.contenders NAME --base-url U --upload-url U --token T --target T --oname O DIR

Prints one JSON line: files the strategy believed uploaded, files that failed, and the error kinds.
The parent measures wall time and peak memory (each contender gets its own process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

FIELDS = {"data_product_type": "fits_file", "dry_run": "False", "filter": "GaiaSP/V"}


def official(args: argparse.Namespace, paths: list[Path]) -> dict[str, Any]:
    """The documentation's upload_files_script.py way: one file at a time, no timeout, no retry."""
    ok, failed, errors = 0, 0, []
    with httpx.Client(timeout=None) as client:
        for path in paths:
            try:
                with path.open("rb") as handle:
                    response = client.post(
                        args.upload_url + "/upload/",
                        headers={"Authorization": "Token " + args.token},
                        data={**FIELDS, "target": args.target, "observatory": args.oname},
                        files={"files": (path.name, handle)},
                    )
                if response.status_code == 201:
                    ok += 1
                else:
                    failed += 1
                    errors.append(response.status_code)
            except httpx.HTTPError as exc:  # the official script simply crashes here
                failed += 1
                errors.append(type(exc).__name__)
                if args.crash_on_error:
                    break
    return {"ok": ok, "failed": failed, "errors": errors}


async def naive_async(args: argparse.Namespace, paths: list[Path], retries: int = 0) -> dict[str, Any]:
    """What a quick async script does: every file at once, read whole into memory, gathered.

    With `retries`, a failed file is simply sent again: the usual first fix, and the way a
    connection reset after the server stored the file turns into a duplicate.
    """

    async def one(client: httpx.AsyncClient, path: Path) -> int | str:
        result = await once(client, path)
        for _ in range(retries):
            if result == 201:
                break
            result = await once(client, path)
        return result

    async def once(client: httpx.AsyncClient, path: Path) -> int | str:
        try:
            response = await client.post(
                args.upload_url + "/upload/",
                headers={"Authorization": "Token " + args.token},
                data={**FIELDS, "target": args.target, "observatory": args.oname},
                files={"files": (path.name, path.read_bytes())},
            )
            return response.status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    async with httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_connections=None)) as client:
        results = await asyncio.gather(*(one(client, p) for p in paths))
    return {
        "ok": sum(1 for r in results if r == 201),
        "failed": sum(1 for r in results if r != 201),
        "errors": [r for r in results if r != 201],
    }


def curl(args: argparse.Namespace, paths: list[Path]) -> dict[str, Any]:
    """curl, one process per file, sequentially (what a shell loop over the folder does)."""
    ok, failed, errors = 0, 0, []
    for path in paths:
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                "Authorization: Token " + args.token,
                "-F",
                f"files=@{path}",
                "-F",
                f"target={args.target}",
                "-F",
                f"observatory={args.oname}",
                *[arg for key, value in FIELDS.items() for arg in ("-F", f"{key}={value}")],
                args.upload_url + "/upload/",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.stdout.strip() == "201":
            ok += 1
        else:
            failed += 1
            errors.append(result.stdout.strip() or result.stderr.strip()[:40])
    return {"ok": ok, "failed": failed, "errors": errors}


async def ours(args: argparse.Namespace, paths: list[Path]) -> dict[str, Any]:
    """bhtom_async's bulk uploader: bounded concurrency, streaming, journaled, reconciling."""
    from bhtom_async import Client

    async with Client(args.token, base_url=args.base_url, upload_url=args.upload_url) as bh:
        summary = await bh.upload_directory(
            [str(p) for p in paths],
            target=args.target,
            observatory=args.oname,
            filter="GaiaSP/V",
            concurrency=args.concurrency,
            journal=args.journal,
            min_age=0.0,
        )
    outcomes = summary.outcomes
    return {
        "ok": sum(1 for o in outcomes if o.status == "uploaded"),
        "failed": sum(1 for o in outcomes if o.status != "uploaded"),
        "errors": [o.status for o in outcomes if o.status != "uploaded"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", help="official, curl, naive_async, naive_retry, bhtom_async or bhtom_async@N")
    parser.add_argument("directory", type=Path)
    for option in ("--base-url", "--upload-url", "--token", "--target", "--oname", "--journal"):
        parser.add_argument(option, required=option != "--journal")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--crash-on-error", action="store_true")
    args = parser.parse_args(argv)
    if args.name.startswith("bhtom_async@"):
        args.name, args.concurrency = "bhtom_async", int(args.name.split("@", 1)[1])
    paths = sorted(args.directory.glob("*.fits"))
    if args.name == "official":
        result = official(args, paths)
    elif args.name == "curl":
        result = curl(args, paths)
    elif args.name == "naive_async":
        result = asyncio.run(naive_async(args, paths))
    elif args.name == "naive_retry":
        result = asyncio.run(naive_async(args, paths, retries=1))
    else:
        result = asyncio.run(ours(args, paths))
    result["peak_rss_mb"] = _own_peak_rss_mb()
    sys.stdout.write(json.dumps(result) + "\n")


def _own_peak_rss_mb() -> float:
    """This process's RSS high-water mark (VmHWM). getrusage would include the forking parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


if __name__ == "__main__":
    main()
