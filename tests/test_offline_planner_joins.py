"""The offline planner across two tables linked by one foreign key: right answers or refusals.

A sales schema — customers ← orders ← order_items → products — is written to a DuckDB file with
PRIMARY KEY / REFERENCES constraints and fixed rows, then opened read-only and introspected like
any user database. Each question's SQL and a hand-written reference SQL run on the same file and
their results are compared the way the benchmark compares them. A SQLite copy checks that the
joins render in another dialect, and a flights schema (two keys from flights to airports) checks
that an ambiguous join path is refused.

benchmarks/offline_planner.py only runs against the demo database, so this module also prints the
figures for benchmarks/data/sales_questions.jsonl when run as a script:

    .venv/bin/python tests/test_offline_planner_joins.py [--verbose]
"""
from __future__ import annotations

import os
import sqlite3
import sys

import pytest

from querygpt_jupyter.agent.offline import OfflinePlanner, make_probe
from querygpt_jupyter.connections.catalog import Catalog, Column, ForeignKey, Table
from querygpt_jupyter.connections.introspect import introspect
from querygpt_jupyter.connections.resolve import open_connection
from querygpt_jupyter.errors import AgentFailure
from querygpt_jupyter.sql.execute import run_blocking

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.offline_planner import Demo, evaluate, load_cases, same_result, summary  # noqa: E402

SALES_CASES = load_cases(os.path.join(ROOT, "benchmarks", "data", "sales_questions.jsonl"))
ANSWERED = [c for c in SALES_CASES if c["expect"] == "answer"]
REFUSED_IN_SET = [c for c in SALES_CASES if c["expect"] == "refuse"]
planner = OfflinePlanner()


# --- the databases ---------------------------------------------------------------------------

SALES_SCHEMA = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR, country VARCHAR, segment VARCHAR)",
    "CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR, category VARCHAR, price DOUBLE)",
    ("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), "
     "order_date DATE, status VARCHAR)"),
    ("CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id), "
     "product_id INTEGER REFERENCES products(id), quantity INTEGER, unit_price DOUBLE)"),
]
# 12 customers (three without orders; 12 names, so the catalogue samples only 10 of them and
# `Marc Leroy` is found by the probe), 7 products (one never ordered), 15 orders, 19 items.
# Ranked questions have no ties: orders per country 7/4/3/1, quantity per category 13/12/11.
SALES_ROWS = {
    "customers": [
        (1, "Anna Schmidt", "Germany", "Consumer"), (2, "Bruno Keller", "Germany", "Corporate"),
        (3, "Claire Dubois", "France", "Consumer"), (4, "David Martin", "France", "Corporate"),
        (5, "Emma Johnson", "USA", "Consumer"), (6, "Frank Miller", "USA", "Consumer"),
        (7, "Hana Sato", "Japan", "Corporate"), (8, "Ivan Petrov", "Germany", "Consumer"),
        (9, "Jonas Weber", "Germany", "Corporate"), (10, "Lena Wagner", "Germany", "Consumer"),
        (11, "Marc Leroy", "France", "Consumer"), (12, "Nora Ito", "Japan", "Consumer"),
    ],
    "products": [
        (1, "The Art of SQL", "Books", 35.0), (2, "Data Stories", "Books", 22.5),
        (3, "Laptop Stand", "Electronics", 49.9), (4, "USB Cable", "Electronics", 9.99),
        (5, "Puzzle Cube", "Toys", 12.0), (6, "Robot Kit", "Toys", 79.0), (7, "Chess Set", "Toys", 30.0),
    ],
    "orders": [
        (1, 1, "2024-01-05", "shipped"), (2, 1, "2024-01-20", "shipped"), (3, 2, "2024-02-02", "cancelled"),
        (4, 3, "2024-02-10", "shipped"), (5, 3, "2024-03-01", "pending"), (6, 5, "2024-03-03", "shipped"),
        (7, 6, "2024-03-15", "shipped"), (8, 7, "2024-04-01", "pending"), (9, 8, "2024-04-11", "shipped"),
        (10, 8, "2024-04-20", "cancelled"), (11, 5, "2024-05-02", "shipped"), (12, 2, "2024-05-09", "shipped"),
        (13, 10, "2024-05-20", "shipped"), (14, 11, "2024-06-01", "pending"), (15, 6, "2024-06-10", "shipped"),
    ],
    "order_items": [
        (1, 1, 1, 2, 35.0), (2, 1, 4, 3, 9.99), (3, 2, 2, 1, 22.5), (4, 3, 6, 1, 79.0), (5, 4, 3, 1, 49.9),
        (6, 4, 5, 2, 12.0), (7, 5, 1, 1, 33.0), (8, 6, 6, 2, 75.0), (9, 7, 4, 5, 9.5), (10, 8, 2, 2, 22.5),
        (11, 9, 5, 5, 12.0), (12, 9, 3, 1, 49.9), (13, 10, 1, 1, 35.0), (14, 11, 4, 2, 9.99),
        (15, 12, 2, 3, 20.0), (16, 12, 6, 1, 79.0), (17, 13, 3, 1, 49.9), (18, 14, 1, 1, 35.0),
        (19, 15, 5, 1, 12.0),
    ],
}

# Two keys from flights to airports (origin, destination): which one a question means is a
# guess. One key to airlines: that join is unambiguous.
FLIGHTS_SCHEMA = [
    "CREATE TABLE airports (id INTEGER PRIMARY KEY, code VARCHAR, city VARCHAR)",
    "CREATE TABLE airlines (id INTEGER PRIMARY KEY, carrier VARCHAR)",
    ("CREATE TABLE flights (id INTEGER PRIMARY KEY, origin_id INTEGER REFERENCES airports(id), "
     "destination_id INTEGER REFERENCES airports(id), airline_id INTEGER REFERENCES airlines(id), distance DOUBLE)"),
]
FLIGHTS_ROWS = {
    "airports": [(1, "BOS", "Boston"), (2, "JFK", "New York"), (3, "ORD", "Chicago")],
    "airlines": [(1, "Delta"), (2, "United")],
    "flights": [(1, 1, 2, 1, 300.0), (2, 2, 3, 2, 1200.0), (3, 3, 1, 1, 1400.0), (4, 1, 3, 2, 1400.0),
                (5, 2, 1, 1, 300.0)],
}


def write_duckdb(path: str, schema: list[str], rows: dict[str, list[tuple]]) -> str:
    import duckdb

    con = duckdb.connect(path)
    try:
        for statement in schema:
            con.execute(statement)
        for table, values in rows.items():
            con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values)
    finally:
        con.close()
    return path


def write_sqlite(path: str, schema: list[str], rows: dict[str, list[tuple]]) -> str:
    """The same tables with SQLite's own type names (TEXT, REAL)."""
    con = sqlite3.connect(path)
    try:
        for statement in schema:
            con.execute(statement.replace("VARCHAR", "TEXT").replace("DOUBLE", "REAL"))
        for table, values in rows.items():
            con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values)
        con.commit()
    finally:
        con.close()
    return path


def open_world(path: str, folder: str) -> Demo:
    """A database file as the pipeline sees it: read-only adapter, catalogue, probe."""
    adapter = open_connection(path, (folder,))
    return Demo(adapter, introspect(adapter), make_probe(lambda sql: run_blocking(adapter, sql, 30), adapter.dialect))


@pytest.fixture(scope="module")
def sales(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sales")
    return open_world(write_duckdb(str(folder / "sales.duckdb"), SALES_SCHEMA, SALES_ROWS), str(folder))


@pytest.fixture(scope="module")
def sales_sqlite(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sales-sqlite")
    return open_world(write_sqlite(str(folder / "sales.sqlite"), SALES_SCHEMA, SALES_ROWS), str(folder))


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flights")
    return open_world(write_duckdb(str(folder / "flights.duckdb"), FLIGHTS_SCHEMA, FLIGHTS_ROWS), str(folder))


def answers_like(world: Demo, question: str, reference: str, *, ordered: bool = False):
    plan = planner.plan(question, world.catalog, world.probe)
    got, want = world.run(plan.sql), world.run(reference)
    assert same_result(got, want, ordered=ordered), f"{plan.sql}\n{got}\n!=\n{want}"
    return plan


def refusal_of(world: Demo, question: str) -> AgentFailure:
    with pytest.raises(AgentFailure) as caught:
        plan = planner.plan(question, world.catalog, world.probe)
        print(plan.sql)  # shown only when the planner answered
    assert "configure a model" in caught.value.hint
    return caught.value


def test_the_catalogue_has_the_keys(sales, sales_sqlite):
    for world in (sales, sales_sqlite):
        orders = world.catalog.table("orders")
        assert orders.foreign_keys == (ForeignKey(("customer_id",), "customers", ("id",)),)
        assert len(world.catalog.table("order_items").foreign_keys) == 2


# --- the join set: answers equal the reference ------------------------------------------------

@pytest.mark.parametrize("case", ANSWERED, ids=[c["q"] for c in ANSWERED])
def test_join_question_answers_like_the_reference(sales, case):
    plan = answers_like(sales, case["q"], case["sql"], ordered=case.get("ordered", False))
    assert " JOIN " in plan.sql


@pytest.mark.parametrize("case", REFUSED_IN_SET, ids=[c["q"] for c in REFUSED_IN_SET])
def test_join_set_question_beyond_one_key_is_refused(sales, case):
    refusal_of(sales, case["q"])


def test_join_set_figures(sales):
    precision, coverage = summary(evaluate(sales, SALES_CASES, planner))
    assert precision == 1.0
    assert coverage == len(ANSWERED) / len(SALES_CASES)


# --- refusals --------------------------------------------------------------------------------

REFUSED = [
    # three or more tables
    ("Total quantity per customer country", "order_items → orders → customers", "'quantity' is not in"),
    ("Revenue per customer country", "an unknown measure, and three tables", "revenue"),
    ("Highest price of products in shipped orders", "orders and products share no key", "several tables"),
    ("How many customers per product category?", "four tables", "several tables"),
    ("How many products, orders and customers?", "three tables named", "3 tables"),
    # the count is ambiguous after the join
    ("How many customers per order status?", "customers counted once per order", "Counting customers"),
    ("How many customers have cancelled orders?", "customers counted once per order", "Counting customers"),
    ("How many Corporate customers have orders?", "customers counted once per order", "Counting customers"),
    ("Count per customer country", "count of what?", "could not tell whether"),
    ("How many items per product category?", "items: order items or products?", "could not tell whether"),
    ("Most common customer country of orders", "count of what?", "could not tell whether"),
    # aggregates a join would distort, rows it would repeat, a join that does nothing
    ("Average price of order items in the Books category", "product prices weighed by items", "weigh"),
    ("Total price per order status", "price is products.price, not unit_price", "'price' is not in"),
    ("List the orders of customers in Germany", "a listing across a join", "Listing rows"),
    ("How many orders and customers are there?", "two counts, not a join", "does not use both"),
    ("How many orders per customer?", "per customer: which column?", "could not find a column"),
    # what one table refuses, a join refuses too
    ("Median quantity per product category", "an aggregate it lacks", "median"),
    ("How many orders per customer country in 2024?", "a number it cannot place", "2024"),
    ("How many orders from customers not in Germany?", "a negation", "'not'"),
]


@pytest.mark.parametrize("question, why, message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refuses_what_it_cannot_join_safely(sales, question, why, message):
    assert message.lower() in refusal_of(sales, question).message.lower()


@pytest.mark.parametrize("question", [
    "Average distance of flights per airport city",
    "How many flights from Boston?",
    "Total distance per airport code",
])
def test_refuses_when_several_keys_link_the_two_tables(flights, question):
    refusal = refusal_of(flights, question)
    assert "Several foreign keys link airports and flights" in refusal.message


def test_a_table_linked_by_one_key_still_joins_beside_an_ambiguous_one(flights):
    answers_like(flights, "How many flights per airline carrier?",
                 "SELECT a.carrier, COUNT(*) FROM flights f JOIN airlines a ON f.airline_id = a.id GROUP BY a.carrier")
    answers_like(flights, "Average distance of Delta flights",
                 "SELECT AVG(f.distance) FROM flights f JOIN airlines a ON f.airline_id = a.id WHERE a.carrier = 'Delta'")


# --- one table stays one table ---------------------------------------------------------------

SINGLE = [
    ("How many customers in Germany?", "SELECT COUNT(*) FROM customers WHERE country = 'Germany'"),
    ("Average price per category", "SELECT category, AVG(price) FROM products GROUP BY category"),
    ("How many orders per status?", "SELECT status, COUNT(*) FROM orders GROUP BY status"),
    ("How many orders per customer id?", "SELECT customer_id, COUNT(*) FROM orders GROUP BY customer_id"),
    ("Total quantity of order items", "SELECT SUM(quantity) FROM order_items"),
]


@pytest.mark.parametrize("question, reference", SINGLE, ids=[s[0] for s in SINGLE])
def test_a_question_one_table_answers_is_not_joined(sales, question, reference):
    plan = answers_like(sales, question, reference)
    assert "JOIN" not in plan.sql


# --- the SQL ---------------------------------------------------------------------------------

def test_sql_joins_along_the_key_with_qualified_quoted_columns(sales):
    plan = planner.plan("How many orders per customer country?", sales.catalog, sales.probe)
    assert plan.sql == (
        'SELECT "customers"."country", COUNT(*) AS "count" FROM "orders" '
        'JOIN "customers" ON "orders"."customer_id" = "customers"."id" '
        'GROUP BY "customers"."country" ORDER BY "customers"."country" ASC')
    assert plan.chart_hint is None   # the chart chooser decides from the rows


def test_explanation_names_the_join(sales):
    plan = planner.plan("Average unit price of items in the Books category", sales.catalog, sales.probe)
    assert plan.explanation == (
        "Computes the average of unit_price in order_items joined with products on "
        "order_items.product_id = products.id where products.category is 'Books'.")


SQLITE = [c for c in ANSWERED if c["q"] in {
    "How many orders per customer country?",
    "Top 2 product categories by total quantity",
    "How many orders from Marc Leroy?",
    "Latest order date per customer country",
    "Which customer countries have cancelled orders?",
    "Total quantity of shipped orders",
}]


@pytest.mark.parametrize("case", SQLITE, ids=[c["q"] for c in SQLITE])
def test_join_renders_and_runs_in_sqlite(sales_sqlite, case):
    assert sales_sqlite.catalog.dialect == "sqlite"
    plan = answers_like(sales_sqlite, case["q"], case["sql"], ordered=case.get("ordered", False))
    assert " JOIN " in plan.sql


# --- the rule on catalogues alone: a key, one key, either direction ---------------------------

def shop(*, keys: bool) -> Catalog:
    fk = (ForeignKey(("customer_id",), "customers", ("id",)),) if keys else ()
    return Catalog("duckdb", "f", (
        Table("customers", (Column("id", "INTEGER", primary_key=True), Column("name", "VARCHAR"),
                            Column("country", "VARCHAR", samples=("UK", "US", "FI")))),
        Table("orders", (Column("id", "INTEGER", primary_key=True), Column("customer_id", "INTEGER"),
                         Column("amount", "DOUBLE")), foreign_keys=fk),
    ))


def test_without_a_foreign_key_two_tables_are_still_refused():
    for question in ("Total amount of orders per customer country", "Total amount per country"):
        with pytest.raises(AgentFailure, match="several tables"):
            planner.plan(question, shop(keys=False))


@pytest.mark.parametrize("question", [
    "Total amount of orders per customer country",  # many side named first
    "Per customer country, the total amount of orders",
    "Total amount per country",  # no table named: the words pick the pair
])
def test_with_the_key_the_same_question_joins(question):
    plan = planner.plan(question, shop(keys=True))
    assert plan.sql == (
        'SELECT "customers"."country", SUM("orders"."amount") AS "sum_amount" FROM "orders" '
        'JOIN "customers" ON "orders"."customer_id" = "customers"."id" '
        'GROUP BY "customers"."country" ORDER BY "customers"."country" ASC')


def teams_and_coaches(key_on: str) -> Catalog:
    teams = [Column("id", "INTEGER", primary_key=True), Column("league", "VARCHAR", samples=("East", "West"))]
    coaches = [Column("id", "INTEGER", primary_key=True), Column("salary", "DOUBLE")]
    team_fk = coach_fk = ()
    if key_on == "teams":
        teams.append(Column("coach_id", "INTEGER"))
        team_fk = (ForeignKey(("coach_id",), "coaches", ("id",)),)
    else:
        coaches.append(Column("team_id", "INTEGER"))
        coach_fk = (ForeignKey(("team_id",), "teams", ("id",)),)
    return Catalog("duckdb", "f", (Table("teams", tuple(teams), foreign_keys=team_fk),
                                   Table("coaches", tuple(coaches), foreign_keys=coach_fk)))


def test_the_key_may_be_on_either_table_and_decides_what_may_be_added_up():
    """The table holding the key is the `many` side, whichever the question names first; its
    columns may be averaged, the other table's may not (a coach of two teams would count twice)."""
    plan = planner.plan("Average coach salary per team league", teams_and_coaches(key_on="coaches"))
    assert plan.sql == (
        'SELECT "teams"."league", AVG("coaches"."salary") AS "avg_salary" FROM "coaches" '
        'JOIN "teams" ON "coaches"."team_id" = "teams"."id" GROUP BY "teams"."league" ORDER BY "teams"."league" ASC')
    with pytest.raises(AgentFailure, match="weigh each row of coaches"):
        planner.plan("Average coach salary per team league", teams_and_coaches(key_on="teams"))
    plan = planner.plan("Maximum coach salary per team league", teams_and_coaches(key_on="teams"))
    assert 'MAX("coaches"."salary")' in plan.sql and 'FROM "teams" JOIN "coaches"' in plan.sql


def test_a_self_reference_is_no_join():
    catalog = Catalog("duckdb", "f", (
        Table("employees", (Column("id", "INTEGER", primary_key=True), Column("manager_id", "INTEGER"),
                            Column("salary", "DOUBLE")),
              foreign_keys=(ForeignKey(("manager_id",), "employees", ("id",)),)),
    ))
    assert planner.plan("Average salary per manager id", catalog).sql.count("JOIN") == 0


# --- the figures, as a script ----------------------------------------------------------------

def main(argv: list[str]) -> int:
    """Precision and coverage of the offline planner on the sales question set."""
    import tempfile

    verbose = "--verbose" in argv
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("QUERYGPT_HOME", os.path.join(folder, "home"))
        world = open_world(write_duckdb(os.path.join(folder, "sales.duckdb"), SALES_SCHEMA, SALES_ROWS), folder)
        outcomes = evaluate(world, SALES_CASES, planner)
        precision, coverage = summary(outcomes)
        answered = sum(o.status != "refused" for o in outcomes)
        correct = sum(o.status == "correct" for o in outcomes)
        print(f"sales questions: {len(outcomes)}  answered: {answered}  correct: {correct}")
        print(f"precision: {precision:.1%}  (correct / answered)")
        print(f"coverage:  {coverage:.1%}  (answered / asked; {len(ANSWERED)} of {len(SALES_CASES)} are meant "
              f"to be answered, the rest need three tables or COUNT(DISTINCT))")
        for o in outcomes:
            if o.status != "correct" or verbose:
                print(f"  [{o.status}] {o.question}\n      {o.sql or o.detail}")
    return 0 if precision == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
