"""Lecture mode without a browser: the project's server config makes Voila leave out the check cells
(neither shown nor run) and present the course on its tree page (jupyter_config/course_page.py).
The browser tests (tests/browser/test_notebooks_in_voila.py) check the same in a real Voila."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "jupyter_config"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _course_page():
    spec = importlib.util.spec_from_file_location("course_page_under_test", CONFIG / "course_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def course_page():
    return _course_page()


@pytest.fixture
def config(monkeypatch):
    """Each server config file as the servers load it (they set JUPYTER_PATH: restored afterwards)."""
    monkeypatch.setenv("JUPYTER_PATH", "")

    def load(name):
        return PyFileConfigLoader(name, path=str(CONFIG)).load_config()

    return load


def _notebook_with_checks():
    cells = [
        nbformat.v4.new_markdown_cell("# 99 · Probe\n\nA probe."),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("assert x == 1", metadata={"tags": ["check"]}),
        nbformat.v4.new_code_cell("x += 1", metadata={"tags": ["other"]}),
        nbformat.v4.new_code_cell("assert x == 2\nprint('checked')", metadata={"tags": ["check", "other"]}),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def _voila_preprocessed(config):
    """What Voila's exporter hands to its template, which both executes and shows these cells
    (VoilaExporter.generate_from_notebook_node runs Exporter.from_notebook_node first)."""
    from nbconvert.exporters.templateexporter import TemplateExporter
    from voila.exporter import VoilaExporter

    exporter = VoilaExporter(config=config)
    nb, _ = super(TemplateExporter, exporter).from_notebook_node(_notebook_with_checks(), {})
    return [c.source for c in nb.cells]


@pytest.mark.parametrize("config_file", ["voila.py", "jupyter_server_config.py"])
def test_voila_leaves_out_check_cells(config, config_file):
    """Standalone Voila reads voila.py; Voila as a JupyterLab / JupyterHub server extension renders
    with the server's config (jupyter_server_config.py). Removed before execution: not run either."""
    assert _voila_preprocessed(config(config_file)) == ["# 99 · Probe\n\nA probe.", "x = 1", "x += 1"]


def test_other_exports_keep_check_cells(config):
    """The tag removal is scoped to Voila's exporter: an HTML export from JupyterLab keeps the checks."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    nb, _ = super(TemplateExporter, HTMLExporter(config=config("jupyter_server_config.py"))).from_notebook_node(
        _notebook_with_checks(), {})
    assert sum("assert" in c.source for c in nb.cells) == 2


def test_voila_uses_the_project_template_and_the_jinja_tree_page(config, course_page):
    import os

    cfg = config("voila.py")
    assert cfg.VoilaConfiguration.template == course_page.TEMPLATE
    assert cfg.VoilaConfiguration.classic_tree is True  # Voila >= 0.5 would show its lab file browser
    assert str(CONFIG) in os.environ["JUPYTER_PATH"].split(os.pathsep)
    # Voila takes the first <data path>/voila directory as its data directory: the template must not add one.
    assert not (CONFIG / "voila").exists()
    assert (CONFIG / "nbconvert" / "templates" / course_page.TEMPLATE / "tree.html").is_file()
    from voila.paths import collect_template_paths

    paths = collect_template_paths(["voila", "nbconvert"], course_page.TEMPLATE, prune=True)
    assert Path(paths[0]) == CONFIG / "nbconvert" / "templates" / course_page.TEMPLATE
    assert any(Path(p).name == "lab" for p in paths)  # based on Voila's lab template
    for name in ("voila.py", "jupyter_server_config.py"):
        cfg = config(name)
        # Set with update() (merged with other config): a lazy value until an app applies it.
        found = (cfg.Voila.tornado_settings.get_value({})["jinja_template_vars"] if name == "voila.py"
                 else cfg.ServerApp.jinja_template_vars.get_value({}))
        assert type(found[course_page.JINJA_NAME]).__name__ == "CoursePage"


def _first_heading(path: Path) -> str:
    nb = json.loads(path.read_text())
    first = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return next(re.sub(r"^#+\s+", "", ln).strip() for ln in first.splitlines() if ln.startswith("#"))


def _listing(root: Path) -> dict:
    return {"content": [{"name": p.name, "path": p.name, "type": "notebook"} for p in sorted(root.glob("*.ipynb"))]
            + [{"name": "data", "path": "data", "type": "directory"}]}


def test_course_lists_every_lesson_in_order_with_its_title_line_and_thumbnail(course_page):
    course = course_page.CoursePage(lambda: str(ROOT / "notebooks"))(_listing(ROOT / "notebooks"))
    assert course["title"] == "explainer" and course["tagline"]
    assert [lesson["name"] for lesson in course["lessons"]] == [p.name for p in NOTEBOOKS]
    for lesson, path in zip(course["lessons"], NOTEBOOKS):
        assert lesson["title"].replace("*", "").replace("`", "") == _first_heading(path).replace("*", "").replace("`", "")
        assert 20 <= len(lesson["summary"]) <= 200 and "\n" not in lesson["summary"], lesson
        assert lesson["thumbnail"] and lesson["thumbnail"].startswith("data:image/png;base64,"), lesson["name"]
    assert [o["name"] for o in course["others"]] == ["data"]


def test_course_page_reads_titles_at_serve_time_and_survives_missing_pictures(course_page, tmp_path):
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    nb = _notebook_with_checks()
    nb.cells.append(nbformat.v4.new_code_cell("ex = conv_arithmetic_explorer()\nex"))
    nbformat.write(nb, project / "notebooks" / "01_probe.ipynb")
    nb.metadata["explainer"] = {"summary": "Set by the notebook."}
    nb.cells[0].source = "# 02 · Second"
    nbformat.write(nb, project / "notebooks" / "02_probe.ipynb")
    (project / "notebooks" / "03_broken.ipynb").write_text("{not json")
    page = course_page.CoursePage(lambda: str(project / "notebooks"), project=project)
    course = page(_listing(project / "notebooks"))  # no README, no scripts/, no docs/images
    assert course["title"] == "Lessons"
    assert [(le["title"], le["summary"], le["thumbnail"]) for le in course["lessons"]] == [
        ("99 · Probe", "A probe", None), ("02 · Second", "Set by the notebook.", None),
        ("03_broken.ipynb", "", None)]
    # A picture appears once scripts/make_pictures.py names it and docs/images holds it.
    (project / "scripts").mkdir()
    (project / "scripts" / "make_pictures.py").write_text('PICTURES = (Picture("conv", "conv_arithmetic_explorer", {}),)\n')
    (project / "docs" / "images").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (900, 300), "white").save(project / "docs" / "images" / "conv.png")
    course = page(_listing(project / "notebooks"))
    thumb = course["lessons"][0]["thumbnail"]
    assert thumb.startswith("data:image/png;base64,")
    import base64
    import io

    assert Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1]))).size == (course_page.THUMBNAIL_WIDTH, 120)


def test_course_page_falls_back_to_the_plain_list_on_any_error(course_page):
    def broken():
        raise RuntimeError("no root")

    course = course_page.CoursePage(broken)({"content": iter(_listing(ROOT / "notebooks")["content"])})
    assert [le["name"] for le in course["lessons"]] == [p.name for p in NOTEBOOKS]
    assert [o["name"] for o in course["others"]] == ["data"]


def test_summary_takes_the_first_sentence_or_bullet(course_page):
    assert course_page._summary("# T\n\n**What you will see**\n\n- why $QK^\\top$ is *scaled*;\n- more") == "Why QKᵀ is scaled"
    assert course_page._summary("# T\n\n**What you will see.** A stack of\nconvolutions. Then more.") == "A stack of convolutions"
    assert course_page._summary("# T") == ""


def test_tree_template_renders_the_course_and_falls_back_without_it(course_page, monkeypatch):
    """The tree page as Voila renders it (its Jinja environment over the template's search path)."""
    import jinja2
    from voila.paths import collect_template_paths

    monkeypatch.setenv("JUPYTER_PATH", "")
    course_page.add_template_root()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(collect_template_paths(
        ["voila", "nbconvert"], course_page.TEMPLATE, prune=True)), extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_null_translations()
    listing = _listing(ROOT / "notebooks")
    namespace = dict(base_url="/", query="token=t", breadcrumbs=[("/voila/tree", "")], page_config={}, theme="light",
                     include_css=lambda name: "", include_js=lambda name: "", include_lab_theme=lambda name: "")
    page = env.get_template("tree.html").render(
        contents=listing, explainer_course=course_page.CoursePage(lambda: str(ROOT / "notebooks")), **namespace)
    titles = re.findall(r'class="course-lesson-title">([^<]*)<', page)
    assert len(titles) == len(NOTEBOOKS)
    links = re.findall(r'<a href="([^"]*)">\s*<img class="course-thumbnail"', page)
    assert links == [f"/voila/render/{p.name}?token=t" for p in NOTEBOOKS]
    plain = env.get_template("tree.html").render(contents=dict(listing), **namespace)
    assert all(f"/voila/render/{p.name}?token=t" in plain for p in NOTEBOOKS)


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at module level, names it reads); IPython magics and shell lines are
    skipped. Names bound inside functions, lambdas and comprehensions are local to them."""
    import ast

    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    bound, read = set(), set()

    class Visitor(ast.NodeVisitor):
        def __init__(self):
            self.depth = 0
            self.local: list[set[str]] = []  # the names local to each enclosing function/comprehension

        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load):
                if not any(node.id in names for names in self.local):
                    read.add(node.id)
            elif self.depth == 0:
                bound.add(node.id)

        def visit_Import(self, node):
            if self.depth == 0:
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)

        visit_ImportFrom = visit_Import

        def _scope(self, node):
            if self.depth == 0 and hasattr(node, "name"):
                bound.add(node.name)
            inner = [n for n in ast.walk(node) if n is not node]
            self.local.append({n.id for n in inner if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
                              | {n.arg for n in inner if isinstance(n, ast.arg)})
            self.depth += 1
            self.generic_visit(node)
            self.depth -= 1
            self.local.pop()

        visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope
        visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _scope

    Visitor().visit(ast.parse(code))
    return bound, read


def _reads_of_check_names(nb: dict) -> list[str]:
    defined, problems = set(), []
    only_in_checks: set[str] = set()
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        bound, read = _names("".join(cell["source"]))
        if "check" in cell.get("metadata", {}).get("tags", []):
            only_in_checks |= bound - defined
            continue
        missing = sorted((read & only_in_checks) - defined - bound)
        if missing:
            problems.append(f"cell {i} reads {missing}, defined only in check cells")
        defined |= bound
        only_in_checks -= bound
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lecture_mode_needs_no_check_cell(path):
    """Voila leaves the check cells out and does not run them: no other cell may read a name that
    only a check cell defines (the lesson would stop at that cell in lecture mode)."""
    problems = _reads_of_check_names(json.loads(path.read_text()))
    assert problems == [], f"{path.name}: {problems}"


def test_lecture_mode_check_finds_a_name_only_a_check_cell_defines():
    nb = _notebook_with_checks()
    nb.cells[2].source = "y = 3\nassert x == 1"
    nb.cells.append(nbformat.v4.new_code_cell("[y for y in range(2)]"))  # a comprehension's own y
    nb.cells.append(nbformat.v4.new_code_cell("print(y)\nfor g in range(2):\n    print(g)"))
    nb.cells.append(nbformat.v4.new_code_cell("y = 4\nprint(y)"))
    assert _reads_of_check_names(json.loads(nbformat.writes(nb))) == ["cell 6 reads ['y'], defined only in check cells"]
