"""The README's five-minute tour, run as written against a real llmtraced.

Reads the tour's shell block out of README.md, runs every command in order in one bash script (in
a fresh directory, so the default ./llmtrace-data is the tour's own; the port is a free one
instead of 4318, the only change made to any command), and checks that each command prints what
the README says it prints. A command in the README with no check here fails the test, so the tour
and this test cannot drift apart.

Two lines are stand-ins by necessity: `python my_llm_app.py` is the reader's own application (the
real OpenTelemetry SDK exports the Tests/integration/otel_workload.py agent instead), and
`tracectl tail` runs until Ctrl-C (it gets SIGINT after a few seconds, while spans are posted).

usage: python3 Tests/integration/tour_test.py [BIN_DIR]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from itest import check, free_port  # noqa: E402
import itest  # noqa: E402

MARK = "@@tour-command@@"


def tour_commands(readme):
    """The tour block's commands: comments dropped, continued lines (a trailing backslash, or a
    quote left open) joined."""
    text = open(readme).read()
    start = text.index("## A five-minute tour")
    block = text[text.index("```sh", start) + 5:text.index("```", text.index("```sh", start) + 5)]
    commands, pending = [], ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = pending + "\n" + line if pending else line
        # Incomplete until bash can parse it (an open quote, a trailing backslash).
        incomplete = subprocess.run(["bash", "-n", "-c", pending], capture_output=True).returncode != 0
        if pending.endswith("\\") or incomplete:
            continue
        commands.append(pending)
        pending = ""
    return commands


def shell_of(cmd, port, bindir):
    """The command as the test runs it: the free port instead of 4318, stand-ins where needed."""
    c = cmd.replace("127.0.0.1:4318", f"127.0.0.1:{port}")
    if c.startswith("swift build"):
        return f"B={bindir}  # (built by the caller)"
    if c.startswith("B="):
        return f"B={bindir}"
    if c.startswith("$B/llmtraced &"):
        return f"$B/llmtraced --listen 127.0.0.1:{port} > llmtraced.log 2>&1 &\n" \
               f"for i in $(seq 100); do curl -sf http://127.0.0.1:{port}/healthz >/dev/null && break; sleep 0.1; done"
    if "my_llm_app.py" in c:
        return c.replace("python my_llm_app.py", f"{sys.executable} {HERE}/otel_workload.py --export")
    if c.startswith("$B/tracectl tail"):
        # Runs until Ctrl-C: interrupted after 4 s, while 60 more spans arrive.
        cmd = c.split("#")[0].strip()
        return f"(sleep 1.5; $B/llmtrace-bench gen --spans 60 --seed 9 | curl -s -o /dev/null -H 'content-type: application/x-ndjson' " \
               f"--data-binary @- http://127.0.0.1:{port}/v1/spans) &\ntimeout --preserve-status -s INT 4 {cmd}; echo \"tail exit $?\"; wait $!"
    return c


def main():
    bindir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                             subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip())
    commands = tour_commands(os.path.join(ROOT, "README.md"))
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="llmtrace-tour-")
    script = ["set -u", "export NO_COLOR=1", f"export LLMTRACE_ENDPOINT=http://127.0.0.1:{port}"]
    for i, c in enumerate(commands):
        # <trace-id> placeholders: the first generated trace (as the README's own trace line picks it).
        # (inside the single-quoted JSON of the scores line, and bare on the command lines).
        c = c.replace('"<trace-id>"', '"\'"$TRACE"\'"').replace("<trace-id>", '"$TRACE"')
        script.append(f"echo '{MARK} {i}'")
        script.append("TRACE=$(head -1 spans.jsonl 2>/dev/null | cut -d'\"' -f4)")
        script.append(shell_of(c, port, bindir) + " 2>&1")
    script.append(f"echo '{MARK} end'")
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no", COLUMNS="140")
    try:
        r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        outputs = {}
        current = None
        for line in r.stdout.splitlines():
            if line.startswith(MARK):
                current = line[len(MARK) + 1:]
                outputs[current] = []
            elif current is not None:
                outputs[current].append(line)
        check(current == "end", f"the tour ran to its end (stopped after command {current}); stderr: {r.stderr[-2000:]}")
        trace_id = open(os.path.join(tmp, "spans.jsonl")).readline().split('"')[3]

        # What each command must print (what the README says or shows).
        expectations = [
            ("swift build -c release", lambda o: True),
            ("B=.build/release", lambda o: True),
            ("$B/llmtraced &", lambda o: True),
            ("my_llm_app.py", lambda o: True),
            ("llmtrace-bench gen --spans 5000 > spans.jsonl", lambda o: o == ""),
            ("/v1/spans", lambda o: o.strip() == '{"accepted":5000,"rejected":0}'),
            ("/v1/scores", lambda o: '"accepted":1' in o and '"rejected":0' in o),
            ("llmtrace-demo --questions 12", lambda o: "answered 11 of 12" in o and "failed 0, dropped 0" in o
             and "scores exported 11, failed 0" in o and len(re.findall(r"^trace [0-9a-f]{32} ", o, re.M)) == 12),
            ('tracectl trace "$(head -1', lambda o: o.startswith(f"Trace {trace_id}") and "helpfulness=" in o and "agent.run" in o),
            ("--full", lambda o: o.startswith(f"Trace {trace_id}") and "--full shows all" not in o),
            ("--json", lambda o: f'"trace_id": "{trace_id}"' in o and '"scores"' in o and '"name": "helpfulness"' in o),
            ("tracectl query \"SELECT model, count()", lambda o: o.splitlines()[0].split()[0] == "model" and "rows" in o.splitlines()[-1]),
            ("tracectl stats --since 24h", lambda o: o.splitlines()[0].split()[:3] == ["service", "model", "calls"] and len(o.splitlines()) > 3
             and not re.search(r"\de-\d", o)),
            ("search --status error", lambda o: "trace_id" in o.splitlines()[0] or "no traces" in o),
            ("search --text 'refund policy'", lambda o: "trace_id" in o.splitlines()[0] and len(o.splitlines()) > 2),
            ("tracectl tail --kind llm", lambda o: "tail exit 0" in o and len(re.findall(r"\b[0-9a-f]{32}\b", o)) >= 5 and " llm " in o),
            ("/api/query", lambda o: o.startswith('{"columns":') and '"rows":' in o),
            ("FROM traces ORDER BY cost_usd DESC LIMIT 5", lambda o: o.splitlines()[0].split() == ["name", "service", "spans", "cost_usd"]
             and not re.search(r"\de-\d", o)),
            ("tracectl drift --baseline 1h..30m", lambda o: ("drifted" in o and any(l.startswith("rank") for l in o.splitlines()[:3])) or "nothing to compare" in o),
            ("source = 'eval' GROUP BY name", lambda o: o.splitlines()[0].split()[:2] == ["name", "count()"] and " row" in o.splitlines()[-1]),
            ("tracectl alerts", lambda o: "no alerts" in o or o.splitlines()[0].split()[:2] == ["state", "id"]),
            ("/metrics | grep", lambda o: re.search(r"^llmtrace_spans_total\{.*\} \d+", o, re.M) is not None),
            ("kill %1; wait", lambda o: True),
            ("tracectl verify", lambda o: "ok" in o.lower() and "error" not in o.lower()),
            ("tracectl import spans.jsonl", lambda o: "5000" in o and "already stored" in o),
        ]
        for i, c in enumerate(commands):
            out = "\n".join(outputs.get(str(i), []))
            matched = [f for key, f in expectations if key in c]
            check(len(matched) >= 1, f"README tour command has no check in tour_test.py: {c!r}")
            check(all(f(out) for f in matched), f"README tour command {c!r} printed:\n{out[:1500]}\n...\n{out[-1500:]}")
            print(f"ok  {c.splitlines()[0][:100]}", flush=True)
            if os.environ.get("TOUR_SHOW"):
                print("    " + "\n    ".join(out.splitlines()[:14]), flush=True)
        print(f"tour test: {itest.checks} checks passed ({len(commands)} commands)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
