"""Who may talk to the daemon: loopback by default, CurveZMQ for anything wider.

A keys directory made by :func:`generate_keys` (``promptdaw keys DIR``) holds::

    server.key, server.key_secret     the daemon's certificate
    client.key, client.key_secret     a first client certificate
    authorized/*.key                  public keys of clients the daemon accepts (ZAP)
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from promptdaw.inference_server.errors import InsecureEndpoint

__all__ = [
    "ServerKeys",
    "configure_client_curve",
    "generate_keys",
    "is_loopback",
    "load_server_keys",
    "secure_server_socket",
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
