"""What the client reports about every try it sends: :class:`RequestMeasurement`.

The client calls its observers (:data:`RequestObserver`) once per try, retried ones
included, with the method, the endpoint template (``/api2/klanten/{id}``: no ids, no query
string, nothing secret), the HTTP status (``None`` when no answer came) and the wall time.
The plugins turn these into singer-sdk METRIC lines (:mod:`recras_api.plugin.metrics`); the
adaptive concurrency (:mod:`recras_api.concurrency`) reads the statuses. Plain Python: no
singer-sdk here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

#: A path segment that is a (customer) id.
_ID_SEGMENT = re.compile(r"/[0-9]+(?=/|$)")


@dataclass(frozen=True)
class RequestMeasurement:
    """One try: ``status`` is ``None`` when no answer came (``failure`` then says why)."""

    method: str
    endpoint: str
    status: int | None
    seconds: float
    failure: str | None = None


#: Called on the requesting thread after every try; must be quick and thread-safe.
RequestObserver = Callable[[RequestMeasurement], None]


def endpoint_template(url: str, base_url: str) -> str:
    """The API path of ``url`` below ``base_url`` with ids as ``{id}``: ``/api2/klanten/{id}``."""
    path = urlsplit(url).path
    base_path = urlsplit(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    return _ID_SEGMENT.sub("/{id}", path) or "/"
