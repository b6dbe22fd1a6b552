"""What the integration tests share: a failing check ends the run with its reason, and a counter
of the checks that passed; a free loopback port; an HTTP call that answers errors too; the Python
peers (OpenTelemetry, grpcio) pip-installed when missing."""
import importlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

checks = 0


def pip_install_missing(modules, packages):
    """pip-installs `packages` unless every one of `modules` imports already."""
    try:
        for m in modules:
            importlib.import_module(m)
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
                       check=True, timeout=600)
        importlib.invalidate_caches()


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


def http(url, body=None, headers=None, timeout=20):
    """(status, body, headers with lower-case names); a POST when there is a body."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}


def wait_http(url, deadline):
    """Whether `url` answered (any status) before `deadline` (a time.time() value)."""
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except Exception:
            time.sleep(0.1)
    return False
