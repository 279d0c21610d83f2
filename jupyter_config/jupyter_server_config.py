# Loaded by `make lab`, `make demo`, the browser tests and the root start script through JUPYTER_CONFIG_PATH.
import importlib.util
import os

# Widget updates reach the browser without Nagle's ~40 ms delay (see explainer/paint/websocket.py).
from explainer.paint.websocket import enable_websocket_nodelay

enable_websocket_nodelay()

# Voila as a server extension (/voila/tree, /voila/render/... of JupyterLab or a JupyterHub user
# server) takes its template from voila.py, but renders with this server's config: the same lecture
# mode (check cells left out, not run) and course page as standalone Voila (see voila.py).
_spec = importlib.util.spec_from_file_location(
    "explainer_course_page", os.path.join(os.path.dirname(os.path.abspath(__file__)), "course_page.py"))
course_page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_page)

c.VoilaExporter.TagRemovePreprocessor.remove_cell_tags = {course_page.CHECK_TAG}


def _server_root_dir():
    from jupyter_server.serverapp import ServerApp

    return ServerApp.instance().root_dir if ServerApp.initialized() else os.getcwd()


# update(): merged with template variables a hub or user config sets, not replacing them.
c.ServerApp.jinja_template_vars.update({course_page.JINJA_NAME: course_page.CoursePage(_server_root_dir)})
