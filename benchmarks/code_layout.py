"""Figures of the package's layout (issue 14): files, internal imports, the largest module, and
how far `db` and `max_rows` travel. Run before and after a restructuring to compare them.

    python benchmarks/code_layout.py [--json]

- internal imports: `from .x import …` / `from ..x import …` statements (relative imports) in
  querygpt_jupyter, and the distinct module → module edges they make;
- a name's walk: the files whose code names it (a parameter, a keyword argument, an attribute or
  a variable), and the functions that take it as a parameter (each a step of the walk);
- option defaults: places outside config.py that write a literal default for an `Ask` option
  (a dataclass field or a parameter named like the option, e.g. `max_rows: int = 10_000`).
"""
from __future__ import annotations

import ast
import json
import pathlib
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "querygpt_jupyter"
TRACED = ("db", "max_rows")


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(path: pathlib.Path, node: ast.ImportFrom) -> str:
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def _names(tree: ast.AST, name: str) -> tuple[bool, list[str]]:
    """(whether the code names `name`, the functions taking it as a parameter)."""
    seen, takers = False, []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
            if name in params:
                seen = True
                takers.append(node.name)
        elif isinstance(node, ast.Name) and node.id == name:
            seen = True
        elif isinstance(node, ast.Attribute) and node.attr == name:
            seen = True
        elif isinstance(node, ast.keyword) and node.arg == name:
            seen = True
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            seen = True
    return seen, takers


def _options() -> set[str]:
    tree = ast.parse((PACKAGE / "config.py").read_text(encoding="utf-8"))
    ask = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Ask")
    return {t.id for n in ask.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}


def _literal_defaults(tree: ast.AST, options: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.target.id in options
                        and isinstance(item.value, ast.Constant) and item.value.value is not None):
                    found.append(f"{node.name}.{item.target.id}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg in options and isinstance(default, ast.Constant) and default.value is not None:
                    found.append(f"{node.name}({arg.arg}=)")
    return found


def measure() -> dict:
    files = sorted(p for p in PACKAGE.rglob("*.py"))
    statements, edges, sizes = 0, set(), {}
    walks = {name: {"files": [], "functions": 0} for name in TRACED}
    options, defaults = _options(), []
    for path in files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        rel = str(path.relative_to(PACKAGE.parent))
        sizes[rel] = len(text.splitlines())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                statements += 1
                edges.add((_module_name(path), _target(path, node)))
        if path.name != "config.py" or path.parent != PACKAGE:
            defaults += [f"{rel}: {d}" for d in _literal_defaults(tree, options)]
        for name in TRACED:
            seen, takers = _names(tree, name)
            if seen:
                walks[name]["files"].append(rel)
                walks[name]["functions"] += len(takers)
    largest = max(sizes, key=sizes.get)
    return {
        "files": len(files),
        "lines": sum(sizes.values()),
        "internal_import_statements": statements,
        "internal_import_edges": len(edges),
        "largest_module": {"path": largest, "lines": sizes[largest]},
        "option_defaults_outside_config": defaults,
        "walks": {name: {"files_crossed": len(w["files"]), "functions_taking_it": w["functions"], "files": w["files"]}
                  for name, w in walks.items()},
    }


def main() -> None:
    figures = measure()
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=1))
        return
    print(f"files: {figures['files']} ({figures['lines']:,} lines)")
    print(f"internal imports: {figures['internal_import_statements']} statements, "
          f"{figures['internal_import_edges']} module→module edges")
    print(f"largest module: {figures['largest_module']['path']} ({figures['largest_module']['lines']:,} lines)")
    print(f"option defaults written outside config.py: {len(figures['option_defaults_outside_config'])}")
    for d in figures["option_defaults_outside_config"]:
        print(f"    {d}")
    for name, walk in figures["walks"].items():
        print(f"`{name}`: crosses {walk['files_crossed']} files, taken as a parameter by {walk['functions_taking_it']} functions")
        for f in walk["files"]:
            print(f"    {f}")


if __name__ == "__main__":
    main()
