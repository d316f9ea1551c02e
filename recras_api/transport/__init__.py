"""How one request travels: its retries, its wall-time budget, its redirects, its body.

:class:`~recras_api.client.RecrasClient` puts these together; each module owns one rule
(:mod:`.retry_policy` when to try again, :mod:`.deadline` how long the server may take,
:mod:`.redirects` where a request may go, :mod:`.bodies` how much of an answer is read).
"""
