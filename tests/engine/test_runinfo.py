"""What a run records about the code that made it."""

import re
from pathlib import Path

from srdistill.engine.runinfo import git_state


def test_git_state_reads_this_checkout():
    state = git_state()
    assert re.fullmatch(r"[0-9a-f]{40}", state["commit"] or ""), state
    assert isinstance(state["dirty"], bool)


def test_a_copy_sent_elsewhere_names_its_commit(monkeypatch):
    monkeypatch.setenv("SRDISTILL_GIT_COMMIT", "62dbc85")
    assert git_state() == {"commit": "62dbc85", "dirty": None, "source": "SRDISTILL_GIT_COMMIT"}


def test_the_environment_names_the_processor():
    from srdistill.engine.runinfo import environment_record

    record = environment_record("cpu", 1)
    assert isinstance(record["cpu"], str) and record["cpu"].strip()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and "model name" in cpuinfo.read_text():
        assert record["cpu"] in cpuinfo.read_text()
