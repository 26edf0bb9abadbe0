"""A learner's server keeps the module page they opened last ready for its next open (issue 17: a
page ready within 3 s under the hub's load).

An open's time on the server is a kernel's start (Python, ipykernel, ipywidgets: about 0.6 s of CPU)
and Voilà running every cell and rendering the page (README *Hub under load*). A kernel started
ahead alone did not pay (tried and reverted, commit 7caf89a): the cells still ran at the open. So
the server's kernel manager, ``PreparedPageKernelManager``, prepares a whole page ahead: a few
seconds after a module page is opened (``PREPARE_DELAY``: that page's own run and the browser's
first requests go first), it starts one more kernel and has Voilà run the same notebook in it,
keeping the rendered page. The next open of that module (a reload, or coming back to it) is
served that page at once, and a new one is prepared after it.

The answers: the page was run before the open, so it shows answers.json as it was then. At the
open, before a byte is sent, the server runs ``curriculum.learner.reload_all()`` in the prepared
kernel: every widget is set from answers.json as it is now, saving nothing, and the browser then
asks the kernel for the widgets' state as for any page. If that cannot be done (the kernel died,
or does not answer within ``RELOAD_TIMEOUT``), the prepared kernel is shut down and the page is
run in a new kernel, as without preparing.

Voilà's server extension looks for its preheat methods (``notebook_data``, ``get_pool_size``,
``get_rendered_notebook``) on the server's kernel manager; this class provides them for the one
page it keeps. (Voilà's own preheat works only in its standalone app, and prepares every notebook
under the folder at start, with no reload of answers.) One prepared page per server at a time,
for the module opened last: one more kernel (about 40 MiB) per learner. A page prepared for a
notebook that has changed since (a new release fetched) is not used. JupyterLab's notebooks, for
a learner a trainer gave JupyterLab, start kernels as before and prepare nothing.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from urllib.parse import unquote

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import url_path_join
from traitlets import Bool, Float

PREPARE_DELAY = 5.0  # s after an open before the next page is prepared
START_DELAY = 1.0  # s after the server starts before the page worked on last is prepared
RELOAD_TIMEOUT = 10.0  # s for the prepared kernel to show the answers as they are now
VOILA_MARK = "VOILA_BASE_URL"  # in the environment of every kernel Voilà starts for a page
RELOAD_CODE = "import curriculum.learner as _hcwh_l\n_hcwh_l.reload_all()\ndel _hcwh_l"
PREPARED_MARK = "is prepared for its next open, kernel "  # in the log, before the kernel's id: "The page of X <mark><id>"


def last_worked_on(root: str) -> str | None:
    """The module notebook (path under ``root``) whose answers were saved last: ``<m>/<m>.ipynb`` beside
    the newest ``<m>/answers.json``; None when no module has answers yet (a first login)."""
    newest = None
    try:
        folders = list(os.scandir(root))
    except OSError:
        return None
    for folder in folders:
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            saved = os.stat(os.path.join(folder.path, "answers.json")).st_mtime_ns
        except OSError:
            continue
        if os.path.isfile(os.path.join(folder.path, f"{folder.name}.ipynb")) and (newest is None or saved > newest[0]):
            newest = (saved, f"{folder.name}/{folder.name}.ipynb")
    return newest[1] if newest else None


def notebook_of(script_name: str, base_url: str) -> str | None:
    """The notebook (its path under the server's root) a Voilà page request was for, from the
    request's path (``SCRIPT_NAME`` in the page's kernel environment); None for anything else."""
    prefix = url_path_join(base_url, "voila/render/")
    if not script_name.startswith(prefix) or not script_name.endswith(".ipynb"):
        return None
    notebook = unquote(script_name[len(prefix):])
    return notebook if notebook and ".." not in notebook.split("/") else None


@dataclass
class Prepared:
    """A page being prepared, or ready: ``task`` gives its renderer, render task and kernel id."""

    notebook: str
    stamp: tuple[int, int] | None  # the notebook file's (mtime_ns, size) when its preparation was asked for
    task: asyncio.Task

    def finished(self) -> bool:
        """Whether the page is ready (its preparation ended without an error)."""
        return self.task.done() and not self.task.cancelled() and self.task.exception() is None


class PreparedPageKernelManager(AsyncMappingKernelManager):
    """The learner server's kernel manager, with the module page opened last kept prepared."""

    prepare_pages = Bool(True, config=True, help="Keep the module page opened last prepared for its next open "
                                                 "(one more kernel per server); off: every open runs its page")
    prepare_delay = Float(PREPARE_DELAY, config=True, help="Seconds after an open before the next page is prepared")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._prepared: Prepared | None = None
        self._envs: dict[str, dict[str, str]] = {}  # each page's kernel environment, by notebook
        self._voila = None  # (VoilaConfiguration, template paths), made at the first preparation
        self._closing = False

    # -- what Voilà's page handler asks ------------------------------------------------------------
    @property
    def notebook_data(self) -> dict:
        ready = self._ready()
        if ready is None:
            return {}
        renderer = ready.task.result()["renderer"]
        return {ready.notebook: {"template": renderer.template_name, "theme": renderer.theme}}

    def get_pool_size(self, notebook_name: str) -> int:
        ready = self._ready()
        return 1 if ready is not None and ready.notebook == notebook_name else 0

    async def get_rendered_notebook(self, notebook_name: str, extra_kernel_env_variables: dict | None = None,
                                    **_kwargs):
        """The prepared page of ``notebook_name``, its widgets set from answers.json as they are now:
        (render task, rendered cells, kernel id), as Voilà's handler expects."""
        ready, self._prepared = self._prepared, None
        env = {**self._envs.get(notebook_name, {}), **(extra_kernel_env_variables or {})}
        if ready is None or ready.notebook != notebook_name or not ready.task.done():
            if ready is not None:
                self._discard(ready)
            return await self._render_now(notebook_name, env)  # another open took it meanwhile
        content = ready.task.result()
        kid = content["kernel_id"]
        try:
            await asyncio.wait_for(self._reload(kid), RELOAD_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure: the page is run afresh
            self.log.warning("The prepared page of %s could not be used (%s); running it afresh", notebook_name, exc)
            await self._quiet_shutdown(kid)
            return await self._render_now(notebook_name, env)
        self.get_kernel(kid).last_activity = utcnow()  # the page's, from now: not idle since prepared
        content["renderer"].stop_generator = True
        self.log.info("A module page (%s) was served prepared, kernel %s", notebook_name, kid)
        self._schedule(notebook_name)
        return content["task"], content["renderer"].rendered_cache, kid

    def prepare_at_start(self) -> None:
        """When the server starts (the learner's first page of the day), prepare the page of the module
        they saved answers in last: the one they most likely open first. Nothing, before any answer."""
        notebook = last_worked_on(self.root_dir)
        if notebook is None or not self.prepare_pages:
            return
        base_url = self._base_url()
        self._envs.setdefault(notebook, {  # as Voilà's page handler sets it for a page's kernel
            **os.environ, VOILA_MARK: base_url, "VOILA_SERVER_URL": base_url, "VOILA_PREHEAT": "False",
            "SCRIPT_NAME": url_path_join(base_url, "voila/render", notebook)})
        self.log.info("Preparing the page of %s, the module worked on last", notebook)
        self._schedule(notebook, delay=START_DELAY)

    # -- kernels -------------------------------------------------------------------------------------
    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        kid = await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        env = kwargs.get("env") or {}
        if kernel_id is None and VOILA_MARK in env:  # a module page run as it is opened
            notebook = notebook_of(env.get("SCRIPT_NAME", ""), self._base_url())
            if notebook is not None:
                self._envs[notebook] = dict(env)
                self._schedule(notebook)
        return kid

    async def cull_kernel_if_idle(self, kernel_id):
        if kernel_id == self._prepared_kernel():
            return None  # kept for the next open, not idle in the culler's sense
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        if kernel_id == self._prepared_kernel():
            self._prepared = None
        return await super().shutdown_kernel(kernel_id, now=now, restart=restart)

    async def shutdown_all(self, now=False):
        self._closing = True
        pending = self._prepared
        if pending is not None and not pending.task.done():
            await asyncio.wait([pending.task], timeout=30)  # its kernel, once started, is shut down below
        self._prepared = None
        await super().shutdown_all(now=now)

    # -- preparing -------------------------------------------------------------------------------------
    def _schedule(self, notebook: str, delay: float | None = None) -> None:
        """Prepare ``notebook``'s page next, in ``delay`` s (``prepare_delay`` unless given); the one
        prepared before, for another notebook, is let go."""
        current = self._prepared
        if self._closing or not self.prepare_pages or (current is not None and current.notebook == notebook):
            return
        if current is not None:
            self._discard(current)
        task = asyncio.ensure_future(self._prepare(notebook, self.prepare_delay if delay is None else delay))
        task.add_done_callback(self._prepared_or_failed)
        self._prepared = Prepared(notebook, self._stamp(notebook), task)

    def _prepared_or_failed(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.log.warning("No module page could be prepared: %s", task.exception())
            if self._prepared is not None and self._prepared.task is task:
                self._prepared = None

    async def _run_page(self, notebook: str, env: dict, streamed: bool):
        """Voilà's renderer running ``notebook`` in a new kernel: (renderer, its render task, kernel id).
        ``streamed``: each cell is handed on as it runs (a page opened now), else all are kept."""
        renderer = self._renderer(notebook)
        await renderer.initialize()
        kid = await super().start_kernel(kernel_name=renderer.notebook.metadata.kernelspec.name,
                                         path=os.path.dirname(notebook), env=env)
        renderer.stop_generator = streamed
        return renderer, asyncio.ensure_future(renderer.generate_content_hybrid(kid, self.get_kernel(kid))), kid

    async def _prepare(self, notebook: str, delay: float) -> dict:
        await asyncio.sleep(delay)
        if self._closing:
            raise RuntimeError("the server is stopping")
        renderer, render, kid = await self._run_page(notebook, self._envs.get(notebook, {}), streamed=False)
        await render
        self.log.info("The page of %s " + PREPARED_MARK + "%s", notebook, kid)
        return {"renderer": renderer, "task": render, "kernel_id": kid}

    async def _render_now(self, notebook: str, env: dict):
        """The page run in a new kernel as it is opened (streamed as Voilà's own handler does)."""
        renderer, task, kid = await self._run_page(notebook, env, streamed=True)
        self._schedule(notebook)
        return task, renderer.rendered_cache, kid

    def _ready(self) -> Prepared | None:
        """The prepared page, if it is ready and still of the notebook as it is now."""
        p = self._prepared
        if p is None or not p.finished():
            return None
        if p.task.result()["kernel_id"] not in self or self._stamp(p.notebook) != p.stamp:
            self._prepared = None  # its kernel is gone, or the notebook changed: prepare it again
            self._discard(p)
            self._schedule(p.notebook)
            return None
        return p

    def _prepared_kernel(self) -> str | None:
        p = self._prepared
        return p.task.result()["kernel_id"] if p is not None and p.finished() else None

    def _discard(self, p: Prepared) -> None:
        """Let ``p`` go: its kernel, once it has one, is shut down."""
        def done(task: asyncio.Task) -> None:
            if not task.cancelled() and task.exception() is None and task.result()["kernel_id"] in self:
                asyncio.ensure_future(self._quiet_shutdown(task.result()["kernel_id"]))

        p.task.add_done_callback(done)

    async def _quiet_shutdown(self, kid: str) -> None:
        try:
            await self.shutdown_kernel(kid, now=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    async def _reload(self, kid: str) -> None:
        """Run ``reload_all`` in kernel ``kid``; raises if it is dead or the code failed."""
        km = self.get_kernel(kid)
        if not await km.is_alive():
            raise RuntimeError("its kernel is not running")
        client = km.client()
        # the shell channel only: its reply says the code ran (jupyter_client's wait_for_ready would
        # also drain the IOPub channel, 0.2 s of waiting at every open)
        client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        try:
            msg_id = client.execute(RELOAD_CODE, silent=True, store_history=False)
            while True:
                reply = await client.get_shell_msg(timeout=RELOAD_TIMEOUT)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        finally:
            client.stop_channels()

    # -- Voilà's renderer, set up as its server extension sets up its page handler -----------------
    def _base_url(self) -> str:
        return self.parent.web_app.settings["base_url"]

    def _stamp(self, notebook: str) -> tuple[int, int] | None:
        try:
            st = os.stat(os.path.join(self.root_dir, notebook))
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _renderer(self, notebook: str):
        from voila.configuration import VoilaConfiguration
        from voila.notebook_renderer import NotebookRenderer
        from voila.paths import collect_template_paths
        from voila.server_extension import load_config_file
        from voila.utils import get_page_config

        if self._voila is None:
            conf = VoilaConfiguration(parent=self.parent)
            local = load_config_file()
            if local is not None:
                conf.update_config(local)
            self._voila = conf, collect_template_paths(["voila", "nbconvert"], conf.template)
        conf, template_paths = self._voila
        settings = self.parent.web_app.settings
        base_url = self._base_url()
        page_config = get_page_config(base_url=base_url, settings=settings, log=self.log, voila_configuration=conf)
        return NotebookRenderer(
            voila_configuration=conf, traitlet_config=self.parent.config, notebook_path=notebook,
            template_paths=template_paths, config_manager=settings.get("config_manager"),
            contents_manager=self.parent.contents_manager, base_url=base_url,
            kernel_spec_manager=self.parent.kernel_spec_manager, page_config=page_config,
            mathjax_config=settings.get("mathjax_config"), mathjax_url=settings.get("mathjax_url"))
