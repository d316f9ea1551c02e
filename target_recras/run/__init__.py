"""One run's machinery: its resources, writer threads, checkpoints and report.

:mod:`.session` opens a run's resources and chooses its writer once (:mod:`.writers`: live or
dry run), :mod:`.upsert` writes one record by the rules of :mod:`target_recras.writes`,
:mod:`.lanes` are the writer threads, :mod:`.checkpoints` decides when a STATE is released,
:mod:`.rejects` keeps the records Recras or the target refused, and :mod:`.report` counts
outcomes and writes the summary.
"""

from target_recras.run.session import TargetSession

__all__ = ["TargetSession"]
