"""A stop signal after the run's output is complete, while the interpreter waits for threads.

The executables mark the run complete once it returned (``run_plugin_cli``, ``main_for``);
the interpreter's exit then joins the threads still running. A SIGTERM arriving there (a
PyAirbyte cancel racing the end of a read) must not raise into ``threading``'s shutdown,
which prints ``Exception ignored in: <module 'threading'>`` and cuts the exit short.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from recras_api.plugin.termination import stop_signals

    stop_signals.install()

    def late_signal():  # runs while the interpreter's exit joins this thread
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)

    worker = threading.Thread(target=late_signal)  # not a daemon: the exit waits for it
    worker.start()
    if sys.argv[1] == "complete":
        stop_signals.run_complete()
    print("output complete", flush=True)
    """
)


def _exit_after_the_run(marked: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, marked],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_stop_signal_after_the_complete_run_is_noted_not_raised_into_the_exit() -> None:
    done = _exit_after_the_run("complete")
    assert done.stdout == "output complete\n"
    assert done.stderr == ""
    assert done.returncode == 0


def test_unmarked_the_same_signal_raises_into_threadings_shutdown() -> None:
    """What the mark prevents (the executables' own ends are marked)."""
    done = _exit_after_the_run("unmarked")
    assert "Exception ignored in: <module 'threading'" in done.stderr
    assert "Stopped: received SIGTERM" in done.stderr
