"""The processes of ``funcmlp train --coordinator`` meet before JAX joins them, with a deadline.

``jax.distributed.initialize`` waits for every process and, at its deadline, aborts the program
with a C++ stack trace; a process given the id of another, or another ``--num-processes``, waits
for ever or gets that trace. :func:`meet` runs first: process 0 listens at the coordinator's
address, each other process connects (retrying until the deadline) and says its number of
processes and its id; once all have come (or at the deadline) process 0 answers each whether
the set is consistent. Every refusal and
the deadline are one line naming the coordinator and the process ids that are missing, repeated
or mismatched. Process 0 then closes its listener and JAX's coordinator takes the address.

Example:
    >>> meet("127.0.0.1:0", 1, 0, timeout=1.0)  # one process alone: nothing to wait for
"""

from __future__ import annotations

import json
import socket
import time

GREETING = "funcmlp-join"


def coordinator_address(coordinator: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[IPv6]:PORT`` too) as ``(host, port)``, the port a number from 1 to 65535; a
    one-line ``ValueError`` otherwise.

    Example:
        >>> coordinator_address("[::1]:1234")
        ('::1', 1234)
        >>> coordinator_address("10.0.0.1:65536")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: --coordinator 10.0.0.1:65536: the port must be a number from 1 to 65535, got '65536'; ...
    """
    host, _, port = coordinator.rpartition(":")
    if not host.strip("[]"):
        raise ValueError(f"--coordinator {coordinator[:80]}: expected HOST:PORT, e.g. 10.0.0.1:1234")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(
            f"--coordinator {coordinator[:80]}: the port must be a number from 1 to 65535, got {port[:20]!r}; "
            f"e.g. {host[:60]}:1234"
        )
    return host.strip("[]"), int(port)


def _send(connection, message: dict) -> None:
    connection.sendall((json.dumps(message) + "\n").encode())


def _receive(connection, deadline: float) -> dict | None:
    data = b""
    while not data.endswith(b"\n") and len(data) < 4096:
        connection.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    try:
        message = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError):
        return None
    return message if isinstance(message, dict) and message.get("greeting") == GREETING else None


def meet(coordinator: str, num_processes: int, process_id: int, *, timeout: float) -> None:
    """Return when all ``num_processes`` processes have met consistently; a ``ValueError`` line
    otherwise (on every process that took part), at the latest after ``timeout`` seconds."""
    if num_processes == 1:
        return
    deadline = time.monotonic() + timeout
    if process_id == 0:
        _host(coordinator, num_processes, deadline, timeout)
    else:
        _join(coordinator, num_processes, process_id, deadline, timeout)


def _listen(coordinator: str) -> socket.socket:
    """A listener on the coordinator's port on every interface, as JAX's coordinator binds it."""
    port = coordinator_address(coordinator)[1]
    try:
        if socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True, reuse_port=False)
        return socket.create_server(("", port))
    except OSError as error:
        raise ValueError(
            f"--coordinator {coordinator}: process 0 cannot listen on port {port} ({error.strerror}): another "
            "process 0 runs there already (each process needs its own --process-id), or the port is taken: give "
            "another port"
        ) from None


def _host(coordinator: str, num_processes: int, deadline: float, timeout: float) -> None:
    server = _listen(coordinator)
    server.listen(num_processes)
    connections, ids, problems = [], set(), []
    try:
        while len(connections) < num_processes - 1 and time.monotonic() < deadline:
            server.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                connection, _ = server.accept()
            except TimeoutError:
                break
            except OSError as error:  # no file descriptor left for one more connection (ulimit -n)
                problems.append(f"process 0 could not accept another process ({error.strerror}; raise ulimit -n)")
                break
            try:
                hello = _receive(connection, min(deadline, time.monotonic() + 5))
            except OSError:
                hello = None
            if hello is None:  # not a funcmlp process, or one that went away: not counted
                connection.close()
                continue
            connections.append(connection)
            their_id, their_count = hello.get("process_id"), hello.get("num_processes")
            problem = None
            if their_count != num_processes:
                problem = f"process {their_id} says --num-processes {their_count}, process 0 says {num_processes}"
            elif their_id in ids or their_id == 0:
                problem = f"two processes say --process-id {their_id}"
            if problem:
                problems.append(problem)  # every process that comes is still answered, with the verdict
            else:
                ids.add(their_id)
        missing = sorted(set(range(1, num_processes)) - ids)
        verdict = None
        if problems or missing:
            shown = ", ".join(map(str, missing[:10])) + (f", ... ({len(missing)} in all)" if len(missing) > 10 else "")
            verdict = "; ".join(problems[:3]) or (
                f"process{'es' if len(missing) > 1 else ''} {shown} did not join within {timeout:g} s"
            )
        for connection in connections:
            try:
                _send(connection, {"greeting": GREETING, "refused": verdict})
                _receive(connection, time.monotonic() + 5)  # the peer closes first: the port is free for JAX
            except OSError:
                pass
    finally:
        for connection in connections:
            connection.close()
        server.close()
    if verdict:
        raise ValueError(
            f"--coordinator {coordinator}: {verdict}; start every process with the same --coordinator and "
            "--num-processes and its own --process-id (or give a longer --join-timeout)"
        )


def _join(coordinator: str, num_processes: int, process_id: int, deadline: float, timeout: float) -> None:
    host, port = coordinator_address(coordinator)
    while True:
        try:
            connection = socket.create_connection((host, port), timeout=max(0.01, deadline - time.monotonic()))
            break
        except OSError:
            if time.monotonic() >= deadline:
                raise ValueError(
                    f"--coordinator {coordinator}: process 0 did not answer within {timeout:g} s; start it (with "
                    "--process-id 0) or check the address (or a longer --join-timeout)"
                ) from None
            time.sleep(0.2)
    try:
        _send(connection, {"greeting": GREETING, "num_processes": num_processes, "process_id": process_id})
        answer = _receive(connection, deadline + 10)
    except OSError:
        answer = None
    finally:
        connection.close()
    if answer is None:
        raise ValueError(
            f"--coordinator {coordinator}: process 0 gave no answer within {timeout:g} s; start every process with "
            "the same --coordinator and --num-processes and its own --process-id"
        )
    if answer.get("refused"):
        raise ValueError(
            f"--coordinator {coordinator}: {str(answer['refused'])[:300]}; start every process with the same "
            "--coordinator and --num-processes and its own --process-id"
        )
