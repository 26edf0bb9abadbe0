"""The learners' spawner: JupyterHub's ``LocalProcessSpawner`` (each learner's page as their own OS
account) that notices a page which stops while it starts. JupyterHub itself only waits for the page
to answer, ``Spawner.http_timeout`` (90 s here) even when its process has already exited; here the
start fails at once, so the learner sees "Your training page could not start" in seconds
(``hub/templates/not_running.html``) instead of a minute and a half of waiting.

``autograde.hub.isolation.IsolatedSpawner`` builds on it.
"""

from __future__ import annotations

import asyncio
import socket

from jupyterhub.spawner import LocalProcessSpawner


def _listening(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


class CourseSpawner(LocalProcessSpawner):
    async def start(self):
        ip, port = await super().start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.http_timeout
        while loop.time() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError(f"the page of {self.user.name} stopped while starting (exit code {code}); "
                                   "its log is in the hub's log")
            if await loop.run_in_executor(None, _listening, ip, port):
                break
            await asyncio.sleep(0.25)
        return ip, port  # JupyterHub then waits for it to answer, as always
