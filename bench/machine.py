"""What one round trip between two processes costs on this machine: the unit every other row
is made of.

`python -m bench.machine N`

Two processes pass a 32-byte message back and forth over a Unix socket pair, N times: the
wall time of a round trip and the CPU each side spends on it (the sender's, the echoer's).
Every request, read, commit and delivery in the rows beside it is a few of these between
processes (and Redis), so a machine where they are dear is dear for every figure at moderate
load, whatever the code above them. No Redis, no Sluice code.
"""

import os
import resource
import socket
import sys
import time

from bench.common import Timing, report

MESSAGE = b"x" * 32


def cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def echo(end: socket.socket, n: int) -> None:
    for _ in range(n):
        end.sendall(end.recv(len(MESSAGE)))


def main() -> None:
    n = int(sys.argv[1])
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the echoer: answers n messages, then exits
        ours.close()
        echo(theirs, n)
        os._exit(0)
    theirs.close()
    cpu_started = cpu_s(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for _ in range(n):
        ours.sendall(MESSAGE)
        ours.recv(len(MESSAGE))
    elapsed = time.perf_counter() - started
    sender_s = cpu_s(resource.RUSAGE_SELF) - cpu_started
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit(f"the echoer exited with status {status}")
    echoer_s = cpu_s(resource.RUSAGE_CHILDREN)  # its whole life: n echoes, nothing else
    detail = {
        "round_trip_us": round(elapsed / n * 1e6),
        "sender_cpu_us": round(sender_s / n * 1e6),
        "echoer_cpu_us": round(echoer_s / n * 1e6),
    }
    report(Timing(n, elapsed, detail))


if __name__ == "__main__":
    main()
