"""HTTP load generation with wrk, for benchmarking GraphQL servers on this machine.

wrk is driven by a generated Lua script so that one run can mix several request bodies
(e.g. reads and writes), count GraphQL-level errors that arrive with status 200, and hand
every figure back as JSON instead of us scraping wrk's human-oriented text output.

A body may be a template, so that each request of a write workload does new work: `@SEQ@` is
replaced by a number unique within the run, `@SEQ:a|b|c@` by one of the choices picked by that
number. `fill` does the same in Python, for requests sent outside wrk.

    >>> fill(b'{"title": "Edit @SEQ@", "priority": "@SEQ:HIGH|LOW@"}', 7)
    b'{"title": "Edit 7", "priority": "LOW"}'
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WRK_INSTALL_HINT = "install it with `sudo apt-get install wrk` (Debian/Ubuntu package `wrk`)"

SEQUENCE = re.compile(rb"@SEQ(?::([^@]*))?@")

# Slack on top of duration + timeout before we give up on a wrk process that hangs: wrk only
# stops after its in-flight requests finish or time out.
_WRK_GRACE_S = 30.0


@dataclass(frozen=True)
class LoadResult:
    requests: int  # completed responses, whatever their status
    duration_s: float
    requests_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_mean_ms: float
    latency_max_ms: float
    connect_errors: int
    read_errors: int
    write_errors: int
    timeout_errors: int
    non_2xx: int
    # Responses whose body has a non-empty `"errors"` list anywhere, whatever their status:
    # GraphQL's own errors, or a mutation payload's typed errors (`"errors":[]` is success).
    graphql_errors: int
    failed_responses: int  # responses that are non-2xx or carry `"errors"`, each counted once
    connections: int
    threads: int
    # Requests issued per body, in the order given. wrk calls request() once more before the
    # run to validate the script, so the first thread's pick is one over what was sent.
    sent_per_body: tuple[int, ...]

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeout_errors

    @property
    def total_errors(self) -> int:
        # failed_responses rather than non_2xx + graphql_errors: a 400 carrying `"errors"`
        # is one failure, not two.
        return self.socket_errors + self.failed_responses


def ensure_wrk() -> str:
    """Path of the wrk binary, installing the Debian package when we are allowed to."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"wrk is not installed: {WRK_INSTALL_HINT}")
    _apt_install_wrk()
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError(f"apt-get installed wrk but it is not on PATH: {WRK_INSTALL_HINT}")
    return found


def _apt_install_wrk() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode == 0:
        return
    # A fresh machine often has no package lists yet; refreshing them is slow, so only then.
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
    retry = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if retry.returncode != 0:
        raise RuntimeError(
            f"could not install wrk ({WRK_INSTALL_HINT}):\n{retry.stderr.strip()[-2000:]}"
        )


def check_local_url(url: str) -> None:
    """Refuse any target but this machine's loopback: load elsewhere is forbidden here."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname or ""
    if host == "localhost":
        # /etc/hosts could map localhost anywhere; wrk resolves it the same way we do here.
        addrs = {str(info[4][0]) for info in socket.getaddrinfo(host, parts.port or 80)}
        if addrs and all(_is_loopback(a) for a in addrs):
            return
    elif _is_loopback(host):
        return
    raise ValueError(f"refusing to load {url!r}: only 127.0.0.1 / localhost / [::1] targets")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def run_wrk(
    url: str,
    bodies: list[tuple[float, bytes]] | bytes,
    *,
    concurrency: int,
    duration_s: float,
    threads: int = 2,
    timeout_s: float = 10,
) -> LoadResult:
    """POST JSON bodies to `url` with wrk for `duration_s` seconds over `concurrency` connections.

    `bodies` is one body, or `(weight, body)` pairs for a mixed workload. wrk only takes whole
    seconds, so `duration_s` and `timeout_s` are rounded up.
    """
    check_local_url(url)
    weighted = _normalise_bodies(bodies)
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    wrk = ensure_wrk()
    threads = _threads_for(concurrency, threads)
    duration = max(1, math.ceil(duration_s))
    timeout = max(1, math.ceil(timeout_s))
    with tempfile.TemporaryDirectory(prefix="backlog-wrk-") as tmp:
        workdir = Path(tmp)
        out = workdir / "result.json"
        script = workdir / "load.lua"
        body_files = _write_bodies(workdir, [body for _, body in weighted])
        script.write_text(_lua_script(body_files, [w for w, _ in weighted], out))
        cmd = [
            wrk,
            *("-c", str(concurrency), "-t", str(threads)),
            *("-d", f"{duration}s", "--timeout", f"{timeout}s", "--latency"),
            *("-s", str(script), url),
        ]
        _run(cmd, workdir, duration + timeout + _WRK_GRACE_S)
        if not out.exists():
            raise RuntimeError(f"wrk exited without writing its results ({' '.join(cmd)})")
        return _parse_result(json.loads(out.read_text()), len(weighted), concurrency)


def fill(body: bytes, seq: int) -> bytes:
    """`body` with its `@SEQ@` and `@SEQ:a|b@` tokens filled in for the request numbered `seq`,
    exactly as the wrk script fills them."""

    def token(match: re.Match[bytes]) -> bytes:
        if match.group(1) is None:
            return str(seq).encode()
        choices = match.group(1).split(b"|")
        return choices[seq % len(choices)]

    return SEQUENCE.sub(token, body)


def _normalise_bodies(bodies: list[tuple[float, bytes]] | bytes) -> list[tuple[float, bytes]]:
    weighted = [(1.0, bodies)] if isinstance(bodies, bytes | bytearray) else list(bodies)
    if not weighted:
        raise ValueError("no request bodies given")
    if any(not (math.isfinite(w) and w > 0) for w, _ in weighted):
        raise ValueError("body weights must be finite and > 0")
    total = sum(w for w, _ in weighted)
    return [(w / total, bytes(b)) for w, b in weighted]


def _threads_for(concurrency: int, threads: int) -> int:
    # wrk gives each thread concurrency // threads connections, silently dropping the rest;
    # the largest divisor keeps the connection count exactly what the caller asked for.
    threads = max(1, min(threads, concurrency))
    while concurrency % threads:
        threads -= 1
    return threads


def _write_bodies(workdir: Path, bodies: list[bytes]) -> list[Path]:
    # Files rather than Lua literals: arbitrary bytes (quotes, newlines, UTF-8) stay exact.
    paths = []
    for i, body in enumerate(bodies, start=1):
        path = workdir / f"body{i}.json"
        path.write_bytes(body)
        paths.append(path)
    return paths


def _run(cmd: list[str], cwd: Path, limit_s: float) -> None:
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=limit_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"wrk did not finish within {limit_s:.0f}s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-4000:]
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {' '.join(cmd)}\n{detail}")


def _lua_str(text: str) -> str:
    # Decimal escapes for everything outside plain ASCII keep any path valid Lua 5.1 source.
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+ ")
    return '"' + "".join(chr(b) if b in safe else f"\\{b}" for b in text.encode()) + '"'


def _lua_script(body_files: list[Path], weights: list[float], out: Path) -> str:
    files = ", ".join(_lua_str(str(p)) for p in body_files)
    cumulative, acc = [], 0.0
    for w in weights:
        acc += w
        cumulative.append(acc)
    cumulative[-1] = 1.0  # float sums can fall just short of 1 and leave a gap at the top
    bounds = ", ".join(repr(c) for c in cumulative)
    return (
        _LUA_TEMPLATE.replace("@FILES@", files)
        .replace("@BOUNDS@", bounds)
        .replace("@OUT@", _lua_str(str(out)))
    )


# Runs in every wrk thread's own Lua state and in the main state (setup/done). Counters are
# per-thread globals that done() collects with thread:get, the documented way to aggregate.
_LUA_TEMPLATE = r"""
local body_files = { @FILES@ }
local bounds = { @BOUNDS@ }
local out_path = @OUT@

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"

-- main state: remember the threads and number them so each gets its own fixed seed
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

-- thread state
local requests = {}
local templates = {}
local state = 1
local counter = 0
non_2xx = 0
graphql_errors = 0
failed_responses = 0

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  for i, path in ipairs(body_files) do
    local body = read_file(path)
    if string.find(body, "@SEQ", 1, true) then
      templates[i] = body  -- filled per request, see fill()
    else
      requests[i] = wrk.format(nil, nil, nil, body)
    end
    _G["sent_" .. i] = 0
  end
  -- Park-Miller: products stay below 2^53 so the sequence is exact in LuaJIT doubles
  state = (thread_id * 48271) % 2147483647
end

-- As bench/load.py's fill(): @SEQ@ is a number unique in the run (threads never share one),
-- @SEQ:a|b|c@ the choice that number picks.
function fill(template)
  counter = counter + 1
  local seq = counter * 1000 + (thread_id or 0)
  local body = string.gsub(template, "@SEQ:([^@]*)@", function(choices)
    local options = {}
    for option in string.gmatch(choices, "[^|]+") do table.insert(options, option) end
    return options[(seq % #options) + 1]
  end)
  body = string.gsub(body, "@SEQ@", tostring(seq))
  return body
end

function request()
  local i = 1
  if #bounds > 1 then
    state = (state * 16807) % 2147483647
    local r = state / 2147483647
    while r >= bounds[i] and i < #bounds do i = i + 1 end
  end
  _G["sent_" .. i] = _G["sent_" .. i] + 1
  if templates[i] then
    return wrk.format(nil, nil, nil, fill(templates[i]))
  end
  return requests[i]
end

function response(status, headers, body)
  local bad = false
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    bad = true
  end
  -- a non-empty errors list: GraphQL's, or a mutation payload's (an empty one is success)
  if body and string.find(body, '"errors"%s*:%s*%[%s*[^%]%s]') then
    graphql_errors = graphql_errors + 1
    bad = true
  end
  if bad then failed_responses = failed_responses + 1 end
end

local function num(x)
  if x ~= x or x == math.huge or x == -math.huge then return "0" end
  return string.format("%.17g", x)
end

function done(summary, latency, _)
  local totals = { non_2xx = 0, graphql_errors = 0, failed_responses = 0 }
  local sent = {}
  for i = 1, #body_files do sent[i] = 0 end
  for _, t in ipairs(threads) do
    for k, v in pairs(totals) do totals[k] = v + (t:get(k) or 0) end
    for i = 1, #body_files do sent[i] = sent[i] + (t:get("sent_" .. i) or 0) end
  end
  local e = summary.errors
  local fields = {
    '"threads": ' .. #threads,
    '"duration_us": ' .. num(summary.duration),
    '"requests": ' .. num(summary.requests),
    '"bytes": ' .. num(summary.bytes),
    '"connect": ' .. num(e.connect),
    '"read": ' .. num(e.read),
    '"write": ' .. num(e.write),
    '"timeout": ' .. num(e.timeout),
    '"status_over_399": ' .. num(e.status),
    '"non_2xx": ' .. num(totals.non_2xx),
    '"graphql_errors": ' .. num(totals.graphql_errors),
    '"failed_responses": ' .. num(totals.failed_responses),
    '"p50_us": ' .. num(latency:percentile(50)),
    '"p95_us": ' .. num(latency:percentile(95)),
    '"p99_us": ' .. num(latency:percentile(99)),
    '"mean_us": ' .. num(latency.mean),
    '"max_us": ' .. num(latency.max),
    '"sent": [' .. table.concat(sent, ", ") .. ']',
  }
  local f = assert(io.open(out_path, "w"))
  f:write("{" .. table.concat(fields, ", ") .. "}\n")
  f:close()
end
"""


def _parse_result(raw: dict[str, Any], n_bodies: int, connections: int) -> LoadResult:
    duration_s = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    sent = tuple(int(s) for s in raw["sent"])
    if len(sent) != n_bodies:
        raise RuntimeError(f"wrk script reported {len(sent)} bodies, expected {n_bodies}")
    return LoadResult(
        requests=requests,
        duration_s=duration_s,
        requests_per_s=requests / duration_s if duration_s > 0 else 0.0,
        latency_p50_ms=raw["p50_us"] / 1000,
        latency_p95_ms=raw["p95_us"] / 1000,
        latency_p99_ms=raw["p99_us"] / 1000,
        latency_mean_ms=raw["mean_us"] / 1000,
        latency_max_ms=raw["max_us"] / 1000,
        connect_errors=int(raw["connect"]),
        read_errors=int(raw["read"]),
        write_errors=int(raw["write"]),
        timeout_errors=int(raw["timeout"]),
        non_2xx=int(raw["non_2xx"]),
        graphql_errors=int(raw["graphql_errors"]),
        failed_responses=int(raw["failed_responses"]),
        connections=connections,
        threads=int(raw["threads"]),
        sent_per_body=sent,
    )
