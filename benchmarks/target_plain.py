"""The baselines target-recras is measured against: plain scripts without any target logic.

``post``: POST every body of a JSON Lines file to ``/api2/klanten`` with N threads.
``read``: ``json.loads`` every line of a file.

    python benchmarks/target_plain.py post BASE_URL API_KEY BODIES.jsonl THREADS
    python benchmarks/target_plain.py read FILE.jsonl
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter


def post_all(base_url: str, api_key: str, bodies: list[dict], threads: int) -> int:
    """POST every body; return how many Recras answered 200 or 201."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=threads))
    session.headers["Authorization"] = f"Bearer {api_key}"
    lock, done = threading.Lock(), [0]

    def post(body: dict) -> None:
        response = session.post(f"{base_url}/api2/klanten", json=body, timeout=60)
        if response.status_code in {200, 201}:
            with lock:
                done[0] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, bodies))
    return done[0]


def read_all(path: Path) -> int:
    """Parse every line; return the number of lines."""
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
            count += 1
    return count


def main() -> None:
    """Command line entry point (see the module docstring)."""
    if sys.argv[1] == "post":
        base_url, api_key, path, threads = sys.argv[2:6]
        bodies = [json.loads(line) for line in Path(path).read_text().splitlines()]
        print(post_all(base_url, api_key, bodies, int(threads)))
    else:
        print(read_all(Path(sys.argv[2])))


if __name__ == "__main__":
    main()
