"""Which redirects a request to Recras follows: only within the instance's origin, a few.

It owns the redirect policy and the origin comparison it rests on. requests' own redirect
handling would follow any host (only dropping the ``Authorization`` header), re-send a
307's body there and turn a POST into a GET on a 302; here a request is sent with
``allow_redirects=False`` and :func:`send_following_redirects` follows at most
:data:`MAX_REDIRECTS` hops itself, stopping before anything is sent to another origin.
:func:`origin` is also what the list's next-page links are checked with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from recras_api import errors
from recras_api.transport.bodies import TooSlowError
from recras_api.transport.deadline import Deadline

#: Same-origin redirects followed per request; a redirect to another origin is never followed.
MAX_REDIRECTS = 5
#: Redirects after which a POST or PUT would be resent as a GET (its body dropped).
METHOD_CHANGING_REDIRECTS = frozenset({301, 302, 303})


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (default ports dropped), without credentials."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def send_following_redirects(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None,
    json_body: Any,
    deadline: Deadline,
    base_url: str,
    request_timeout: float,
) -> requests.Response:
    """Send once, following at most :data:`MAX_REDIRECTS` redirects within ``base_url``'s origin.

    A redirect to another origin (scheme, host, port) stops the request before anything is
    sent there, and a write is only redirected by 307/308, which keep the method and body.
    Waiting for each answer's headers counts against ``deadline``.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        with deadline.waiting():
            response = session.request(
                method,
                url,
                params=params,
                json=json_body,
                stream=True,
                allow_redirects=False,
                timeout=request_timeout,
            )
        if deadline.expired:
            response.close()
            raise TooSlowError
        if not response.is_redirect:
            return response
        response.close()
        target = urljoin(response.url, response.headers["Location"])
        status = response.status_code
        if origin(target) != origin(base_url):
            msg = (
                f"{method} {response.url} was redirected ({status}) to another origin, "
                f"{origin(target)}; requests for {origin(base_url)} are never "
                "sent elsewhere. Check base_url (is it the instance's own address?)."
            )
            raise errors.RecrasRedirectError(msg, status=status, url=response.url)
        if method not in {"GET", "HEAD"} and status in METHOD_CHANGING_REDIRECTS:
            msg = (
                f"{method} {response.url} was redirected with {status}, which would resend "
                "it as a GET without its body; not followed. Check base_url."
            )
            raise errors.RecrasRedirectError(msg, status=status, url=response.url)
        url, params = target, None  # the Location carries its own query string
    msg = f"{method} {url}: more than {MAX_REDIRECTS} redirects; stopping. Check base_url."
    raise errors.RecrasRedirectError(msg, url=url)
