"""Integration test: `tracectl dash` in a real terminal (tmux), against a real llmtraced.

Starts llmtraced with synthetic traffic, runs the dashboard in a shell inside a tmux pane (its own
tmux server, 120x40), and drives it with send-keys, checking capture-pane at each step: the overview
drawn with numbers, the time range key, pause, a table row's trace (waterfall), a stat's traces
(sorted, filtered with status=error), a trace exported with `e`, a span opened, the way back, help,
a resize to 80x24, Ctrl-Z back to the shell
and `fg` back to the dashboard, and `q`: the shell's terminal restored (canonical mode and echo on,
the main screen back). Installs nothing: .ci/run apt-installs tmux when missing.

usage: python3 Tests/integration/dash_tmux_test.py [BIN_DIR]
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from itest import check, free_port, wait_http
import itest

SOCKET = f"llmtrace-dash-test-{os.getpid()}"


def tmux(*args, check_rc=True):
    r = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, timeout=30)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr}")
    return r.stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "dash")


def wait_for(predicate, what, seconds=20):
    deadline = time.time() + seconds
    last = ""
    while time.time() < deadline:
        last = screen()
        if predicate(last):
            return last
        time.sleep(0.2)
    check(False, f"{what}; the pane shows:\n{last}")


def main():
    bindir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                             subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip())
    if shutil.which("tmux") is None:
        print("SKIP: tmux is not installed (.ci/run installs it)")
        return
    tmp = tempfile.mkdtemp(prefix="llmtrace-dash-")
    port = free_port()
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    server = subprocess.Popen([os.path.join(bindir, "llmtraced"), "--listen", f"127.0.0.1:{port}", "--data", os.path.join(tmp, "data"),
                               "--access-log", "off"], stdout=open(os.path.join(tmp, "llmtraced.log"), "w"), stderr=subprocess.STDOUT, env=env)
    ok = False
    try:
        check(wait_http(f"http://127.0.0.1:{port}/healthz", time.time() + 30), "llmtraced answers")
        spans = subprocess.run([os.path.join(bindir, "llmtrace-bench"), "gen", "--spans", "3000", "--start", "30m"],
                               capture_output=True, timeout=120, env=env).stdout
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/spans", data=spans, headers={"Content-Type": "application/x-ndjson"}, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            check(r.status == 200, "spans posted")

        # A shell in a 120x40 pane; the dashboard started from it, as a user would.
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", "120", "-y", "40", "-c", tmp,
             f"env -i PATH=/usr/bin:/bin HOME={tmp} TERM=xterm-256color NO_COLOR=1 PS1='shell$ ' bash --norc --noprofile")
        tmux("set-option", "-t", "dash", "status", "off")
        wait_for(lambda s: "shell$" in s, "the shell started")
        tmux("send-keys", "-t", "dash", f"{bindir}/tracectl dash --endpoint http://127.0.0.1:{port}", "Enter")
        s = wait_for(lambda s: "LLMTrace · Overview · last 1h" in s and "/s" in s and "$" in s and "Slowest traces" in s,
                     "the overview drawn with numbers")
        lines = s.splitlines()
        check(lines[0].startswith(" LLMTrace · Overview") and "collector 127.0.0.1:" in lines[0], f"header: {lines[0]!r}")
        check("Tab panel" in s and "q quit" in s, "the key-hint bar")
        check(len([l for l in lines if l.strip()]) >= 35, "the dashboard fills the 40 lines")

        tmux("send-keys", "-t", "dash", "t")
        wait_for(lambda s: "last 6h" in s, "t moves the time range to 6h")
        tmux("send-keys", "-t", "dash", "p")
        wait_for(lambda s: "paused" in s.splitlines()[0] and "p resume" in s, "p pauses")
        tmux("send-keys", "-t", "dash", "p")
        wait_for(lambda s: "live" in s.splitlines()[0], "p resumes")
        # Tab to the slowest-traces table (the tenth panel), j to its second row, Enter: the trace.
        for _ in range(9):
            tmux("send-keys", "-t", "dash", "Tab")
        wait_for(lambda s: "Enter trace" in s.splitlines()[-1] if s.splitlines() else False, "the table has focus (its hints)")
        tmux("send-keys", "-t", "dash", "j", "Enter")
        s = wait_for(lambda s: s.splitlines()[0].startswith(" LLMTrace · trace ") and "agent.run" in s and "critical path" in s,
                     "Enter opens the trace's waterfall")
        check("Esc back" in s and " spans · " in s.splitlines()[1], "the waterfall's facts and hints")
        tmux("send-keys", "-t", "dash", "Escape")
        wait_for(lambda s: s.splitlines()[0].startswith(" LLMTrace · Overview"), "Esc goes back to the dashboard")

        # Back to the p95 latency stat (the fourth panel), Enter: its traces, slowest first.
        for _ in range(6):
            tmux("send-keys", "-t", "dash", "BTab")
        wait_for(lambda s: "Enter traces" in s.splitlines()[-1], "a stat panel offers its traces")
        tmux("send-keys", "-t", "dash", "Enter")
        s = wait_for(lambda s: "traces · p95 latency" in s.splitlines()[0] and "by duration ↓" in s.splitlines()[0] and "agent.run" in s,
                     "Enter on p95 latency lists its traces by duration")
        rows = [l for l in s.splitlines()[3:-1] if l.strip()]
        check(len(rows) >= 20, f"the list fills the screen ({len(rows)} rows)")

        def seconds(text):
            return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1]) * (60 if text.endswith("m") else 1)
        durations = [seconds(l.split()[1]) for l in rows]
        check(durations == sorted(durations, reverse=True), f"slowest first: {durations[:5]}")
        # A typed filter runs the query again: only failed traces (the err column) remain.
        tmux("send-keys", "-t", "dash", "/")
        wait_for(lambda s: s.splitlines()[1].startswith("/kind=llm"), "/ opens the filter prompt with the panel's filter")
        tmux("send-keys", "-t", "dash", "-l", "status=error")
        tmux("send-keys", "-t", "dash", "Enter")
        s = wait_for(lambda s: "filter: kind=llm status=error" in s and "agent.run" in s, "status=error applied")
        rows = [l for l in s.splitlines()[3:-1] if l.strip()]
        check(rows and all(l.split()[-1].isdigit() and int(l.split()[-1]) > 0 for l in rows), "every listed trace failed")
        # Its waterfall; e exports it; Enter opens the selected span; Esc three times: the overview.
        tmux("send-keys", "-t", "dash", "Enter")
        wait_for(lambda s: s.splitlines()[0].startswith(" LLMTrace · trace ") and "critical path" in s, "Enter opens a failed trace")
        tmux("send-keys", "-t", "dash", "e")
        s = wait_for(lambda s: "wrote " in s and ".json" in s, "e exports the trace")
        exported = [f for f in os.listdir(tmp) if f.startswith("trace-") and f.endswith(".json")]
        check(len(exported) == 1, f"one file written in the dashboard's directory: {exported}")
        with open(os.path.join(tmp, exported[0])) as f:
            doc = __import__("json").load(f)
        check(doc["trace_id"] == exported[0][6:-5] and doc["span_count"] == len(doc["spans"]) > 0
              and any(sp.get("status") == "error" for sp in doc["spans"]), "the export is the trace, with its failed span")
        tmux("send-keys", "-t", "dash", "Enter")
        wait_for(lambda s: s.splitlines()[0].startswith(" LLMTrace · span ") and "j/k item" in s, "Enter opens the span")
        tmux("send-keys", "-t", "dash", "Escape")
        wait_for(lambda s: "critical path" in s, "Esc: back to the waterfall")
        tmux("send-keys", "-t", "dash", "Escape")
        wait_for(lambda s: "traces · p95 latency" in s.splitlines()[0], "Esc: back to the list")
        tmux("send-keys", "-t", "dash", "BSpace")
        wait_for(lambda s: s.splitlines()[0].startswith(" LLMTrace · Overview"), "Backspace: back to the dashboard")
        tmux("send-keys", "-t", "dash", "?")
        wait_for(lambda s: "KEYS" in s and "any key closes this" in s, "? opens the help")
        tmux("send-keys", "-t", "dash", "x")
        wait_for(lambda s: "any key closes this" not in s, "a key closes the help")

        # Resize: the screen is drawn again at the new size.
        tmux("resize-window", "-t", "dash", "-x", "80", "-y", "24")
        s = wait_for(lambda s: len(s.splitlines()) <= 24 and s.splitlines()[0].startswith(" LLMTrace · Overview")
                     and all(len(l) <= 80 for l in s.splitlines()) and "q quit" in s.splitlines()[-1], "redrawn at 80x24")

        # Ctrl-Z: back in the shell, the terminal given back; fg: the dashboard again.
        tmux("send-keys", "-t", "dash", "C-z")
        s = wait_for(lambda s: "Stopped" in s and s.rstrip().endswith("shell$"), "Ctrl-Z suspends to the shell")
        check("LLMTrace · Overview" not in s, "the main screen is back while suspended")
        tmux("send-keys", "-t", "dash", "fg", "Enter")
        wait_for(lambda s: s.splitlines() and s.splitlines()[0].startswith(" LLMTrace · Overview"), "fg brings the dashboard back")

        # q: the shell's terminal is as it was (canonical mode, echo), the main screen back.
        tmux("send-keys", "-t", "dash", "q")
        wait_for(lambda s: "LLMTrace · Overview" not in s and "shell$" in s, "q quits to the shell")
        tmux("send-keys", "-t", "dash", "stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | paste -sd, -; echo STTY-DONE", "Enter")
        s = wait_for(lambda s: "\nSTTY-DONE" in s, "stty answered")
        lines = s.splitlines()
        answer = lines[lines.index("STTY-DONE") - 1]
        check(sorted(answer.split(",")) == ["echo", "icanon"], f"canonical mode and echo are back: {answer!r}")
        print(f"dash_tmux_test: {itest.checks} checks passed", flush=True)
        ok = True
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}", flush=True)


if __name__ == "__main__":
    main()
