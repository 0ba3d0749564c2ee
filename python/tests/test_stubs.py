"""The type stubs (newsclass/__init__.pyi) name what the module has, and py.typed ships."""

import ast
import inspect
from pathlib import Path

import newsclass
import newsclass._newsclass as ext

PACKAGE = Path(newsclass.__file__).parent


def stub():
    return ast.parse((PACKAGE / "__init__.pyi").read_text(encoding="utf-8"))


def public(names):
    return {n for n in names if not n.startswith("_")}


def test_stub_files_ship():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "__init__.pyi").is_file()


def test_stub_top_level_names_match_the_module():
    names = set()
    for node in stub().body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    assert public(names) == set(newsclass.__all__) - {"__version__"}
    assert "__version__" in names
    assert public(names) == public(dir(ext)) - {"__version__"}


def test_stub_model_members_match_the_class():
    [cls] = [n for n in stub().body if isinstance(n, ast.ClassDef) and n.name == "Model"]
    members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    assert public(members) == public(dir(newsclass.Model))


def stub_params(fn):
    args = fn.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg != "self"]


def test_stub_signatures_match_the_real_ones():
    tree = stub()
    [train] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "train"]
    assert stub_params(train) == list(inspect.signature(newsclass.train).parameters)
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model"]
    checked = 0
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
            continue
        if any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list):
            continue
        real = inspect.signature(getattr(newsclass.Model, fn.name))
        assert stub_params(fn) == [p for p in real.parameters if p != "self"], fn.name
        checked += 1
    assert checked >= 10
