"""What the executables share beyond the HTTP client: singer-sdk glue, start-up and stop signals.

The settings schema both plugins declare (:mod:`.settings`), their config validation and the
record of every private singer-sdk name the project relies on (:mod:`.sdk_compat`), the SDK's
HTTP metrics for the client's requests (:mod:`.metrics`), how a console script starts
(:mod:`.startup`) and how an executable stops on a signal (:mod:`.termination`). The HTTP
client (the rest of :mod:`recras_api`) never imports this package, so it stays free of
singer-sdk (``tests/api/test_plain_client.py``).
"""
