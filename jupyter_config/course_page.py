"""The lecture landing page and lecture mode, shared by voila.py and jupyter_server_config.py.

Voila's tree page (``voila/tree``, also ``/`` under ``make demo``) is rendered by the project's Voila
template ``explainer`` (``nbconvert/templates/explainer/tree.html`` next to this file, which extends
Voila's ``lab`` template). That template calls :data:`JINJA_NAME` (``explainer_course``), a
:class:`CoursePage`, with the directory model Voila lists, and gets back the course: its title
(README.md's first heading), and per lesson notebook, in file-name order, the title (the first
heading of the notebook's first markdown cell), one line (``metadata.explainer.summary`` if the
notebook sets it, else the first sentence or bullet of that cell), the app's link and a thumbnail (the
README picture, ``docs/images/<name>.png``, of the first explorer the lesson builds, matched through
``scripts/make_pictures.py``'s ``Picture(name, factory, ...)`` list; shrunk with Pillow and embedded as
a data URI, so no file route is needed; absent when the picture is missing). Everything is read from
disk at serve time, so edited lessons show their new titles on the next page load.

Voila 0.5.4 has no page-config hook, so the course reaches the template as a Jinja variable:
``Voila.tornado_settings['jinja_template_vars']`` (standalone ``voila``) and
``ServerApp.jinja_template_vars`` (Voila as a JupyterLab / JupyterHub server extension); both feed
jupyter_server's ``JupyterHandler.template_namespace``.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# The project's Voila template lives in <CONFIG>/nbconvert/templates/explainer: Voila looks for
# templates in <jupyter data path>/{voila,nbconvert}/templates. Not under voila/: Voila takes the first
# <data path>/voila directory that exists as its data directory (themes, lab extensions).
TEMPLATE_ROOT = Path(__file__).resolve().parent
TEMPLATE = "explainer"
JINJA_NAME = "explainer_course"
# Code cells with this tag are checks (asserts); lecture mode leaves them out. nbconvert's
# TagRemovePreprocessor drops them from the notebook Voila executes, so they are not even run.
CHECK_TAG = "check"
THUMBNAIL_WIDTH = 360

__all__ = ["CoursePage", "read_lesson", "pictures_by_factory", "thumbnail", "add_template_root",
           "CHECK_TAG", "TEMPLATE", "JINJA_NAME"]


def add_template_root(environ=os.environ) -> None:
    """Put this folder on JUPYTER_PATH (last, after the user's own entries) so that Voila finds the
    ``explainer`` template; JUPYTER_PATH is read on every lookup, so setting it from a config file works."""
    entries = [p for p in environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(TEMPLATE_ROOT) not in entries:
        environ["JUPYTER_PATH"] = os.pathsep.join([*entries, str(TEMPLATE_ROOT)])


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BOLD_ONLY = re.compile(r"^\s*\*\*[^*]+\*\*\s*:?\s*$")


def _plain(text: str) -> str:
    """Markdown inline markup to plain text (the page shows no math rendering)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links -> their text
    text = re.sub(r"\$([^$]*)\$", r"\1", text)  # $math$ -> math
    text = re.sub(r"\\(sqrt|top|times|cdot|alpha|ldots|dots)\b", lambda m: {
        "sqrt": "√", "top": "ᵀ", "times": "×", "cdot": "·", "alpha": "α", "ldots": "…", "dots": "…"}[m.group(1)], text)
    text = text.replace("**", "").replace("`", "").replace("{", "").replace("}", "")
    text = re.sub(r"(?<!\w)[*_]([^*_]+)[*_](?!\w)", r"\1", text)
    text = re.sub(r"\s*×\s*", "×", text.replace("^ᵀ", "ᵀ"))
    return re.sub(r"\s+", " ", text).strip()


def _summary(markdown: str, limit: int = 150) -> str:
    """The first sentence or bullet after the heading of a lesson's first markdown cell."""
    lines = markdown.splitlines()
    while lines and not _HEADING.match(lines[0]):
        lines.pop(0)
    paragraphs, current = [], []
    for line in lines[1:]:
        bullet = re.match(r"^\s*[-*+]\s+(.*)$", line)
        if not line.strip() or bullet or _BOLD_ONLY.match(line):
            if current:
                paragraphs.append(" ".join(current))
            current = [bullet.group(1)] if bullet else []
        else:
            current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    for paragraph in paragraphs:
        # A paragraph opening with a bold lead-in ("**What you will see.** A stack ...") keeps the rest.
        paragraph = re.sub(r"^\*\*[^*]+\*\*\s*", "", paragraph).strip()
        text = _plain(paragraph)
        if not text:
            continue
        sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)[0].rstrip(".;:, ")
        if len(sentence) > limit:
            sentence = sentence[:limit].rsplit(" ", 1)[0].rstrip(",;: ") + " …"
        return sentence[0].upper() + sentence[1:]
    return ""


def read_lesson(path: Path) -> dict:
    """Title, one line and the explorer factories a lesson notebook calls, in the order it calls them."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = nb.get("cells", [])
    first = next((_source(c) for c in cells if c.get("cell_type") == "markdown"), "")
    heading = next((m.group(1) for line in first.splitlines() if (m := _HEADING.match(line))), None)
    meta = nb.get("metadata", {}).get("explainer", {})
    code = "\n".join(_source(c) for c in cells if c.get("cell_type") == "code")
    factories = list(dict.fromkeys(re.findall(r"\b(\w+_explorer)\s*\(", code)))
    return {
        "title": _plain(heading) if heading else Path(path).stem.replace("_", " "),
        "summary": meta.get("summary") or _summary(first),
        "factories": factories,
        "thumbnail_name": meta.get("thumbnail"),
    }


def pictures_by_factory(script: Path = PROJECT / "scripts" / "make_pictures.py") -> dict[str, str]:
    """{explorer factory: README picture name} from the ``Picture("name", "factory", ...)`` calls of
    scripts/make_pictures.py (read as text, not imported: it imports torch)."""
    try:
        tree = ast.parse(Path(script).read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return {}
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Picture" and len(node.args) >= 2
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2])):
            found.setdefault(node.args[1].value, node.args[0].value)
    return found


_THUMBNAILS: dict[tuple[str, int], str] = {}


def thumbnail(path: Path, width: int = THUMBNAIL_WIDTH) -> str | None:
    """A PNG as a data URI, shrunk to ``width`` pixels wide; None if it is missing or unreadable."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns)
    if key not in _THUMBNAILS:
        try:
            from PIL import Image

            with Image.open(path) as image:
                image.load()
                if image.width > width:
                    image = image.resize((width, max(1, round(image.height * width / image.width))), Image.LANCZOS)
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
            data = out.getvalue()
        except Exception:  # a damaged or non-PNG file: no thumbnail rather than no page
            return None
        _THUMBNAILS[key] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return _THUMBNAILS[key]


def _readme_title(readme: Path) -> tuple[str, str]:
    try:
        lines = readme.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "Lessons", ""
    title = next((m.group(1) for line in lines if (m := re.match(r"^#\s+(.+)$", line))), "Lessons")
    start = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1) + 1
    paragraph = []
    for line in lines[start:]:
        if line.strip():
            if line.startswith("#"):
                break
            paragraph.append(line.strip())
        elif paragraph:
            break
    return title, _plain(" ".join(paragraph))


class CoursePage:
    """Called by the template as ``explainer_course(contents)``; ``root_dir`` gives the directory
    the server serves (its contents model holds paths relative to it)."""

    def __init__(self, root_dir: Callable[[], str], project: Path = PROJECT):
        self.root_dir = root_dir
        self.project = Path(project)

    def __call__(self, contents) -> dict:
        entries = list(contents.get("content") or [])  # Voila hands over a one-pass filter
        try:
            return self._course(entries)
        except Exception:  # never a broken landing page: the plain list, in order
            logging.getLogger(__name__).exception("course page: falling back to the plain list")
            lessons = [{"path": e["path"], "name": e["name"], "title": e["name"], "summary": "", "thumbnail": None,
                        "picture": ""} for e in sorted(entries, key=lambda e: e["name"]) if e.get("type") == "notebook"]
            return {"title": "Lessons", "tagline": "", "lessons": lessons,
                    "others": [e for e in entries if e.get("type") != "notebook"]}

    def _course(self, entries: Iterable[dict]) -> dict:
        root = Path(os.path.expanduser(self.root_dir()))
        pictures = pictures_by_factory(self.project / "scripts" / "make_pictures.py")
        images = self.project / "docs" / "images"
        title, tagline = _readme_title(self.project / "README.md")
        lessons, others = [], []
        for entry in sorted(entries, key=lambda e: e["name"]):
            if entry.get("type") != "notebook":
                others.append(entry)
                continue
            try:
                lesson = read_lesson(root / entry["path"])
            except (OSError, ValueError):
                lesson = {"title": entry["name"], "summary": "", "factories": [], "thumbnail_name": None}
            name = lesson["thumbnail_name"] or next((pictures[f] for f in lesson["factories"] if f in pictures), None)
            lessons.append({
                "path": entry["path"],
                "name": entry["name"],
                "title": lesson["title"],
                "summary": lesson["summary"],
                "thumbnail": thumbnail(images / f"{name}.png") if name else None,
                "picture": name or "",
            })
        return {"title": title, "tagline": tagline, "lessons": lessons, "others": others}
