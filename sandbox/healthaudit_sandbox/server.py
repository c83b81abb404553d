"""An embedded AWS emulator: moto in server mode, in-process, on loopback only.

The server is built the way moto's own ``ThreadedMotoServer`` builds it
(moto/moto_server/threaded_moto_server.py): a ``DomainDispatcherApplication`` over
``create_backend_app``, served by werkzeug's threaded ``make_server`` with moto's request handler
in a daemon thread. Before the app is built, :func:`healthaudit_sandbox.fidelity.install` patches
moto where it departs from the AWS documentation.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import urllib.request
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from healthaudit_sandbox import fidelity

#: AWS's default Lambda concurrent-executions quota per account and Region.
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
DEFAULT_CONCURRENCY_LIMIT = fidelity.DEFAULT_CONCURRENCY_LIMIT

#: The role assumed in each account to act there (moto maps the temporary credentials to its account).
SANDBOX_ROLE_NAME = "healthaudit-sandbox"


def _loopback_host(host: str) -> str:
    """Return ``host`` if it is a loopback address (127.0.0.0/8 or ::1), else raise ValueError."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"Sandbox host must be a loopback IP address (127.0.0.0/8 or ::1), got {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"Sandbox host must be a loopback IP address (127.0.0.0/8 or ::1), got {host!r}")
    return host


class _SharedSdkData(botocore.loaders.Loader):
    """botocore's data loader, one for every session this process makes for the sandbox.

    A Session parses the SDK's endpoints and service models anew (about a megabyte of JSON a
    service); made per account, per Region and per handler run, sessions spent most of an
    organization run's time there. The data is read-only, so one loader serves them all. boto3
    appends its own data folder to a session's loader: ``search_paths`` hands out a copy, so that
    append cannot grow the shared list, and the folder is on it from the start.
    """

    def __init__(self) -> None:
        super().__init__(extra_search_paths=[os.path.join(os.path.dirname(boto3.__file__), "data")])

    @property
    def search_paths(self) -> list[str]:
        return list(self._search_paths)


_SDK_DATA = _SharedSdkData()


def _botocore_session() -> botocore.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _SDK_DATA)
    return core


def sdk_session(**kwargs: Any) -> boto3.Session:
    """``boto3.Session(**kwargs)``, on the process's one copy of the SDK's parsed data."""
    return boto3.Session(botocore_session=_botocore_session(), **kwargs)


class SandboxSession(boto3.Session):
    """A boto3 Session whose clients and resources go to the sandbox unless told otherwise."""

    def __init__(self, *, endpoint_url: str, **kwargs: Any) -> None:
        kwargs.setdefault("botocore_session", _botocore_session())
        super().__init__(**kwargs)
        self.endpoint_url = endpoint_url

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if len(args) < 5:  # endpoint_url is the sixth positional parameter of boto3.Session.client
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(service_name, *args, **kwargs)

    def resource(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if len(args) < 5:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(service_name, *args, **kwargs)


def account_session(endpoint: str, account_id: str, region: str) -> SandboxSession:
    """A boto3 Session acting in ``account_id`` and ``region``, every client bound to the sandbox at ``endpoint``
    (from any process).

    moto decides the account of a request from its access key; keys issued by STS AssumeRole
    belong to the account of the assumed role, so assuming a role in the target account gives
    credentials that act there.
    """
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
    bootstrap = sdk_session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=region)
    sts = bootstrap.client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{SANDBOX_ROLE_NAME}", RoleSessionName="sandbox"
    )["Credentials"]
    session = SandboxSession(
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    acting_as = session.client("sts").get_caller_identity()["Account"]
    if acting_as != account_id:  # pragma: no cover - guards against a moto behaviour change
        raise RuntimeError(f"sandbox credentials act in account {acting_as}, expected {account_id}")
    return session


def _dispatcher(create_app: Any) -> Any:
    """moto's DomainDispatcherApplication, with the names of moto's backends read once.

    moto 5.2.5's ``get_backend_for_host`` lists moto's package folder (os.listdir, then isdir on each
    of some 200 entries) for every request, twice when the Host header is an address, as ours always
    is: a tenth of an organization run's time. The folder does not change while the server runs;
    the answers are moto's own otherwise.
    """
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = frozenset(backends.list_of_moto_modules())

    class Dispatcher(DomainDispatcherApplication):
        def get_backend_for_host(self, host: str | None) -> Any:
            if host is None or host == "moto_api" or host in modules:
                return host
            for backend, pattern in self.backend_url_patterns:
                if pattern.match(f"http://{host}"):
                    return backend
            return None

    return Dispatcher(create_app)


class Sandbox:
    """moto in server mode on loopback, with the fidelity extensions installed.

    >>> with Sandbox() as sandbox:  # doctest: +SKIP
    ...     session = sandbox.session_for_account("123456789012", "eu-west-1")
    ...     session.client("lambda").list_functions()
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log_requests: bool = False) -> None:
        self._host = _loopback_host(host)
        self._port = port
        self._log_requests = log_requests
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        fidelity.install()
        from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        handler = MotoRequestHandler
        if not self._log_requests:

            class QuietRequestHandler(MotoRequestHandler):
                def log_request(self, *args: Any, **kwargs: Any) -> None:
                    pass  # one stderr line per AWS call drowns test and demo output; errors still log

            handler = QuietRequestHandler
        app = _dispatcher(create_backend_app)
        # make_server binds the socket now, so the port (even port 0) is known before serving starts.
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="healthaudit-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C in `healthaudit sandbox`)."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Sandbox is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    # -- accounts --------------------------------------------------------------------------------

    def session_for_account(self, account_id: str, region: str) -> SandboxSession:
        """A boto3 Session acting in ``account_id`` and ``region``, every client bound to this sandbox."""
        return account_session(self.endpoint, account_id, region)

    def set_account_concurrency_limit(self, account_id: str, region: str, limit: int) -> None:
        """Set the concurrency quota that Lambda GetAccountSettings reports for this account and Region."""
        fidelity.set_account_concurrency_limit(account_id, region, limit)

    def reset(self) -> None:
        """Forget all state in every account and Region (moto's ``POST /moto-api/reset``)."""
        # The URL is the http:// loopback endpoint this object started, never user input.
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
