# Loaded by `make demo`, the browser tests and the root start script through JUPYTER_CONFIG_PATH: by standalone
# `voila`, and by Voila as a server extension of JupyterLab / JupyterHub (which applies only its
# VoilaConfiguration part here; jupyter_server_config.py sets the rest for that case).
import importlib.util
import os

# Widget updates reach the browser without Nagle's ~40 ms delay (see explainer/paint/websocket.py).
from explainer.paint.websocket import enable_websocket_nodelay

enable_websocket_nodelay()

_spec = importlib.util.spec_from_file_location(
    "explainer_course_page", os.path.join(os.path.dirname(os.path.abspath(__file__)), "course_page.py"))
course_page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_page)

# The project's template (nbconvert/templates/explainer next to this file, based on Voila's `lab`):
# its tree page presents the course (course_page.py). classic_tree: Voila >= 0.5 otherwise shows
# its JupyterLab-based file browser instead of the Jinja tree page.
course_page.add_template_root()
c.VoilaConfiguration.template = course_page.TEMPLATE
c.VoilaConfiguration.classic_tree = True

# Lecture mode leaves out the check cells (code cells tagged `check`): nbconvert's
# TagRemovePreprocessor, which Voila's exporter runs before it executes the notebook, removes them,
# so they are neither shown nor run. Scoped to VoilaExporter: other exports keep them.
c.VoilaExporter.TagRemovePreprocessor.remove_cell_tags = {course_page.CHECK_TAG}


def _voila_root_dir():
    from voila.app import Voila

    return Voila.instance().root_dir if Voila.initialized() else os.getcwd()


# update(): merged with tornado_settings set elsewhere, not replacing them.
c.Voila.tornado_settings.update({"jinja_template_vars": {course_page.JINJA_NAME: course_page.CoursePage(_voila_root_dir)}})
