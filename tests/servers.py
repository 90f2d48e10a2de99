"""Real PostgreSQL and MariaDB servers for the tests, started by `scripts/services`.

The URLs come from the environment (`eval "$(bash scripts/services --env)"`, which scripts/test
runs); under a plain `pytest` the fixtures run scripts/services themselves. A server that cannot be
started or does not answer FAILS the test, never skips it: a green run must have talked to both.

Each server gets, once per data directory (a version marker in a schema the product's role cannot
see), the demo tables and a small sales schema with primary and foreign keys and comments:
customers, products, orders, order_items, and on PostgreSQL a `reporting` schema with a view.
Loading runs as the admin under a lock, so two test runs on one machine do not collide.

Import the fixtures into a test module: `from servers import pg, pg_server  # noqa: F401`.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

FIXTURE_VERSION = "3"  # bump when the data below changes: the next run reloads it
SALES_TABLES = ("customers", "products", "orders", "order_items")

CUSTOMERS = [
    (1, "Ada Lovelace", "GB", "ada@example.org", dt.date(2023, 1, 5)),
    (2, "Grace Hopper", "US", "grace@example.org", dt.date(2023, 2, 11)),
    (3, "Linus Torvalds", "FI", "linus@example.org", dt.date(2023, 3, 2)),
    (4, "Margaret Hamilton", "US", "margaret@example.org", dt.date(2023, 6, 20)),
    (5, "Alan Turing", "GB", None, dt.date(2024, 1, 15)),
]
PRODUCTS = [
    (1, "Keyboard", "hardware", Decimal("49.90")),
    (2, "Mouse", "hardware", Decimal("19.50")),
    (3, "Monitor 27\"", "hardware", Decimal("289.00")),
    (4, "50% Off Voucher", "voucher", Decimal("0.00")),
    (5, "Support plan, yearly", "service", Decimal("120.00")),
    (6, "USB-C cable", "hardware", Decimal("9.99")),
]
ORDERS = [
    (1, 1, dt.date(2024, 1, 10), "shipped"),
    (2, 1, dt.date(2024, 2, 3), "shipped"),
    (3, 2, dt.date(2024, 2, 14), "shipped"),
    (4, 3, dt.date(2024, 3, 1), "returned"),
    (5, 4, dt.date(2024, 3, 9), "shipped"),
    (6, 2, dt.date(2024, 4, 22), "placed"),
    (7, 5, dt.date(2024, 5, 30), "shipped"),
    (8, 4, dt.date(2024, 6, 2), "placed"),
]
ORDER_ITEMS = [
    (1, 1, 1, 1, Decimal("49.90")), (1, 2, 2, 1, Decimal("19.50")),
    (2, 1, 3, 2, Decimal("279.00")),
    (3, 1, 5, 1, Decimal("120.00")), (3, 2, 4, 1, Decimal("0.00")),
    (4, 1, 2, 3, Decimal("19.50")),
    (5, 1, 1, 2, Decimal("45.00")), (5, 2, 6, 4, Decimal("9.99")),
    (6, 1, 3, 1, Decimal("289.00")),
    (7, 1, 6, 10, Decimal("8.50")), (7, 2, 2, 2, Decimal("19.50")),
    (8, 1, 5, 1, Decimal("120.00")),
]
ROWS = {"customers": CUSTOMERS, "products": PRODUCTS, "orders": ORDERS, "order_items": ORDER_ITEMS}

COMMENTS = {
    ("customers", None): "People and companies who ordered at least once",
    ("customers", "country"): "ISO 3166-1 alpha-2 country code",
    ("products", "price"): "List price in EUR",
    ("orders", None): "One row per order",
    ("orders", "status"): "placed, shipped or returned",
    ("order_items", "unit_price"): "Price actually charged per unit, in EUR",
}

POSTGRES_DDL = [
    "CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, country char(2), email text, created_at date)",
    "CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, category text, price numeric(10,2))",
    "CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), "
    "order_date date NOT NULL, status text)",
    "CREATE TABLE order_items (order_id integer NOT NULL REFERENCES orders(id), line_no integer NOT NULL, "
    "product_id integer NOT NULL REFERENCES products(id), quantity integer NOT NULL, unit_price numeric(10,2), "
    "PRIMARY KEY (order_id, line_no))",
]
MYSQL_DDL = [
    "CREATE TABLE customers (id int PRIMARY KEY, name varchar(80) NOT NULL, "
    f"country char(2) COMMENT '{COMMENTS['customers', 'country']}', email varchar(120), created_at date) "
    f"ENGINE=InnoDB COMMENT='{COMMENTS['customers', None]}'",
    "CREATE TABLE products (id int PRIMARY KEY, name varchar(80) NOT NULL, category varchar(40), "
    f"price decimal(10,2) COMMENT '{COMMENTS['products', 'price']}') ENGINE=InnoDB",
    "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, customer_id int NOT NULL, order_date date NOT NULL, "
    f"status varchar(20) COMMENT '{COMMENTS['orders', 'status']}', FOREIGN KEY (customer_id) REFERENCES customers(id)) "
    f"ENGINE=InnoDB COMMENT='{COMMENTS['orders', None]}'",
    "CREATE TABLE order_items (order_id int NOT NULL, line_no int NOT NULL, product_id int NOT NULL, "
    f"quantity int NOT NULL, unit_price decimal(10,2) COMMENT '{COMMENTS['order_items', 'unit_price']}', "
    "PRIMARY KEY (order_id, line_no), FOREIGN KEY (order_id) REFERENCES orders(id), "
    "FOREIGN KEY (product_id) REFERENCES products(id)) ENGINE=InnoDB",
]


@dataclass
class Server:
    """One running server: the product's URL (role `querygpt`) and an admin engine."""

    name: str            # "postgresql" or "mariadb"
    url: str = field(repr=False)   # what the product connects with (holds a password: not in reprs)
    admin: Any = None              # SQLAlchemy engine as the admin (loads data, checks nothing changed)

    @property
    def password(self) -> str:
        import sqlalchemy

        return sqlalchemy.engine.make_url(self.url).password

    def scalar(self, sql: str) -> Any:
        with self.admin.connect() as connection:
            return connection.exec_driver_sql(sql).scalar()

    def snapshot(self) -> dict:
        """What must not change when an attack is refused: every table's name and the sales
        rows; on PostgreSQL also the orders sequence."""
        with self.admin.connect() as connection:
            if self.name == "postgresql":
                tables = connection.exec_driver_sql(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()
                sequence = connection.exec_driver_sql("SELECT last_value, is_called FROM orders_id_seq").fetchall()
            else:
                tables = connection.exec_driver_sql(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
                    "ORDER BY 1, 2").fetchall()
                sequence = connection.exec_driver_sql(
                    "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders'").fetchall()
            rows = {t: connection.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in SALES_TABLES}
            cars = connection.exec_driver_sql("SELECT COUNT(*) FROM cars").scalar()
        return {"tables": tables, "rows": rows, "sequence": sequence, "cars": cars}


def _url(variable: str) -> str:
    if not os.environ.get(variable):
        _start_services()
    url = os.environ.get(variable)
    if not url:
        pytest.fail(f"{variable} is not set, and scripts/services did not set it.", pytrace=False)
    return url


def _start_services() -> None:
    """Without the URLs in the environment (plain `pytest`), start the servers the way scripts/test
    does and read their URLs; failing that, fail with what went wrong."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(["bash", os.path.join(root, "scripts", "services"), "--env"],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(
            "The test servers could not be started (bash scripts/services exited "
            f"{done.returncode}):\n{done.stderr[-2000:]}\nRun bash scripts/services to see why.", pytrace=False)
    for line in done.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name.startswith("QUERYGPT_TEST_") and value:
            os.environ[name] = value


def _admin_engine(variable: str, what: str):
    import sqlalchemy

    engine = sqlalchemy.create_engine(_url(variable), pool_pre_ping=True)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # a server that is down: fail with how to start it
        pytest.fail(
            f"Could not reach the {what} test server ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "Start it with: bash scripts/services", pytrace=False,
        )
    return engine


@pytest.fixture(scope="session")
def pg_server() -> Server:
    admin = _admin_engine("QUERYGPT_TEST_PG_ADMIN_URL", "PostgreSQL")
    server = Server("postgresql", _url("QUERYGPT_TEST_PG_URL"), admin)
    _load_once(server)
    yield server
    admin.dispose()


@pytest.fixture(scope="session")
def mysql_server() -> Server:
    admin = _admin_engine("QUERYGPT_TEST_MYSQL_ADMIN_URL", "MariaDB")
    server = Server("mariadb", _url("QUERYGPT_TEST_MYSQL_URL"), admin)
    _load_once(server)
    yield server
    admin.dispose()


@pytest.fixture(scope="session")
def pg(pg_server):
    """The product's adapter for the PostgreSQL test database (role `querygpt`)."""
    from querygpt_jupyter.connections.resolve import open_connection

    return open_connection(pg_server.url, ())


@pytest.fixture(scope="session")
def mysql(mysql_server):
    from querygpt_jupyter.connections.resolve import open_connection

    return open_connection(mysql_server.url, ())


# -- loading ---------------------------------------------------------------------------------------

def _load_once(server: Server) -> None:
    postgres = server.name == "postgresql"
    with server.admin.connect() as connection:
        lock = "SELECT pg_advisory_lock(4242)" if postgres else "SELECT GET_LOCK('querygpt_fixture', 300)"
        unlock = "SELECT pg_advisory_unlock(4242)" if postgres else "SELECT RELEASE_LOCK('querygpt_fixture')"
        connection.exec_driver_sql(lock)
        connection.commit()
        try:
            meta = "querygpt_meta.fixture"
            connection.exec_driver_sql(
                "CREATE SCHEMA IF NOT EXISTS querygpt_meta" if postgres else "CREATE DATABASE IF NOT EXISTS querygpt_meta")
            connection.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {meta} (version varchar(20))")
            connection.commit()
            if connection.exec_driver_sql(f"SELECT version FROM {meta}").scalar() != FIXTURE_VERSION:
                (_load_postgres if postgres else _load_mysql)(connection)
                connection.exec_driver_sql(f"DELETE FROM {meta}")
                connection.exec_driver_sql(f"INSERT INTO {meta} VALUES ('{FIXTURE_VERSION}')")
                connection.commit()
        finally:
            connection.exec_driver_sql(unlock)
            connection.commit()


def _insert_sales(connection) -> None:
    for table, rows in ROWS.items():
        marks = ", ".join(["%s"] * len(rows[0]))
        connection.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks})", rows)


def _demo_frames():
    from vega_datasets import local_data

    from querygpt_jupyter.connections.demo import _plain_text, table_name

    for dataset in local_data.list_datasets():
        loader = getattr(local_data, table_name(dataset))
        description = _plain_text(loader.description or "").split(". ")[0].rstrip(".")[:300]
        yield table_name(dataset), loader(), description


def _load_postgres(connection) -> None:
    connection.exec_driver_sql("DROP SCHEMA IF EXISTS reporting CASCADE")
    for table in reversed(SALES_TABLES):
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
    for statement in POSTGRES_DDL:
        connection.exec_driver_sql(statement)
    _insert_sales(connection)
    connection.exec_driver_sql("SELECT setval('orders_id_seq', 8)")
    for (table, column), comment in COMMENTS.items():
        target = f"TABLE {table}" if column is None else f"COLUMN {table}.{column}"
        connection.exec_driver_sql(f"COMMENT ON {target} IS '{comment}'")
    for name, frame, description in _demo_frames():
        frame.to_sql(name, connection, if_exists="replace", index=False, method="multi", chunksize=2000)
        if description:
            connection.exec_driver_sql(f"COMMENT ON TABLE {name} IS '{description.replace(chr(39), chr(39) * 2)}'")
    connection.exec_driver_sql("CREATE SCHEMA reporting")
    connection.exec_driver_sql(
        "CREATE VIEW reporting.revenue_by_country AS SELECT c.country, SUM(i.quantity * i.unit_price) AS revenue "
        "FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id "
        "GROUP BY c.country")
    connection.exec_driver_sql("COMMENT ON VIEW reporting.revenue_by_country IS 'Revenue per customer country'")
    # An ordinary application role: it may write (the read-only walls must stop it), but it is no superuser.
    connection.exec_driver_sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO querygpt")
    connection.exec_driver_sql("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO querygpt")
    connection.exec_driver_sql("GRANT USAGE ON SCHEMA reporting TO querygpt")
    connection.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO querygpt")
    connection.exec_driver_sql("ANALYZE")


def _load_mysql(connection) -> None:
    connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    for table in SALES_TABLES:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
    for statement in MYSQL_DDL:
        connection.exec_driver_sql(statement)
    _insert_sales(connection)
    for name, frame, description in _demo_frames():
        frame.to_sql(name, connection, if_exists="replace", index=False, method="multi", chunksize=2000)
        if description:
            connection.exec_driver_sql(f"ALTER TABLE {name} COMMENT = '{description.replace(chr(39), chr(39) * 2)}'")
