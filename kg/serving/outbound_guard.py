"""No outbound connection from a process that evaluates queries: the operating system's guard, beside the
query checks (``kg.serving.query_policy``).

A process that leaves the network namespace it was started in for a new, empty one has only a loopback
interface that is down: no socket it opens afterwards reaches any address, 127.0.0.1 included, while the
sockets it already holds (the endpoint's listening socket, inherited from gunicorn's arbiter) keep
working, since a socket belongs to the namespace it was made in. ``kg serve``'s workers leave just after
the fork, before they start a thread (new threads inherit the namespace), so a SERVICE call the checks
missed fails with "network unreachable" instead of reaching a host.

Why a namespace and not a seccomp filter on ``connect``: it needs no library beyond libc, it holds for
every way of opening a connection (the engine's HTTP client included), and the kernel refuses it loudly
where it cannot be had. It needs root or unprivileged user namespaces; without them, or where the network
is wanted (a remote store, an allow-listed SERVICE), the process keeps its network and says so.
"""

from __future__ import annotations

import ctypes
import errno
import os

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

#: This process's guard, for /health: None until ``leave_network`` ran, then (guarded, how or why not).
status: tuple[bool, str] | None = None


def network_wanted(settings) -> str:
    """Why the settings need a network in the query processes ("" when they need none)."""
    if settings.store_url:
        return "a remote store (store_url) is queried over the network"
    if settings.service_allow_list:
        return "allow_service lets SERVICE call the endpoints it names"
    return ""


def _unshare(flags: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return 0 if libc.unshare(flags) == 0 else ctypes.get_errno()


def _map_own_ids(uid: int, gid: int) -> None:
    """In a new user namespace, be the same user as before (so files stay readable and writable)."""
    with open("/proc/self/setgroups", "w") as setgroups:
        setgroups.write("deny")
    with open("/proc/self/uid_map", "w") as uid_map:
        uid_map.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as gid_map:
        gid_map.write(f"{gid} {gid} 1")


def leave_network(settings) -> tuple[bool, str]:
    """Move this process into an empty network namespace, unless the settings need the network; call it
    while the process has one thread. Returns (guarded, how it is guarded or why it is not), and keeps it
    in ``status``."""
    global status
    wanted = network_wanted(settings)
    if wanted:
        status = (False, wanted)
        return status
    failure = _unshare(CLONE_NEWNET)
    how = "network namespace"
    if failure in (errno.EPERM, errno.EACCES):  # not root: a user namespace of our own may still allow it
        uid, gid = os.getuid(), os.getgid()
        failure = _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        how = "user and network namespace"
        if not failure:
            try:
                _map_own_ids(uid, gid)
            except OSError as exc:
                failure = exc.errno or errno.EPERM
    status = (True, how) if not failure else (False, f"the kernel refused a network namespace ({os.strerror(failure)})")
    return status


def probe(settings) -> tuple[bool, str]:
    """What ``leave_network`` would give, tried in a forked child so this process keeps its network."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        guarded, how = leave_network(settings)
        os.write(write_end, f"{int(guarded)}{how}".encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        text = answer.read().decode()
    os.waitpid(child, 0)
    return (text[:1] == "1", text[1:]) if text else (False, "the probe gave no answer")
