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


# Lecture mode (`make demo`) preheats a kernel per lesson (--preheat_kernel=True, Voila's pool): the
# lesson has already run when it is clicked. A preheated kernel is started by the server with the
# server's environment, so EXPLAINER_PRESENTATION reaches it, and is rendered with this config (check
# cells removed). When a pooled kernel is taken, Voila starts its replacement (after fill_delay): that
# refill imports torch and runs the whole lesson again, on the same cores as the lesson on screen, so
# it runs at the lowest CPU priority. The kernels of the first fill, before the lecture, keep theirs;
# that fill runs the lessons in order, two at a time, and the log says when each lesson, and then all,
# have run.
def _lecture_kernel_manager():
    import asyncio
    import time

    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from traitlets import Int

    class LectureKernelManager(AsyncMappingKernelManager):
        refill_niceness = Int(19, config=True, help="niceness of the pool's refill kernels (0: as Voila starts them)")
        first_fill_parallel = Int(2, config=True, help="lessons run at once by the first fill, in lesson order "
                                                       "(0: all at once, as Voila does)")

        async def start_kernel(self, *args, **kwargs):
            env = kwargs.get("env") or {}
            # Voila marks pool kernels VOILA_PREHEAT=True; only a refill (asked for by a request) carries
            # the request's URL. Kernels started for a request outside the pool are VOILA_PREHEAT=False.
            pooled, refill = env.get("VOILA_PREHEAT") == "True", bool(env.get("VOILA_REQUEST_URL"))
            if pooled and not refill:
                if not getattr(self, "_ready_watch", None):
                    self._ready_watch = asyncio.get_event_loop().create_task(self._say_when_ready(time.monotonic()))
                await self._wait_for_turn()
            kernel_id = await super().start_kernel(*args, **kwargs)
            if pooled and refill and self.refill_niceness:
                _renice(self.get_kernel(kernel_id), self.refill_niceness, self.log)
            return kernel_id

        def _has_run(self, pool) -> bool:
            """Whether every kernel of a pool has run its lesson (or failed to start)."""
            for task in pool:
                if not task.done():
                    return False
                if not task.cancelled() and task.exception() is None and not task.result()["task"].done():
                    return False
            return True

        async def _wait_for_turn(self) -> None:
            """The first fill runs the lessons in order, first_fill_parallel at a time, so that the first
            lessons are ready first (all at once, each would be ready only when all are). A lesson clicked
            before its turn (its pool task taken by the request) starts at once."""
            if self.first_fill_parallel <= 0:
                return
            me = asyncio.current_task()  # the pool's task: Voila's _initialize calls start_kernel in it
            while True:
                pools = getattr(self, "_pools", None) or {}
                mine = next((name for name, pool in pools.items() if me in pool), None)
                if mine is None:
                    return
                try:
                    waiting = [name for name in pools if name < mine and not self._has_run(pools[name])]
                except (KeyError, TypeError, AttributeError):  # another Voila's internals: no order
                    return
                if len(waiting) < self.first_fill_parallel:
                    return
                await asyncio.sleep(0.25)

        async def _say_when_ready(self, started: float) -> None:
            """Log once when every lesson of the first fill has run in its pool kernel: the lecture can
            begin (a click before then waits for its lesson to finish running)."""
            said = set()
            while True:
                await asyncio.sleep(0.5)
                pools = getattr(self, "_pools", None)  # VoilaKernelManager's: notebook -> [task of its kernel]
                if not pools:
                    continue
                items = [task for pool in pools.values() for task in pool]
                try:  # a kernel that failed to start counts as done, and is named below
                    done = {name for name, pool in pools.items() if self._has_run(pool)}
                    for name in sorted(done - said):
                        self.log.info("%s has run in its preheated kernel, %.0f s after the first was started",
                                      name, time.monotonic() - started)
                    said |= done
                    if len(done) < len(pools):
                        continue
                    failed = [t for t in items if t.cancelled() or t.exception() is not None]
                except (KeyError, TypeError, AttributeError):  # another Voila's internals: say nothing
                    return
                self.log.info("Lecture mode is ready: all %d lessons have run in their preheated kernels, "
                              "%.0f s after the first was started", len(items), time.monotonic() - started)
                if failed:
                    self.log.warning("%d of them could not start a kernel: they start one when clicked", len(failed))
                return

    return LectureKernelManager


def _renice(kernel, niceness, log):
    """Lower the priority of a kernel's process and of the threads it already has (Linux sets the
    niceness per thread; threads it starts later inherit it)."""
    process = getattr(getattr(kernel, "provisioner", None), "process", None)
    pid = getattr(process, "pid", None)
    if pid is None or not hasattr(os, "setpriority"):
        return
    tasks = [pid]
    if os.path.isdir(f"/proc/{pid}/task"):
        tasks = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    for task in tasks:
        try:
            os.setpriority(os.PRIO_PROCESS, task, niceness)
        except OSError as error:  # the kernel exited meanwhile, or a platform without per-thread priorities
            log.debug("could not renice kernel task %s: %s", task, error)
    log.info("refill kernel (pid %s) runs at niceness %s", pid, niceness)


c.VoilaConfiguration.multi_kernel_manager_class = _lecture_kernel_manager()
