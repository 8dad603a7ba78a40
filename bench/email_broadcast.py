"""An email broadcast to 10,000 addresses through a real Celery worker and SMTP server, with a kill -9.

    python -m bench.email_broadcast [--addresses 10000]

Runs the integration test `tests/integration/test_broadcast_email.py` (which `make test` runs at
2,000 addresses) at the issue's size and prints what it measured: the rate of the first broadcast
(each address received once, with the unsubscribe headers) and the delivery states after the
worker was killed mid-send (nothing doubled; at most the killed worker's batches in doubt). The
test creates its own `test_` database next to DATABASE_URL, as pytest-django does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    args = parser.parse_args()
    env = {**os.environ, "EMAIL_BROADCAST_N": str(args.addresses)}
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-W", "ignore",
        "tests/integration/test_broadcast_email.py",
    ]  # fmt: skip
    sys.exit(subprocess.call(command, env=env))


if __name__ == "__main__":
    main()
