"""The parts of scripts/pg-cluster that are clumsy in bash.

Run by Patroni's interpreter (/usr/bin/python3), which has psycopg2: polling
in one process costs far less CPU than a python3 and a psql per poll, which
matters on two cores while three PostgreSQL instances start.

    procs ROOT                        cluster processes under ROOT: pid, exe, cmdline
    status REST_PORTS                 Patroni's /cluster as JSON
    members REST_PORTS                node, name, role, state, timeline, lag (tab-separated)
    wait-healthy TIMEOUT REST_PORTS PG_PORTS
    wait-leader TIMEOUT NOT REST_PORTS PG_PORTS   (NOT: a node number, or 0)

Ports are comma-separated lists in node order (node 1 first).
"""

import json
import os
import sys
import time
import urllib.request

VERBOSE = bool(os.environ.get("PG_CLUSTER_VERBOSE"))
T0 = float(os.environ.get("PG_CLUSTER_T0", time.time()))


def log(msg):
    print(f"pg-cluster: {msg}", file=sys.stderr, flush=True)


class NoAnswer(Exception):
    pass


def cluster(rest_ports):
    """Patroni's /cluster from the first member that answers."""
    for port in rest_ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/cluster", timeout=2) as r:
                return json.load(r)
        except Exception:
            continue
    raise NoAnswer("no Patroni REST API answers")


def members(rest_ports):
    rows = []
    for m in cluster(rest_ports).get("members", []):
        lag = m.get("lag")
        rows.append({
            "node": int(m["name"].removeprefix("node")),
            "name": m["name"],
            "role": m.get("role", "-"),
            "state": m.get("state", "-"),
            "timeline": m.get("timeline", "-"),
            "lag": lag if isinstance(lag, int) else "-",
        })
    return sorted(rows, key=lambda r: r["node"])


def print_members(rows, out=sys.stdout):
    for r in rows:
        print(r["node"], r["name"], r["role"], r["state"], r["timeline"], r["lag"], sep="\t", file=out)


def query(port, sql):
    import psycopg2  # here: procs/status/members do not need it

    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                            connect_timeout=2)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()
    finally:
        conn.close()


# Patroni 3.0 reports replicas as "running"; later versions say "streaming".
UP = ("running", "streaming")


def unhealthy(rest_ports, pg_ports):
    """Why the cluster is not settled yet, or None: one running leader, one sync
    standby, every member running on the leader's timeline, and the leader
    itself out of recovery, streaming to all others, one of them the sync one."""
    rows = members(rest_ports)
    nodes = len(pg_ports)
    if len(rows) != nodes:
        return f"{len(rows)} of {nodes} members registered"
    leaders = [r for r in rows if r["role"] == "leader" and r["state"] == "running"]
    if len(leaders) != 1:
        return "no single running leader"
    leader = leaders[0]
    syncs = [r for r in rows if r["role"] == "sync_standby"]
    if len(syncs) != 1:
        return "no single sync standby"
    behind = [r["name"] for r in rows
              if r["state"] not in UP or r["timeline"] != leader["timeline"]]
    if behind:
        return f"not running on timeline {leader['timeline']}: {', '.join(behind)}"
    # Patroni's view lags behind; ask the leader who actually streams from it.
    try:
        got = query(pg_ports[leader["node"] - 1], """
            SELECT pg_is_in_recovery(),
                   count(*) FILTER (WHERE state = 'streaming'),
                   string_agg(application_name, ',') FILTER (WHERE sync_state = 'sync')
            FROM pg_stat_replication""")
    except Exception as e:
        return f"{leader['name']}: {str(e).strip()}"
    want = (False, nodes - 1, syncs[0]["name"])
    if tuple(got) != want:
        return f"{leader['name']}: in recovery, streaming, sync = {tuple(got)}, want {want}"
    return None


def not_writable(rest_ports, pg_ports, not_node):
    """Why the cluster does not take writes yet, or None and the leader's node:
    a running leader (not not_node) out of recovery with a synchronous standby
    streaming from it (strict synchronous mode holds every commit until one
    is). Asked of PostgreSQL itself: Patroni records the sync standby in etcd
    seconds after commits already go through."""
    rows = members(rest_ports)
    leaders = [r for r in rows if r["role"] == "leader" and r["state"] == "running"
               and r["node"] != not_node]
    if len(leaders) != 1:
        return "no running leader" + (f" other than node{not_node}" if not_node else ""), None
    leader = leaders[0]
    try:
        got = query(pg_ports[leader["node"] - 1], """
            SELECT pg_is_in_recovery(),
                   EXISTS (SELECT FROM pg_stat_replication
                           WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum'))""")
    except Exception as e:
        return f"{leader['name']}: {str(e).strip()}", None
    if got[0]:
        return f"{leader['name']} is still in recovery", None
    if not got[1]:
        return f"{leader['name']} has no synchronous standby streaming", None
    return None, leader["node"]


def wait(timeout, check):
    """Poll check() until it returns no reason; exit 1 after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            reason, result = check()
        except NoAnswer as e:
            reason, result = str(e), None
        if reason is None:
            return result
        if VERBOSE and reason != last:
            log(f"{time.time() - T0:6.2f}s waiting: {reason}")
            last = reason
        if time.monotonic() >= deadline:
            log(f"not settled after {timeout:g}s: {reason}")
            try:
                print_members(members(check.rest_ports), out=sys.stderr)
            except NoAnswer:
                pass
            sys.exit(1)
        time.sleep(0.2)


def procs(root):
    """PIDs of cluster processes: cwd under root, or root in the command line."""
    names = ("postgres", "pg_basebackup", "pg_rewind", "pg_ctl", "initdb", "etcd", "patroni")
    me = {os.getpid(), os.getppid()}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) in me:
            continue
        try:
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
            if not (exe in names or exe.startswith("python3")):
                continue
            cwd = os.readlink(f"/proc/{pid}/cwd")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone, or a zombie
        if cwd == root or cwd.startswith(root + "/") or (root + "/") in cmd:
            print(pid, exe, cmd, sep="\t")


def main(argv):
    what, args = argv[0], argv[1:]
    ports = lambda s: s.split(",")  # noqa: E731
    try:
        if what == "procs":
            procs(args[0])
        elif what == "status":
            json.dump(cluster(ports(args[0])), sys.stdout, indent=2)
            print()
        elif what == "members":
            print_members(members(ports(args[0])))
        elif what == "wait-healthy":
            rest, pg = ports(args[1]), ports(args[2])

            def check():
                return unhealthy(rest, pg), None
            check.rest_ports = rest
            wait(float(args[0]), check)
        elif what == "wait-leader":
            rest, pg, not_node = ports(args[2]), ports(args[3]), int(args[1])

            def check():
                return not_writable(rest, pg, not_node)
            check.rest_ports = rest
            print(wait(float(args[0]), check))
        else:
            sys.exit(f"pg-cluster-helper: unknown command {what}")
    except NoAnswer as e:
        sys.exit(f"pg-cluster: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
