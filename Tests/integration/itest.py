"""What the integration tests share: a failing check ends the run with its reason, and a counter
of the checks that passed; a free loopback port."""
import socket
import sys

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    checks += 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
