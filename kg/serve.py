"""``kg serve``: the endpoint behind gunicorn, the production WSGI server (never Flask's development server)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from kg.config import Settings


class EndpointServer(BaseApplication):
    """gunicorn with its options from our settings; each worker builds its own app (and opens the store)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.workers,
            "timeout": self.settings.worker_timeout,
            "accesslog": "-",  # one line per request, with status and duration
            "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
            "errorlog": "-",
            "limit_request_line": 8190,
            "control_socket_disable": True,  # several servers on one machine would share its path
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from kg.web import create_app

        return create_app(self.settings)


def serve(settings: Settings) -> None:
    from kg.store import EmbeddedStore

    EmbeddedStore(settings.path("store_dir"))  # fail now, with a clear message, if nothing is published
    EndpointServer(settings).run()
