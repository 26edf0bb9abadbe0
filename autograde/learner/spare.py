"""A learner's server keeps one kernel started ahead, for the next module page (issue 17: a page
ready within 3 s under the hub's load).

Starting a kernel (Python, then ipykernel) is about 0.8 s of each module page's open. The
server's kernel manager, ``SpareKernelManager``, keeps one more kernel, started ahead of need;
Voilà's next page takes it instead of waiting for a new one, and a new spare starts a few seconds
later, once that page has run (``REFILL_DELAY``). The spare has run nothing: at take-over it is
given the page's own environment (Voilà's request variables) and folder, then Voilà runs the
notebook in it as it would in a new kernel, so the page reads the learner's answers as they are
at that moment. (Voilà's own preheat runs the notebook ahead, so a page would show the answers
of when it was preheated.)

Only Voilà's pages take the spare (their kernels carry ``VOILA_BASE_URL``); JupyterLab's
notebooks, for a learner a trainer gave JupyterLab, start kernels as before. The spare is never
culled as idle; it ends with the server. If it cannot be taken over (it died, or does not answer
within ``TAKEOVER_TIMEOUT``), it is shut down and the page starts a new kernel, as without it.
"""

from __future__ import annotations

import asyncio
import json
import os

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

REFILL_DELAY = 5.0  # s after a page takes the spare: its cells run first
TAKEOVER_TIMEOUT = 10.0  # s for the spare to take the page's environment
VOILA_MARK = "VOILA_BASE_URL"  # in the environment of every kernel Voilà starts for a page

# run in the spare at take-over ({!r}: JSON texts): the variables it was started with that the page's
# environment lacks are removed and the page's are set, but for those the kernel set itself at its
# start (ipykernel's TERM, PAGER, MPLBACKEND...), which stay, as in a kernel started for the page
_TAKEOVER = ("import json as _j, os as _o\n"
             "_s, _n = _j.loads({old!r}), _j.loads({new!r})\n"
             "for _k in set(_s) - set(_n): _o.environ.pop(_k, None)\n"
             "_o.environ.update({{_k: _v for _k, _v in _n.items() if _k not in _s or _o.environ.get(_k) == _s[_k]}})\n"
             "_o.chdir({cwd!r})\n"
             "del _j, _o, _s, _n")


def takeover_code(started_with: dict[str, str], env: dict[str, str], cwd: str) -> str:
    """The code that gives a spare kernel, started with ``started_with``, a page's environment
    ``env`` and folder ``cwd``."""
    return _TAKEOVER.format(old=json.dumps(started_with), new=json.dumps(env), cwd=cwd)


class SpareKernelManager(AsyncMappingKernelManager):
    """The server's kernel manager, with one kernel kept ready for Voilà's next page."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._spare: str | None = None  # a started kernel no page has taken
        self._spare_env: dict[str, str] = {}  # the environment it was started with
        self._refill: asyncio.Task | None = None

    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        env = kwargs.get("env")
        if kernel_id is not None or not env or VOILA_MARK not in env:
            return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        kid = await self._take_spare(env, path)
        if kid is None:
            kid = await super().start_kernel(path=path, **kwargs)
        self._schedule_refill(path, kwargs)
        return kid

    async def _take_spare(self, env: dict[str, str], path) -> str | None:
        kid, self._spare = self._spare, None
        if kid is None or kid not in self:
            return None
        cwd = self.cwd_for_path(path, env=env) if path is not None else os.getcwd()
        try:
            await asyncio.wait_for(self._run_in(kid, takeover_code(self._spare_env, env, cwd)), TAKEOVER_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure: the page gets a new kernel
            self.log.warning("The spare kernel %s could not be taken over (%s); starting a new one", kid, exc)
            try:
                await self.shutdown_kernel(kid, now=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
            return None
        self.get_kernel(kid).last_activity = utcnow()  # the page's, from now: not idle since the spare started
        self.log.info("A module page took the spare kernel %s", kid)
        return kid

    async def _run_in(self, kid: str, code: str) -> None:
        client = self.get_kernel(kid).client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=TAKEOVER_TIMEOUT)
            msg_id = client.execute(code, silent=True, store_history=False)
            while True:
                reply = await client.get_shell_msg(timeout=TAKEOVER_TIMEOUT)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        finally:
            client.stop_channels()

    def _schedule_refill(self, path, kwargs) -> None:
        if self._spare is not None or (self._refill is not None and not self._refill.done()):
            return
        self._refill = asyncio.ensure_future(self._start_spare(path, dict(kwargs)))

    async def _start_spare(self, path, kwargs) -> None:
        await asyncio.sleep(REFILL_DELAY)
        try:
            kid = await super().start_kernel(path=path, **kwargs)
        except Exception as exc:  # noqa: BLE001 - no spare: pages start their own kernels
            self.log.warning("No spare kernel could be started: %s", exc)
            return
        self._spare, self._spare_env = kid, dict(kwargs.get("env") or {})
        self.log.info("Spare kernel %s started for the next module page", kid)

    async def cull_kernel_if_idle(self, kernel_id):
        if kernel_id == self._spare and getattr(self._kernels.get(kernel_id), "execution_state", None) != "dead":
            return None  # kept for the next page, not idle in the culler's sense (a dead one is culled)
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        if kernel_id == self._spare:
            self._spare = None
        return await super().shutdown_kernel(kernel_id, now=now, restart=restart)
