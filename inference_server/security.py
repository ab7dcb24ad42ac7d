"""Who may talk to the daemon: holders of its signing key; loopback by default, CurveZMQ for anything wider.

Every message is signed with a key the daemon makes at start-up and writes, with its endpoint,
to a *connection file* only its user can read (``<state dir>/connections/``), as Jupyter does for
its kernels: local clients of the same user read it; others never get an answer.

A keys directory made by :func:`generate_keys` (``promptdaw keys DIR``) holds::

    server.key, server.key_secret     the daemon's certificate
    client.key, client.key_secret     a first client certificate
    authorized/*.key                  public keys of clients the daemon accepts (ZAP)
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from promptdaw.core.paths import state_dir
from promptdaw.inference_server.errors import InsecureEndpoint, InvalidInput
from promptdaw.inference_server.protocol import SIGNATURE_SCHEME

__all__ = [
    "ConnectionInfo",
    "ServerKeys",
    "configure_client_curve",
    "connection_file",
    "find_connection",
    "generate_keys",
    "is_loopback",
    "load_server_keys",
    "read_connection_file",
    "remove_connection_file",
    "secure_server_socket",
    "write_connection_file",
]


def is_loopback(endpoint: str) -> bool:
    """True for endpoints no other machine can reach (127.0.0.0/8, ::1, localhost, ipc, inproc)."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = urlsplit(f"//{rest}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # "*", an interface name or a host name: reachable from outside
        return False


@dataclass(frozen=True)
class ServerKeys:
    public: bytes
    secret: bytes
    authorized_dir: Path


def load_server_keys(keys_dir: Path) -> ServerKeys:
    """Read the daemon's certificate and the directory of accepted client keys.

    Raises:
        InsecureEndpoint: when the directory lacks the server secret or ``authorized/``.
    """
    secret_file = keys_dir / "server.key_secret"
    authorized = keys_dir / "authorized"
    if not secret_file.is_file() or not authorized.is_dir():
        raise InsecureEndpoint(
            f"{keys_dir} must hold server.key_secret and authorized/ (make them with `promptdaw keys {keys_dir}`)"
        )
    public, secret = zmq.auth.load_certificate(secret_file)
    if secret is None:
        raise InsecureEndpoint(f"{secret_file} holds no secret key")
    return ServerKeys(public, secret, authorized)


def secure_server_socket(
    socket: zmq.Socket, context: zmq.Context, endpoint: str, keys_dir: Path | None
) -> ThreadAuthenticator | None:
    """Refuse a wide endpoint without keys; with keys, make ``socket`` a Curve server.

    Must run before ``bind``. Returns the running ZAP authenticator (stop it at shutdown).
    """
    if keys_dir is None:
        if not is_loopback(endpoint):
            raise InsecureEndpoint(
                f"refusing to listen on {endpoint} without CurveZMQ keys: pass --curve-keys DIR "
                "(create one with `promptdaw keys DIR`) or use a loopback address"
            )
        return None
    keys = load_server_keys(keys_dir)
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(keys.authorized_dir))
    socket.curve_secretkey = keys.secret
    socket.curve_publickey = keys.public
    socket.curve_server = True
    return auth


def configure_client_curve(socket: zmq.Socket, server_key: Path, client_key: Path) -> None:
    """Make ``socket`` a Curve client of the server whose public key is in ``server_key``."""
    server_public, _ = zmq.auth.load_certificate(server_key)
    public, secret = zmq.auth.load_certificate(client_key)
    if secret is None:
        raise InsecureEndpoint(f"{client_key} holds no secret key (pass the .key_secret file)")
    socket.curve_serverkey = server_public
    socket.curve_publickey = public
    socket.curve_secretkey = secret


def generate_keys(keys_dir: Path) -> dict[str, Path]:
    """Create a server and a client certificate, authorising the client. Idempotent."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    authorized = keys_dir / "authorized"
    authorized.mkdir(exist_ok=True)
    paths = {}
    for name in ("server", "client"):
        public, secret = keys_dir / f"{name}.key", keys_dir / f"{name}.key_secret"
        if not secret.exists():
            zmq.auth.create_certificates(str(keys_dir), name)
        os.chmod(secret, 0o600)  # secrets readable by their owner only
        paths[name] = public
        paths[f"{name}_secret"] = secret
    shutil.copyfile(keys_dir / "client.key", authorized / "client.key")
    return paths


# ---------------------------------------------------------------------------- connection files


@dataclass(frozen=True)
class ConnectionInfo:
    """What a client needs to talk to a daemon: where, and the key that signs every message."""

    endpoint: str
    key: str
    pid: int
    signature_scheme: str = SIGNATURE_SCHEME
    #: The daemon's CurveZMQ public key (Z85) when it serves with ``--curve-keys``; clients still
    #: need their own authorised key pair.
    curve_server_key: str | None = None

    @property
    def key_bytes(self) -> bytes:
        """The HMAC key: the ASCII bytes of :attr:`key`."""
        return self.key.encode("ascii")


def _endpoint_slug(endpoint: str) -> str:
    """``tcp-7467`` for any host on port 7467, so a daemon bound to ``tcp://0.0.0.0:7467`` is found
    from ``tcp://127.0.0.1:7467`` (one TCP port, one listener); ``ipc-<path>`` for ipc."""
    scheme, _, address = endpoint.partition("://")
    if scheme == "tcp":
        port = address.rsplit(":", 1)[-1]
        return f"tcp-{port}"
    return re.sub(r"[^A-Za-z0-9._]+", "-", f"{scheme}-{address}").strip("-")


def connection_file(endpoint: str, directory: Path | None = None) -> Path:
    """Where the daemon serving ``endpoint`` writes its connection file."""
    return (directory or state_dir() / "connections") / f"daemon-{_endpoint_slug(endpoint)}.json"


def write_connection_file(path: Path, info: ConnectionInfo) -> Path:
    """Write ``info`` atomically, readable by its owner only from the first byte.

    (``core.files.atomic_write_bytes`` widens files to the umask for shared outputs; a key must
    never be readable by others, even for a moment, so the 0600 of ``mkstemp`` is kept.)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # our own folder: nobody else lists or replaces its files
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(info), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_connection_file(path: Path) -> ConnectionInfo:
    """Read a connection file.

    Raises:
        InvalidInput: the file is not one (its path named); OSError when it cannot be read.
    """
    try:
        data = json.loads(Path(path).read_text())
        info = ConnectionInfo(**data)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a promptdaw connection file: {exc}") from None
    if info.signature_scheme != SIGNATURE_SCHEME or not isinstance(info.key, str) or not info.key.isascii():
        raise InvalidInput(f"{path}: signature_scheme must be {SIGNATURE_SCHEME!r} with an ASCII key")
    return info


def find_connection(endpoint: str) -> ConnectionInfo | None:
    """The connection file of the daemon at ``endpoint``: ``$PROMPTDAW_CONNECTION_FILE`` (a copy of a
    remote daemon's), else the one in this user's state folder; None when there is none."""
    path = Path(env) if (env := os.environ.get("PROMPTDAW_CONNECTION_FILE")) else connection_file(endpoint)
    try:
        return read_connection_file(path)
    except FileNotFoundError:
        return None


def remove_connection_file(path: Path, pid: int) -> None:
    """Remove ``path`` if it is still the file of the daemon ``pid`` (a newer daemon may own it now)."""
    try:
        if read_connection_file(path).pid == pid:
            path.unlink()
    except (OSError, InvalidInput):
        pass
