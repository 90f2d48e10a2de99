"""The offline planner's pipeline as code: `planner.STAGES` lists its stages in order, each hands the
next a frozen value, and running the list by hand is what `OfflinePlanner.plan` does."""
from __future__ import annotations

import dataclasses

import pytest

from querygpt_jupyter.agent.offline import STAGES, OfflinePlanner, Plan
from querygpt_jupyter.agent.offline import read as read_stage
from querygpt_jupyter.agent.offline.planner import READING, WRITING, run
from querygpt_jupyter.agent.offline.tokens import Request
from querygpt_jupyter.connections.catalog import Catalog, Column, Table

CATALOG = Catalog("duckdb", "test", (
    Table("cars", (Column("name", "VARCHAR", samples=("ford pinto", "vw golf")), Column("horsepower", "INTEGER"),
                   Column("origin", "VARCHAR", samples=("USA", "Europe", "Japan")))),
))


def test_stages_run_in_pipeline_order():
    assert [stage.__module__.rsplit(".", 1)[-1] for stage in STAGES] == [
        "tokens", "choose", "link", "read", "check", "build", "explain"]
    assert STAGES[2:] == READING + WRITING  # a join is read and written by the same stages


@pytest.mark.parametrize("question", [
    "How many cars are there?",
    "Average horsepower per origin as a bar chart",
    "Which origin has the highest horsepower?",
    "List the names of cars from Japan",
])
def test_running_the_stages_by_hand_gives_the_planners_plan(question):
    by_hand = run(STAGES, Request(question, CATALOG))
    assert isinstance(by_hand, Plan)
    assert by_hand == OfflinePlanner().plan(question, CATALOG)


def test_every_hand_off_between_stages_is_frozen():
    handed, value = [], Request("Average horsepower per origin", CATALOG)
    for stage in STAGES:
        value = stage(value)
        handed.append(value)
    for value in [Request("q", CATALOG), *handed]:
        assert dataclasses.is_dataclass(value), type(value).__name__
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, dataclasses.fields(value)[0].name, None)


def test_reading_leaves_the_mentions_as_they_were_handed_on():
    mentions = run(STAGES[:3], Request("Average horsepower per origin", CATALOG))
    first = read_stage.read(mentions)
    assert not any(span.used for span in mentions.spans)
    assert read_stage.read(mentions).query == first.query
