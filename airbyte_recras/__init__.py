"""The Airbyte protocol for tap-recras and target-recras: ``source-recras``, ``destination-recras``.

Both run the Singer plugin in-process and translate: the source turns the tap's Singer
messages into Airbyte messages, the destination turns Airbyte messages into Singer messages
for the target and its STATE back into Airbyte STATE. Settings are the Singer plugins'
settings, unchanged. No ``airbyte-cdk``: the protocol is JSON lines, and the CDK's pins
(and its ``backoff`` package, which overwrites python-backoff's files) would clash with
singer-sdk's.

Modules: :mod:`.output` (the one writer of stdout, LOG messages), :mod:`.spec` (SPEC from
the plugin's settings), :mod:`.failures` (TRACE ERROR and its failure type), :mod:`.command`
(the command line both share), :mod:`.streams` (catalog and state translation),
:mod:`.source` and :mod:`.destination`.
"""
