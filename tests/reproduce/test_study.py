"""reproduce/study.py: pieces of the shared study runner."""

from srdistill.reproduce.study import command_line


def test_command_line_keeps_what_changes_numbers_and_drops_how_runs_execute():
    line = command_line(
        "study-b",
        "study",
        3,
        ["train.threads=1", "train.progress=false", "train.steps=400", "train.device=cuda"],
    )
    assert line == "srdistill reproduce study-b --preset study --seeds 3 -o train.steps=400"
