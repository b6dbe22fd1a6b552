"""A ClickHouse cluster of N shards on 127.0.0.1, one clickhouse-server process each, for the tests
and for trying "Scaling out" on one machine. No systemd and no ZooKeeper: each server gets its own
config (ports, paths, a `remote_servers` entry naming every shard as cluster `llmtrace`), is
started from it and stopped by PID. Installs Debian's clickhouse-server when it is missing (as root).

usage: python3 Tests/integration/clickhouse_cluster.py DIR [SHARDS]
       (starts the cluster, prints the --clickhouse URL, stops it on Ctrl-C)
"""
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from itest import free_port  # noqa: E402


def ensure_installed():
    if shutil.which("clickhouse-server"):
        return
    if os.geteuid() != 0:
        sys.exit("clickhouse-server is not installed (apt-get install clickhouse-server clickhouse-client)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "clickhouse-server", "clickhouse-client"], check=True, env=env, timeout=900)


class Shard:
    def __init__(self, root, index, http_port, tcp_port):
        self.dir = os.path.join(root, f"shard{index + 1}")
        self.index = index
        self.http_port = http_port
        self.tcp_port = tcp_port
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def write_config(self, shards):
        for sub in ("data", "tmp", "log"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        remote = "".join(f"<shard><replica><host>127.0.0.1</host><port>{s.tcp_port}</port></replica></shard>" for s in shards)
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write("<yandex><profiles><default/></profiles><users><default><password></password>"
                    "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota>"
                    "</default></users><quotas><default/></quotas></yandex>")
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(f"""<yandex>
<logger><level>warning</level><log>{self.dir}/log/server.log</log><errorlog>{self.dir}/log/error.log</errorlog></logger>
<http_port>{self.http_port}</http_port><tcp_port>{self.tcp_port}</tcp_port><listen_host>127.0.0.1</listen_host>
<path>{self.dir}/data/</path><tmp_path>{self.dir}/tmp/</tmp_path><users_config>{self.dir}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>0</uncompressed_cache_size>
<remote_servers><llmtrace>{remote}</llmtrace></remote_servers>
</yandex>""")

    def start(self, timeout=60):
        self.proc = subprocess.Popen(["clickhouse-server", f"--config-file={self.dir}/config.xml"],
                                     stdout=open(os.path.join(self.dir, "stdout.log"), "ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse-server for {self.dir} exited with {self.proc.returncode}; see {self.dir}/log")
            try:
                urllib.request.urlopen(self.url + "/ping", timeout=1).read()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"clickhouse-server on {self.url} did not answer within {timeout} s")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def query(self, sql, timeout=30):
        req = urllib.request.Request(self.url + "/", data=sql.encode())
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode()


class Cluster:
    def __init__(self, root, shards=2):
        ensure_installed()
        os.makedirs(root, exist_ok=True)
        self.shards = [Shard(root, i, free_port(), free_port()) for i in range(shards)]
        for s in self.shards:
            s.write_config(self.shards)

    def start(self):
        for s in self.shards:
            s.start()
        return self

    def stop(self):
        for s in self.shards:
            s.stop()

    def url(self, database="llmtrace"):
        return ",".join(s.url for s in self.shards) + f"?cluster=llmtrace" + ("" if database == "llmtrace" else f"&database={database}")

    def query(self, sql):
        return self.shards[0].query(sql)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    c = Cluster(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2).start()
    print(c.url(), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
