"""Integration test: a real llmtraced on a real file system that fills up to the last byte.

Mounts a small tmpfs (needs root or CAP_SYS_ADMIN; where mounting is not allowed it says SKIP and
exits 0) and runs llmtraced with its data directory on it. Records every span llmtraced
acknowledged with a 200, and checks:
  A. WAL full, then kill -9. Posting until the disk is full: 503 with Retry-After, /readyz 503 with
     the reason. Space is then given back (the tmpfs is grown while llmtraced runs): /readyz returns
     to 200 by itself, ingest resumes. Then kill -9 and a restart: every acknowledged span is there,
     and nothing that was refused.
  B. SIGTERM while full: llmtraced exits 0 in time, logs the failed final seal at error level (as
     JSON under --log-format json), leaves no WAL file shorter than its header, `tracectl verify`
     passes, and a restart with space returns every acknowledged span.
  C. Seals that cannot be written (a filler file leaves room for WAL records but not for a
     segment): ingest answers 503 "sealing failed" instead of 200s while memory climbs, /readyz
     names the reason, RSS stays flat; once the filler is removed /readyz returns to 200 without a
     restart, the seal is retried and ingest resumes; kill -9 and a restart return every
     acknowledged span.
  D. A restart while the disk is still full fails with the reason in the log and changes no WAL
     byte; the next start, with space, returns every acknowledged span.
Bounded in time; every process is stopped and the tmpfs unmounted. Exits non-zero on the first
failure.

usage: python3 Tests/integration/disk_full_test.py [BIN_DIR]
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import itest  # noqa: E402
from itest import check, free_port, http  # noqa: E402


class Disk:
    """A tmpfs of `size` at a fresh mount point; `grow` resizes it while files are open."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix="llmtrace-full-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", self.dir], capture_output=True, timeout=30)
        self.mounted = r.returncode == 0
        self.error = r.stderr.decode().strip()

    def grow(self, size):
        subprocess.run(["mount", "-o", f"remount,size={size}", self.dir], check=True, timeout=30)

    def free_bytes(self):
        st = os.statvfs(self.dir)
        return st.f_bavail * st.f_frsize

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.dir], timeout=30)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


class Daemon:
    def __init__(self, bindir, data, log, extra=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        self.p = subprocess.Popen([os.path.join(bindir, "llmtraced"), "--data", data, "--listen", f"127.0.0.1:{self.port}",
                                   "--access-log", "off", "--log-format", "json", *extra],
                                  stdout=subprocess.DEVNULL, stderr=open(log, "a"), env=env)

    def up(self, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.p.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return True
            except Exception:
                time.sleep(0.1)
        return False

    def rss_mb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=30)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=30)


ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ."


def start(bindir, data, log, extra=()):
    d = Daemon(bindir, data, log, extra)
    check(d.up(), "llmtraced did not start")
    return d


def restart_and_expect(bindir, data, log, ledger, what):
    """A restart: every acknowledged span must be there, and nothing else."""
    d = start(bindir, data, log)
    expect_all(d, ledger, what)
    d.stop()


class Ledger:
    """Posts single-trace batches and remembers what was acknowledged."""

    def __init__(self, seed, text_bytes=600):
        self.rng = random.Random(seed)
        self.acked = {}  # trace id -> span count
        self.refused = 0
        self.statuses = {}
        self.retry_after = True
        self.next = seed * 10_000_000
        self.text_bytes = text_bytes

    def post(self, daemon, spans_per_trace=4):
        self.next += 1
        trace = "%032x" % self.next
        start = 1_767_225_600_000_000_000 + self.next * 1_000_000
        # Random text, new in every post: it barely compresses (6 bits a byte) and interns only
        # within a post, so the disk fills predictably.
        text = "".join(self.rng.choice(ALPHABET) for _ in range(self.text_bytes))
        spans = [{"trace_id": trace, "span_id": "%016x" % (self.next * 16 + k + 1), "name": "chat", "kind": "llm",
                  "start_ns": start + k, "end_ns": start + k + 5_000_000, "request_model": "gpt-4o",
                  "input_messages": [{"role": "user", "content": text}]} for k in range(spans_per_trace)]
        st, body, headers = http(daemon.base + "/v1/spans", json.dumps(spans).encode(), {"content-type": "application/json"})
        self.statuses[st] = self.statuses.get(st, 0) + 1
        if st == 200:
            check(json.loads(body)["accepted"] == spans_per_trace, f"partial accept: {body[:200]}")
            self.acked[trace] = spans_per_trace
        else:
            check(st in (503, 429), f"a full disk answered {st}: {body[:300]}")
            self.retry_after = self.retry_after and "retry-after" in headers
            self.refused += 1
        return st, body

    def spans(self):
        return sum(self.acked.values())


def readyz(daemon):
    st, body, _ = http(daemon.base + "/readyz")
    return st, body.decode(errors="replace")


def wait_ready(daemon, want, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        st, body = readyz(daemon)
        if st == want:
            return body
        time.sleep(0.2)
    st, body = readyz(daemon)
    check(False, f"/readyz stayed {st} ({body}) for {seconds}s, expected {want}")


def expect_all(daemon, ledger, what):
    """Every acknowledged trace whole, and nothing else stored."""
    st, body, _ = http(daemon.base + "/api/query", json.dumps({"query": "SELECT count() FROM spans"}).encode(),
                       {"content-type": "application/json"})
    check(st == 200, f"{what}: query answered {st}: {body[:200]}")
    total = json.loads(body)["rows"][0][0]
    lost = 0
    for trace, n in ledger.acked.items():
        st, body, _ = http(daemon.base + "/api/traces/" + trace)
        if st != 200 or json.loads(body)["span_count"] != n:
            lost += 1
    check(lost == 0, f"{what}: {lost} of {len(ledger.acked)} acknowledged traces missing or short")
    check(total == ledger.spans(), f"{what}: {total} spans stored, {ledger.spans()} acknowledged")
    print(f"  {what}: all {ledger.spans()} acknowledged spans ({len(ledger.acked)} traces) back, nothing else", flush=True)


def fill(daemon, ledger, disk, min_refused=30, max_posts=20_000):
    """Posts until the disk is full, then goes on until `min_refused` posts were refused."""
    posts = 0
    while ledger.refused < min_refused and posts < max_posts:
        ledger.post(daemon)
        posts += 1
    check(ledger.refused >= min_refused, f"the disk never filled ({posts} posts, {disk.free_bytes()} bytes free)")
    check(ledger.retry_after, "a 503 without Retry-After")


def log_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                check(line.startswith("{"), f"a log line that is not JSON under --log-format json: {line[:200]}")
                out.append(json.loads(line))
    return out


def wal_files(data):
    d = os.path.join(data, "wal")
    return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d)) if n.endswith(".wal")} if os.path.isdir(d) else {}


def scenario_a(bindir, tmp):
    print("A. WAL full, space given back while running, then kill -9", flush=True)
    disk = Disk("3m")
    try:
        data = os.path.join(disk.dir, "data")
        log = os.path.join(tmp, "a.log")
        d = start(bindir, data, log)
        ledger = Ledger(1)
        fill(d, ledger, disk)
        st, body = readyz(d)
        check(st == 503 and "write-ahead log" in body, f"/readyz while the disk is full: {st} {body}")
        full_acked = ledger.spans()
        print(f"  full after {full_acked} acknowledged spans; {ledger.refused} posts refused with 503 + Retry-After; /readyz: {body.strip()}", flush=True)
        disk.grow("64m")
        wait_ready(d, 200, 10)
        before = ledger.refused
        for _ in range(300):
            ledger.post(d)
        check(ledger.refused == before, f"{ledger.refused - before} posts refused after space came back: {ledger.statuses}")
        print(f"  space back: /readyz 200 without a restart; {ledger.spans() - full_acked} more spans acknowledged", flush=True)
        d.kill9()
        errors = [l for l in log_lines(log) if l.get("level") == "error"]
        check(0 < len(errors) <= 6, f"{len(errors)} error lines for one episode of a full disk: {errors[:8]}")
        restart_and_expect(bindir, data, log, ledger, "after kill -9")
    finally:
        disk.close()


def scenario_b(bindir, tmp):
    print("B. SIGTERM while the disk is full", flush=True)
    disk = Disk("3m")
    try:
        data = os.path.join(disk.dir, "data")
        log = os.path.join(tmp, "b.log")
        d = start(bindir, data, log)
        ledger = Ledger(2)
        fill(d, ledger, disk, min_refused=10)
        d.p.send_signal(signal.SIGTERM)
        try:
            code = d.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            d.stop()
            check(False, "llmtraced did not exit within 60 s of SIGTERM on a full disk")
        check(code == 0, f"llmtraced exited {code} on SIGTERM while full")
        lines = log_lines(log)
        check(any(l.get("level") == "error" and "replays" in l.get("msg", "") for l in lines), "no error line about the unsealed spans at shutdown")
        for name, b in wal_files(data).items():
            check(len(b) >= 16, f"WAL file {name} of {len(b)} bytes left behind")
        v = subprocess.run([os.path.join(bindir, "tracectl"), "verify", "--data", data], capture_output=True, timeout=120, text=True)
        check(v.returncode == 0, f"tracectl verify after SIGTERM while full: {v.stdout} {v.stderr}")
        disk.grow("64m")
        restart_and_expect(bindir, data, log, ledger, "after SIGTERM while full")
    finally:
        disk.close()


def scenario_c(bindir, tmp):
    print("C. seals that cannot be written", flush=True)
    disk = Disk("16m")
    try:
        data = os.path.join(disk.dir, "data")
        log = os.path.join(tmp, "c.log")
        d = start(bindir, data, log, ["--seal-spans", "240"])
        ledger = Ledger(3, text_bytes=4000)
        for _ in range(20):
            ledger.post(d)
        # Room for the WAL records of the next 40 posts (~4.3 KB each) but not for the segment of
        # the 60 posts a 240-span seal writes (~3 KB each after compression).
        filler = os.path.join(disk.dir, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, disk.free_bytes() - 300 * 1024))
        deadline = time.time() + 30
        while time.time() < deadline and ledger.refused < 20:
            ledger.post(d)
        check(ledger.refused >= 20, f"ingest never pushed back while seals could not be written: {ledger.statuses}")
        st, body = readyz(d)
        check(st == 503 and ("sealing failed" in body or "write-ahead log" in body), f"/readyz while seals fail: {st} {body}")
        print(f"  pushed back after {ledger.spans()} spans: /readyz {st} {body.strip()[:160]}", flush=True)
        rss0 = d.rss_mb()
        for _ in range(300):
            ledger.post(d)
        rss1 = d.rss_mb()
        check(rss1 < rss0 + 40, f"RSS climbed from {rss0:.0f} to {rss1:.0f} MB while seals failed")
        os.remove(filler)
        wait_ready(d, 200, 10)
        before = ledger.refused
        for _ in range(200):
            ledger.post(d)
        check(ledger.refused == before, f"posts refused after space came back: {ledger.statuses}")
        print(f"  RSS {rss0:.0f} -> {rss1:.0f} MB over 300 refused posts; space back: /readyz 200, ingest resumed", flush=True)
        d.kill9()
        restart_and_expect(bindir, data, log, ledger, "after kill -9")
    finally:
        disk.close()


def scenario_d(bindir, tmp):
    print("D. a restart while the disk is still full", flush=True)
    disk = Disk("3m")
    try:
        data = os.path.join(disk.dir, "data")
        log = os.path.join(tmp, "d.log")
        d = start(bindir, data, log)
        ledger = Ledger(4)
        fill(d, ledger, disk, min_refused=5)
        d.kill9()
        before = wal_files(data)
        d = Daemon(bindir, data, log)
        code = d.p.wait(timeout=60)
        check(code == 1, f"llmtraced started (or exited {code}) on a full disk with WAL to seal")
        check(any(l.get("level") == "error" and "No space left" in l.get("reason", "") for l in log_lines(log)),
              "the failed start does not say the disk is full")
        check(wal_files(data) == before, "the failed start changed the WAL")
        disk.grow("64m")
        restart_and_expect(bindir, data, log, ledger, "after a failed start")
    finally:
        disk.close()


def main():
    bindir = sys.argv[1] if len(sys.argv) > 1 else subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    probe = Disk("1m")
    probe.close()
    if not probe.mounted:
        print(f"SKIP: cannot mount a tmpfs here ({probe.error}); the fault-injection tests (DiskFullTests) still ran")
        return
    tmp = tempfile.mkdtemp(prefix="llmtrace-full-logs-")
    t0 = time.time()
    for scenario in (scenario_a, scenario_b, scenario_c, scenario_d):
        scenario(bindir, tmp)
    print(f"disk-full integration test passed: {itest.checks} checks in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
