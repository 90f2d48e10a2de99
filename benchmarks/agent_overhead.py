"""Figures for the model-backed agent:
- overhead per turn, excluding model time, with an instant scripted model (a LiteLLM custom
  provider that answers at once) on the demo database — target: median ≤ 50 ms;
- prompt size in tokens for the demo database and for a synthetic 300-table schema."""
from __future__ import annotations

import os
import statistics
import tempfile
import time

os.environ.setdefault("QUERYGPT_HOME", tempfile.mkdtemp(prefix="qg-bench-home-"))
SQL = 'SELECT "Origin", AVG("Horsepower") AS hp FROM cars GROUP BY "Origin" ORDER BY hp DESC'


def install_instant_model():
    from querygpt_jupyter.agent.llm import load_litellm

    litellm = load_litellm()  # first: it keeps LiteLLM from fetching its cost map
    from litellm import CustomLLM
    from litellm.types.utils import GenericStreamingChunk

    answer = f"```sql\n{SQL}\n```\nAverage horsepower per origin."

    class Instant(CustomLLM):
        def streaming(self, *args, **kwargs):
            yield GenericStreamingChunk(text=answer, is_finished=True, finish_reason="stop", index=0, tool_use=None,
                                        usage={"prompt_tokens": 1500, "completion_tokens": 30, "total_tokens": 1530})

        def completion(self, *args, **kwargs):
            raise NotImplementedError("the agent always streams")

    litellm.custom_provider_map = [p for p in litellm.custom_provider_map if p["provider"] != "instant"] + [
        {"provider": "instant", "custom_handler": Instant()}]


def overhead(runs: int = 30) -> None:
    import querygpt_jupyter as qg

    install_instant_model()
    for _ in range(3):  # warm: imports, catalogue cache, chart engine
        assert qg.ask("Average horsepower by origin", db="demo", model="instant/model", tools="off").error is None
    totals, model, overheads, without_chart = [], [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        answer = qg.ask("Average horsepower by origin", db="demo", model="instant/model", tools="off")
        total = (time.perf_counter() - t) * 1000
        assert answer.error is None, answer.error
        totals.append(total)
        model.append(answer.timings["model"])
        overheads.append(total - answer.timings["model"])
        without_chart.append(total - answer.timings["model"] - answer.timings.get("charting", 0.0))
    print(f"turn with an instant scripted model: median {statistics.median(totals):.1f} ms over {runs} runs")
    print(f"  inside the model call (LiteLLM): median {statistics.median(model):.1f} ms")
    print(f"  agent overhead excluding model time: median {statistics.median(overheads):.1f} ms (target <= 50 ms)")
    print(f"  of which not charting: median {statistics.median(without_chart):.1f} ms")


def prompt_sizes() -> None:
    from querygpt_jupyter.agent.prompts import estimate_tokens, schema_text, system_prompt, table_ddl
    from querygpt_jupyter.connections.catalog import Catalog, Column, ForeignKey, Table
    from querygpt_jupyter.connections.introspect import introspect
    from querygpt_jupyter.connections.resolve import open_connection

    demo = introspect(open_connection("demo", (os.getcwd(),)))
    print(f"prompt for the demo database ({len(demo.tables)} tables): {estimate_tokens(system_prompt(demo, 'Average horsepower by origin')):,} tokens")
    tables = []
    for i in range(300):
        columns = (Column("id", "INTEGER", primary_key=True),) + tuple(
            Column(f"attribute_{j}_of_entity_{i}", "VARCHAR" if j % 3 else "DOUBLE", comment=f"measure {j}") for j in range(12))
        fks = (ForeignKey(("parent_id",), f"entity_{i - 1}", ("id",)),) if i else ()
        tables.append(Table(f"entity_{i}", columns + ((Column("parent_id", "INTEGER"),) if i else ()),
                            comment=f"Synthetic entity number {i}", row_count=1000 + i, foreign_keys=fks))
    big = Catalog("postgres", "synthetic", tuple(tables))
    full = "\n\n".join(table_ddl(t) for t in big.tables)
    pruned, was_pruned = schema_text(big, "average attribute_3_of_entity_42 per attribute_1_of_entity_42")
    print(f"synthetic 300-table schema: full DDL {estimate_tokens(full):,} tokens; "
          f"prompt sent {estimate_tokens(system_prompt(big, 'average attribute_3_of_entity_42 per attribute_1_of_entity_42')):,} tokens "
          f"(pruned={was_pruned}: full DDL for the 12 most related tables, names of the other 288; "
          "describe_table/list_tables tools for the rest)")


if __name__ == "__main__":
    overhead()
    prompt_sizes()
