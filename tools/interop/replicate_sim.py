#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An independent Replicate HTTP API simulator, written from
docs/replicate-protocol.md alone (not from tests/fake), for interop checks.

Standard library only.  Two listeners: the API on --host:--port and the SSE
stream on --stream-host:--stream-port (a different host name form, so the
stream URL is a different origin than the API).

Answers are a pure function of (model alias, sha256 of the image bytes,
prompt): see answer_tokens().  Scenarios are picked by words in the prompt:

  FAILME     the prediction fails after a few tokens (error event, done
             reason "error", status "failed")
  DROPME     the first stream connection drops (socket closed) half-way
  DROPALL    every stream connection drops half-way (client must poll)
  EOFME      the stream ends cleanly half-way without a done event
  THROTTLE   the first create of this input answers 429 (retry_after in body)
  THROTTLEH  ditto with only a Retry-After header
  THROTTLEF  ditto with a fractional retry_after (1.5)
  SLOW       tokens come 20x slower
  STREAMERR  the first stream connection answers 503
  ERRNODONE  with FAILME: the error event is not followed by done
  CANCELEXT  Replicate cancels the prediction itself half-way
  HOLDOPEN   the stream stays open 20 s after done
  LONGME     one output event of ~180 KB
  MANYTOK    3000 more tokens
  FORMULA    the answer starts with "=HYPERLINK(...)" (CSV injection)
  REDIRECTME prediction GETs answer 307 to another origin
  FOREIGNSTREAM  urls.stream is on http://streaming.invalid

Per prediction (from its id) it also varies: LF / CRLF / CR line ends,
": hi", logs and unknown events, "retry:", id formats (or none), "data:"
with or without the space, an opaque /v1/streams/... URL, a charset on
text/event-stream, and 200/201/202 on create. JSON answers vary their
Content-Type charset, unicode escapes, gzip and chunked encoding. Options add
random 429s and 5xx (--throttle-create, --throttle-get, --fail-get,
--throttle-files), a lag before GET shows a finished status
(--status-lag), idle keep-alive closes (--idle-close) and ':408' for
streams opened late (--late-stream). Every request is logged as one JSON
line (the token value is never written).
"""

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import re
import socket
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

# --------------------------------------------------------------------------
# Models (§10.1, §11)

def _prop (typ, title, order, **kw):
  d = {"type": typ, "title": title, "x-order": order}
  d.update (kw)
  return d

ITER_OUTPUT = {"type": "array", "items": {"type": "string"}, "title": "Output",
               "x-cog-array-type": "iterator", "x-cog-array-display": "concatenate"}
STR_OUTPUT = {"type": "string", "title": "Output"}

MODELS = {
  "llava-13b": {
    "owner": "yorickvp", "name": "llava-13b",
    "version": "e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358",
    "stream": True, "output": "array",
    "input": {
      "type": "object", "title": "Input", "required": ["image", "prompt"],
      "properties": {
        "image": _prop ("string", "Image", 0, format="uri", description="Input image"),
        "prompt": _prop ("string", "Prompt", 1, description="Prompt to use for text generation"),
        "top_p": _prop ("number", "Top P", 2, default=1.0, minimum=0.0, maximum=1.0),
        "temperature": _prop ("number", "Temperature", 3, default=0.2, minimum=0.0),
        "max_tokens": _prop ("integer", "Max Tokens", 4, default=1024, minimum=0),
      }},
    "output_schema": ITER_OUTPUT,
  },
  "fuyu-8b": {
    "owner": "lucataco", "name": "fuyu-8b",
    "version": "42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9",
    "stream": False, "output": "string",
    "input": {
      "type": "object", "title": "Input", "required": ["prompt", "image"],
      "properties": {
        # deliberately listed out of x-order
        "max_new_tokens": _prop ("integer", "Max New Tokens", 2, default=512, minimum=0, maximum=2048),
        "image": _prop ("string", "Image", 1, format="uri"),
        "prompt": _prop ("string", "Prompt", 0),
      }},
    "output_schema": STR_OUTPUT,
  },
  "minigpt-4": {
    "owner": "daanelson", "name": "minigpt-4",
    "version": "b96a2f33cc8e4b0aa23eacfce731b9c41a7d9466d9ed4e167375587b54db9423",
    "stream": False, "output": "string",
    "input": {
      "type": "object", "title": "Input", "required": ["image", "prompt"],
      "properties": {
        "image": _prop ("string", "Image", 0, format="uri"),
        "prompt": _prop ("string", "Prompt", 1),
        "num_beams": _prop ("integer", "Num Beams", 2, default=3, minimum=1, maximum=10),
        "temperature": _prop ("number", "Temperature", 3, default=1.0, minimum=0.01, maximum=2.0),
        "top_p": _prop ("number", "Top P", 4, default=0.9, minimum=0.0, maximum=1.0),
        "repetition_penalty": _prop ("number", "Repetition Penalty", 5, default=1.0, minimum=0.01, maximum=5.0),
        "max_new_tokens": _prop ("integer", "Max New Tokens", 6, default=3000, minimum=1),
        "max_length": _prop ("integer", "Max Length", 7, default=4000, minimum=1),
      }},
    "output_schema": STR_OUTPUT,
  },
  "cogvlm": {
    "owner": "naklecha", "name": "cogvlm",
    "version": "ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2",
    # streams, but its GET output is a plain string
    "stream": True, "output": "string",
    "input": {
      "type": "object", "title": "Input",
      "properties": {
        "image": _prop ("string", "Image", 0, format="uri", description="input image"),
        "prompt": _prop ("string", "Prompt", 1),
      }},
    "output_schema": STR_OUTPUT,
  },
}

BY_VERSION = {m["version"]: a for a, m in MODELS.items ()}
BY_NAME = {"%s/%s" % (m["owner"], m["name"]): a for a, m in MODELS.items ()}
# A newer "latest" version per model: the client must still use the pinned one.
LATEST = {a: hashlib.sha256 (("latest-" + a).encode ()).hexdigest () for a in MODELS}
BY_LATEST = {v: a for a, v in LATEST.items ()}

# --------------------------------------------------------------------------
# Answers: a pure function of alias, image bytes and prompt

WORDS = [" the", " image", " shows", " a", " café", " naïve", " 🙂", ",", " and",
         "\n", "\n\n", " über", " data: x", ": colon", " ", " id: 7", " event: done",
         "\t tab", " \"quoted\"", " <b>", " x", " 東京", " =1+1", "-",
         " retry: 5", " end", " a|b", " | pipe", " *star*", " [link](x)"]


def answer_tokens (alias, img_sha, prompt):
  ph = hashlib.sha256 (prompt.encode ("utf-8")).hexdigest ()
  seed = hashlib.sha256 (("%s|%s|%s" % (alias, img_sha, prompt)).encode ("utf-8")).digest ()
  rng = random.Random (seed)
  toks = [alias, " img=" + img_sha[:12], " q=" + ph[:12], ":"]
  if "FORMULA" in prompt:
    toks.insert (0, "=HYPERLINK(\"http://x\") ")
  for _ in range (rng.randint (20, 50)):
    toks.append (rng.choice (WORDS))
  if "LONGME" in prompt:
    toks.append (" " + "long7 " * 30000)
  if "MANYTOK" in prompt:
    toks += [rng.choice (WORDS) for _ in range (3000)]
  toks.append (" END.")
  return toks


def answer_text (alias, img_sha, prompt):
  return "".join (answer_tokens (alias, img_sha, prompt))


# --------------------------------------------------------------------------

ALPH = "abcdefghijklmnopqrstuvwxyz234567"


class State:
  def __init__ (self, args):
    self.args = args
    self.lock = threading.Lock ()
    self.preds = {}
    self.files = {}
    self.log_lock = threading.Lock ()
    self.log = open (args.log, "a", encoding="utf-8") if args.log else None
    self.n_create = 0
    self.n_get = 0
    self.throttled = set ()
    self.stream_conns = {}
    self.rng = random.Random (args.seed)
    self.fault_rng = random.Random (args.seed + 1)

  def chance (self, one_in):
    with self.lock:
      return self.fault_rng.randrange (one_in) == 0

  def new_id (self, n=26):
    with self.lock:
      return "".join (self.rng.choice (ALPH) for _ in range (n))

  def write_log (self, rec):
    if not self.log:
      return
    with self.log_lock:
      self.log.write (json.dumps (rec, ensure_ascii=False) + "\n")
      self.log.flush ()


STATE = None


def now_rfc3339 (t=None):
  t = time.time () if t is None else t
  frac = ("%.9f" % (t % 1))[2:]
  # variable fractional digits, as observed
  frac = frac[: random.choice ([3, 6, 9])]
  return time.strftime ("%Y-%m-%dT%H:%M:%S", time.gmtime (t)) + "." + frac + "Z"


class Prediction:
  def __init__ (self, pid, alias, version, inp, img_sha, prompt):
    self.id = pid
    self.alias = alias
    self.version = version
    self.input = inp
    self.img_sha = img_sha
    self.prompt = prompt
    self.created = time.time ()
    self.tokens = answer_tokens (alias, img_sha, prompt)
    self.step = STATE.args.token_delay * (20 if "SLOW" in prompt else 1)
    self.start_delay = 0.05
    self.canceled_at = None
    self.fail_after = len (self.tokens) // 3 if "FAILME" in prompt else None
    h = int (hashlib.sha256 (pid.encode ()).hexdigest (), 16)
    self.eol = ["\n", "\r\n", "\r"][h % 3]
    self.id_style = (h >> 4) % 3
    self.hi = (h >> 8) % 2 == 0
    self.logs_events = (h >> 9) % 2 == 0
    self.nospace = (h >> 10) % 2 == 0
    self.opaque_stream = (h >> 11) % 2 == 0
    self.sse_charset = (h >> 12) % 2 == 0
    self.unknown_events = (h >> 13) % 2 == 0
    self.create_status = [201, 201, 202, 200][(h >> 14) % 4]
    if "MANYTOK" in prompt:
      self.step = self.step / 20
    self.completed_at = None
    self.ext_cancel = "CANCELEXT" in prompt

  # tokens produced up to time t (count), and terminal status
  def progress (self, t=None):
    t = time.time () if t is None else t
    limit = len (self.tokens) if self.fail_after is None else self.fail_after
    if self.ext_cancel:
      limit = len (self.tokens) // 2
    if self.canceled_at is not None:
      t = min (t, self.canceled_at)
    el = t - self.created - self.start_delay
    n = 0 if el < 0 else min (limit, int (el / self.step) + 1)
    if self.canceled_at is not None and n < limit:
      return n, "canceled"
    if n >= limit and self.ext_cancel:
      if self.completed_at is None:
        self.completed_at = time.time ()
      return limit, "canceled"
    if n >= limit:
      if self.completed_at is None:
        self.completed_at = time.time ()
      return limit, ("failed" if self.fail_after is not None else "succeeded")
    return n, ("starting" if el < 0 else "processing")

  def token_time (self, i):
    return self.created + self.start_delay + i * self.step

  def to_json (self, api_base, stream_base):
    n, status = self.progress ()
    if (status in ("succeeded", "failed") and STATE.args.status_lag > 0 and
        time.time () - self.completed_at < STATE.args.status_lag):
      # the stream's done can come before the API record is updated
      status = "processing"
      n = max (0, n - 1)
    m = MODELS[self.alias]
    if MODELS[self.alias]["output"] == "array":
      output = ([""] + self.tokens[:n]) if status != "starting" else None
    else:
      output = "".join (self.tokens[:n]) if status == "succeeded" else None
    d = {
      "id": self.id,
      "model": "%s/%s" % (m["owner"], m["name"]),
      "version": self.version,
      "input": self.input,
      "logs": "" if status == "starting" else "loading model\nrunning\n",
      "output": output,
      "data_removed": False,
      "error": "CUDA out of memory (sim) for %s" % self.id if status == "failed" else None,
      "status": status,
      "source": "api",
      "created_at": now_rfc3339 (self.created),
      "urls": {
        "get": "%s/v1/predictions/%s" % (api_base, self.id),
        "cancel": "%s/v1/predictions/%s/cancel" % (api_base, self.id),
        "web": "https://replicate.com/p/%s" % self.id,
      },
    }
    if m["stream"]:
      if self.opaque_stream:
        d["urls"]["stream"] = "%s/v1/streams/%s?ts=%d" % (stream_base, base64.urlsafe_b64encode (self.id.encode ()).decode ().rstrip ("="), int (self.created))
      else:
        d["urls"]["stream"] = "%s/v1/predictions/%s" % (stream_base, self.id)
    if m["stream"] and "FOREIGNSTREAM" in self.prompt:
      # a stream on a host that is neither the API's nor loopback, over http
      d["urls"]["stream"] = "http://streaming.invalid/v1/predictions/%s" % self.id
    d["deadline"] = now_rfc3339 (self.created + 1800)
    d["deployment"] = None
    if (int (hashlib.md5 (self.id.encode ()).hexdigest (), 16) % 4) == 0 and status in ("starting", "canceled"):
      d["logs"] = None
    if status != "starting":
      d["started_at"] = now_rfc3339 (self.created + self.start_delay)
    if status in ("succeeded", "failed", "canceled"):
      d["completed_at"] = now_rfc3339 ()
      d["metrics"] = {"predict_time": round (n * self.step, 6), "total_time": round (time.time () - self.created, 6)}
    return d


# --------------------------------------------------------------------------

def problem (status, title, detail, **extra):
  d = {"title": title, "detail": detail, "status": status}
  d.update (extra)
  return d


def summarize_body (ctype, body):
  if not body:
    return None
  if ctype.startswith ("multipart/"):
    parts = parse_multipart (ctype, body) or []
    return {"multipart": [{"name": p["name"], "filename": p["filename"], "content_type": p["ctype"],
                           "size": len (p["data"]), "sha256": hashlib.sha256 (p["data"]).hexdigest ()}
                          for p in parts]}
  try:
    j = json.loads (body.decode ("utf-8"))
  except Exception:
    return {"raw_len": len (body)}

  def shrink (v):
    if isinstance (v, str) and v.startswith ("data:") and len (v) > 200:
      return "%s…(%d chars)" % (v[:60], len (v))
    if isinstance (v, dict):
      return {k: shrink (x) for k, x in v.items ()}
    return v
  return shrink (j)


def parse_multipart (ctype, body):
  m = re.search (r'boundary="?([^";]+)"?', ctype)
  if not m:
    return None
  b = b"--" + m.group (1).encode ()
  parts = []
  for chunk in body.split (b)[1:]:
    if chunk.startswith (b"--"):
      break
    if chunk.startswith (b"\r\n"):
      chunk = chunk[2:]
    head, sep, data = chunk.partition (b"\r\n\r\n")
    if not sep:
      return None
    if data.endswith (b"\r\n"):
      data = data[:-2]
    hdrs = {}
    for line in head.decode ("utf-8", "replace").split ("\r\n"):
      k, _, v = line.partition (":")
      hdrs[k.strip ().lower ()] = v.strip ()
    cd = hdrs.get ("content-disposition", "")
    nm = re.search (r'\bname="([^"]*)"', cd)
    fn = re.search (r'\bfilename="([^"]*)"', cd)
    parts.append ({"name": nm.group (1) if nm else None, "filename": fn.group (1) if fn else None,
                   "ctype": hdrs.get ("content-type"), "data": data})
  return parts


class Handler (BaseHTTPRequestHandler):
  protocol_version = "HTTP/1.1"
  server_version = "replicate-sim/1.0"

  def log_message (self, fmt, *a):
    pass

  # -- helpers --
  def api_base (self):
    # absolute URLs built from the Host the client used, as web frameworks do
    host = self.headers.get ("Host") or "%s:%d" % (STATE.args.host, STATE.api_port)
    return "http://%s" % host

  def stream_base (self):
    return "http://%s:%d" % (STATE.args.stream_host, STATE.stream_port)

  def read_body (self):
    n = int (self.headers.get ("Content-Length") or 0)
    if self.headers.get ("Transfer-Encoding", "").lower () == "chunked":
      data = b""
      while True:
        ln = int (self.rfile.readline ().strip ().split (b";")[0], 16)
        if ln == 0:
          self.rfile.readline ()
          break
        data += self.rfile.read (ln)
        self.rfile.readline ()
      return data
    return self.rfile.read (n) if n else b""

  def logrec (self, body, status, extra=None):
    hdrs = {}
    for k, v in self.headers.items ():
      if k.lower () == "authorization":
        scheme = v.split (" ", 1)[0]
        tok = v.split (" ", 1)[1] if " " in v else ""
        v = "%s <%s>" % (scheme, "token-ok" if tok == STATE.args.token else "token-WRONG")
      hdrs[k] = v
    rec = {"t": time.time (), "server": self.server.kind, "method": self.command, "path": self.path,
           "headers": hdrs, "body": summarize_body (self.headers.get ("Content-Type", ""), body),
           "status": status}
    if extra:
      rec.update (extra)
    STATE.write_log (rec)

  def send_json (self, status, obj, body, extra_headers=None, ctype=None, extra_log=None):
    data = json.dumps (obj, ensure_ascii=random.random () < 0.5).encode ("utf-8")
    if ctype is None:
      if status >= 400:
        ctype = "application/problem+json"
      else:
        ctype = random.choice (["application/json; charset=UTF-8", "application/json"])
    enc = None
    if "gzip" in (self.headers.get ("Accept-Encoding") or "") and random.random () < 0.5:
      data = gzip.compress (data)
      enc = "gzip"
    chunked = random.random () < 0.3
    self.send_response (status)
    self.send_header ("Content-Type", ctype)
    if enc:
      self.send_header ("Content-Encoding", enc)
    if chunked:
      self.send_header ("Transfer-Encoding", "chunked")
    else:
      self.send_header ("Content-Length", str (len (data)))
    self.send_header ("ratelimit-remaining", "599")
    self.send_header ("ratelimit-reset", "1")
    for k, v in (extra_headers or {}).items ():
      self.send_header (k, v)
    self.end_headers ()
    if self.command != "HEAD":
      if chunked:
        i = 0
        while i < len (data):
          k = random.randint (1, 4096)
          self.wfile.write (b"%x\r\n%s\r\n" % (len (data[i:i + k]), data[i:i + k]))
          i += k
        self.wfile.write (b"0\r\n\r\n")
      else:
        self.wfile.write (data)
    self.logrec (body, status, extra_log)

  def auth_ok (self, body):
    a = self.headers.get ("Authorization", "")
    if a in ("Bearer " + STATE.args.token, "Token " + STATE.args.token):
      return True
    self.send_json (401, problem (401, "Unauthenticated", "You did not pass a valid authentication token"), body)
    return False

  # -- dispatch --
  def do_GET (self):
    self.dispatch ()

  def do_POST (self):
    self.dispatch ()

  def do_DELETE (self):
    self.dispatch ()

  def dispatch (self):
    body = self.read_body ()
    path = urlsplit (self.path).path
    try:
      if self.server.kind == "stream":
        return self.handle_stream (path, body)
      if not self.auth_ok (body):
        return
      return self.handle_api (path, body)
    except (BrokenPipeError, ConnectionResetError):
      pass

  def not_found (self, body):
    self.send_json (404, problem (404, "Not found", "Not found: %s" % self.path), body)

  def handle_api (self, path, body):
    c = self.command
    m = re.fullmatch (r"/v1/predictions/([a-z0-9]+)(/cancel)?", path)
    if c == "POST" and path == "/v1/predictions":
      return self.create (body)
    if m and c == "GET" and not m.group (2):
      return self.get_pred (m.group (1), body)
    if m and c == "POST" and m.group (2):
      return self.cancel (m.group (1), body)
    if c == "POST" and path == "/v1/files":
      return self.file_create (body)
    m = re.fullmatch (r"/v1/files/([A-Za-z0-9]+)", path)
    if m and c in ("GET", "DELETE"):
      f = STATE.files.get (m.group (1))
      if not f:
        return self.not_found (body)
      if c == "DELETE":
        del STATE.files[m.group (1)]
        self.send_response (204)
        self.send_header ("Content-Length", "0")
        self.end_headers ()
        return self.logrec (body, 204)
      return self.send_json (200, f["obj"], body)
    m = re.fullmatch (r"/v1/models/([^/]+)/([^/]+)(/versions(?:/([0-9a-f]+))?)?", path)
    if m and c == "GET":
      return self.model_get (m, body)
    if c == "POST" and re.fullmatch (r"/v1/(models|deployments)/[^/]+/[^/]+/predictions", path):
      return self.send_json (404, problem (404, "Not found", "This sim serves community models by version only"), body)
    return self.not_found (body)

  def model_get (self, m, body):
    alias = BY_NAME.get ("%s/%s" % (m.group (1), m.group (2)))
    if not alias:
      return self.send_json (404, problem (404, "Not found", "Model not found"), body)
    M = MODELS[alias]

    def version (vid):
      inp = json.loads (json.dumps (M["input"]))
      if vid != M["version"]:
        inp["properties"]["seed"] = _prop ("integer", "Seed", 9)
      return {"id": vid, "created_at": "2023-11-01T10:00:00.000000Z", "cog_version": "0.8.6",
              "openapi_schema": {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"},
                                 "paths": {}, "components": {"schemas": {
                                   "Input": inp, "Output": M["output_schema"],
                                   "Status": {"enum": ["starting", "processing", "succeeded", "canceled", "failed"],
                                              "type": "string", "title": "Status"}}}}}
    if m.group (3) is None:
      obj = {"url": "https://replicate.com/%s/%s" % (M["owner"], M["name"]), "owner": M["owner"],
             "name": M["name"], "description": "sim " + alias, "visibility": "public",
             "github_url": None, "paper_url": None, "license_url": None, "run_count": 12345,
             "cover_image_url": None, "default_example": None, "is_official": False,
             "latest_version": version (LATEST[alias])}
      return self.send_json (200, obj, body)
    vid = m.group (4)
    if vid is None:
      return self.send_json (200, {"next": None, "previous": None,
                                   "results": [version (LATEST[alias]), version (M["version"])]}, body)
    if vid not in (M["version"], LATEST[alias]):
      return self.send_json (404, problem (404, "Not found", "Version not found"), body)
    return self.send_json (200, version (vid), body)

  def throttle (self, body, key, kind):
    """Returns True if a 429 was sent."""
    hdr_only = kind == "header"
    obj = {"detail": "Request was throttled. Expected available in 1 second.", "status": 429}
    hdrs = {}
    if kind in ("body", "both"):
      obj["retry_after"] = 1
    if kind in ("header", "both"):
      hdrs["Retry-After"] = "1"
    if kind == "float":
      obj["retry_after"] = 1.5
    if kind == "date":
      hdrs["Retry-After"] = time.strftime ("%a, %d %b %Y %H:%M:%S GMT", time.gmtime (time.time () + 2))
    self.send_json (429, obj, body, extra_headers=hdrs, extra_log={"throttled": key})
    return True

  def create (self, body):
    try:
      req = json.loads (body.decode ("utf-8"))
    except Exception:
      return self.send_json (400, problem (400, "Bad request", "Body is not JSON"), body)
    if not isinstance (req, dict):
      return self.send_json (422, problem (422, "Invalid input", "Body must be an object"), body)
    extra = set (req) - {"version", "input", "webhook", "webhook_events_filter", "stream"}
    if extra:
      return self.send_json (422, problem (422, "Invalid input", "Unexpected field(s): %s" % ", ".join (sorted (extra))), body)
    ver = req.get ("version")
    if isinstance (ver, str) and ":" in ver:
      ver = ver.split (":", 1)[1]
    alias = BY_VERSION.get (ver) or BY_LATEST.get (ver)
    if not alias:
      return self.send_json (422, problem (422, "Invalid version or not permitted",
                                           "The specified version does not exist (or perhaps you don't have permission to use it?)"), body)
    inp = req.get ("input")
    if not isinstance (inp, dict):
      return self.send_json (422, problem (422, "Invalid input", "input is required"), body)
    schema = MODELS[alias]["input"]
    props = dict (schema["properties"])
    if ver in BY_LATEST:
      props["seed"] = {"type": "integer"}
    errs = []
    for k, v in inp.items ():
      if k not in props:
        errs.append ("input: Additional property %s is not allowed" % k)
        continue
      p = props[k]
      t = p["type"]
      ok = ((t == "string" and isinstance (v, str)) or
            (t == "integer" and isinstance (v, int) and not isinstance (v, bool)) or
            (t == "number" and isinstance (v, (int, float)) and not isinstance (v, bool)) or
            (t == "boolean" and isinstance (v, bool)))
      if not ok:
        errs.append ("input.%s: Invalid type. Expected: %s, given: %s" % (k, t, type (v).__name__))
        continue
      if t in ("integer", "number"):
        if "minimum" in p and v < p["minimum"]:
          errs.append ("input.%s: Must be greater than or equal to %s" % (k, p["minimum"]))
        if "maximum" in p and v > p["maximum"]:
          errs.append ("input.%s: Must be less than or equal to %s" % (k, p["maximum"]))
    for k in schema.get ("required", []):
      if k not in inp:
        errs.append ("input: %s is required" % k)
    img = inp.get ("image")
    img_bytes = None
    if isinstance (img, str):
      if img.startswith ("data:"):
        mm = re.fullmatch (r"data:([^;,]+)?(;[^,]*)?,(.*)", img, re.S)
        if not mm or not (mm.group (2) or "").endswith ("base64"):
          errs.append ("input.image: not a base64 data URI")
        else:
          try:
            img_bytes = base64.b64decode (mm.group (3), validate=True)
          except Exception:
            errs.append ("input.image: bad base64")
      else:
        mm = re.fullmatch (r"https://api\.replicate\.com/v1/files/([A-Za-z0-9]+)", img)
        if mm and mm.group (1) in STATE.files:
          img_bytes = STATE.files[mm.group (1)]["data"]
        elif re.match (r"http://(127\.0\.0\.1|localhost):\d+/", img):
          try:
            import urllib.request
            with urllib.request.urlopen (img, timeout=5) as r:
              img_bytes = r.read ()
          except Exception as e:
            errs.append ("input.image: cannot fetch %s: %s" % (img[:100], e))
        else:
          errs.append ("input.image: cannot fetch %s" % img[:100])
    if errs:
      return self.send_json (422, problem (422, "Input validation failed", "; ".join (errs)), body)
    prompt = inp.get ("prompt", "")
    img_sha = hashlib.sha256 (img_bytes or b"").hexdigest ()
    key = hashlib.sha256 (json.dumps ([ver, img_sha, prompt]).encode ()).hexdigest ()
    with STATE.lock:
      STATE.n_create += 1
      n = STATE.n_create
      first = key not in STATE.throttled
      STATE.throttled.add (key)
    if first and "THROTTLEF" in prompt:
      return self.throttle (body, key, "float")
    if first and "THROTTLEH" in prompt:
      return self.throttle (body, key, "header")
    if first and "THROTTLE" in prompt:
      return self.throttle (body, key, "body")
    # about 1 in N, at random: a modulo would lock step with a client's
    # steady retries and starve one prediction, which no rate limiter does
    if STATE.args.throttle_create and STATE.chance (STATE.args.throttle_create):
      return self.throttle (body, key, ["body", "header", "both", "date"][n % 4])
    pid = STATE.new_id ()
    p = Prediction (pid, alias, ver, inp, img_sha, prompt)
    with STATE.lock:
      STATE.preds[pid] = p
    self.send_json (p.create_status, p.to_json (self.api_base (), self.stream_base ()), body,
                    extra_log={"pred": pid, "alias": alias, "img_sha": img_sha,
                               "image_kind": "data" if img.startswith ("data:") else "file",
                               "image_len": len (img)})

  def get_pred (self, pid, body):
    p = STATE.preds.get (pid)
    if not p:
      return self.not_found (body)
    if "REDIRECTME" in p.prompt:
      # a redirect off the API origin: a client must not carry the token there
      self.send_response (307)
      self.send_header ("Location", "http://localhost:%d/leak/v1/predictions/%s" % (STATE.stream_port, pid))
      self.send_header ("Content-Length", "0")
      self.end_headers ()
      return self.logrec (body, 307)
    with STATE.lock:
      STATE.n_get += 1
      n = STATE.n_get
    if STATE.args.throttle_get and STATE.chance (STATE.args.throttle_get):
      return self.throttle (body, pid, "header" if n % 2 else "body")
    if STATE.args.fail_get and STATE.chance (STATE.args.fail_get):
      code = [503, 502, 500][n % 3]
      return self.send_json (code, problem (code, "Service unavailable", "Upstream hiccup (sim)"), body,
                             extra_headers={"Retry-After": "1"} if code == 503 else None)
    self.send_json (200, p.to_json (self.api_base (), self.stream_base ()), body)

  def cancel (self, pid, body):
    p = STATE.preds.get (pid)
    if not p:
      return self.not_found (body)
    _, st = p.progress ()
    if st in ("starting", "processing") and p.canceled_at is None:
      p.canceled_at = time.time ()
    self.send_json (200, p.to_json (self.api_base (), self.stream_base ()), body)

  def file_create (self, body):
    with STATE.lock:
      STATE.n_files = getattr (STATE, "n_files", 0) + 1
      nf = STATE.n_files
    if STATE.args.throttle_files and nf % STATE.args.throttle_files == 1:
      return self.throttle (body, "files-%d" % nf, "body" if nf % 2 else "header")
    ctype = self.headers.get ("Content-Type", "")
    parts = parse_multipart (ctype, body)
    if parts is None:
      return self.send_json (400, problem (400, "Bad request", "Expected multipart/form-data"), body)
    content = [p for p in parts if p["name"] == "content"]
    if len (content) != 1:
      return self.send_json (422, problem (422, "Invalid input", "A single 'content' part is required"), body)
    c = content[0]
    if len (c["data"]) > 100 * 1024 * 1024:
      return self.send_json (413, problem (413, "Content too large", "Files are limited to 100 MiB"), body)
    fid = "".join (random.choice (string.ascii_letters + string.digits) for _ in range (24))
    meta = {}
    for p in parts:
      if p["name"] == "metadata":
        try:
          meta = json.loads (p["data"].decode ())
        except Exception:
          return self.send_json (422, problem (422, "Invalid input", "metadata must be JSON"), body)
    t = time.time ()
    obj = {"id": fid, "name": c["filename"] or "file", "content_type": c["ctype"] or "application/octet-stream",
           "size": len (c["data"]), "etag": hashlib.md5 (c["data"]).hexdigest (),
           "checksums": {"sha256": hashlib.sha256 (c["data"]).hexdigest (), "md5": hashlib.md5 (c["data"]).hexdigest ()},
           "metadata": meta, "created_at": now_rfc3339 (t), "expires_at": now_rfc3339 (t + 86400),
           "urls": {"get": "https://api.replicate.com/v1/files/%s" % fid}}
    STATE.files[fid] = {"obj": obj, "data": c["data"]}
    self.send_json (201, obj, body)

  # -- SSE --
  def handle_stream (self, path, body):
    if path.startswith ("/leak/"):
      p = STATE.preds.get (path.rsplit ("/", 1)[-1])
      self.logrec (body, 200, {"leak": "Authorization" in self.headers})
      return self.send_json (200, p.to_json (self.api_base (), self.stream_base ()) if p else {}, None)
    if path.startswith ("/img/") and STATE.args.images:
      fn = os.path.join (STATE.args.images, os.path.basename (path))
      if os.path.isfile (fn):
        data = open (fn, "rb").read ()
        self.send_response (200)
        self.send_header ("Content-Type", "image/png")
        self.send_header ("Content-Length", str (len (data)))
        self.end_headers ()
        self.wfile.write (data)
        return self.logrec (body, 200)
    m = re.fullmatch (r"/v1/predictions/([a-z0-9]+)", path)
    pid = m.group (1) if m else None
    m2 = re.fullmatch (r"/v1/streams/([A-Za-z0-9_-]+)", path)
    if m2:
      try:
        pid = base64.urlsafe_b64decode (m2.group (1) + "=" * (-len (m2.group (1)) % 4)).decode ()
      except Exception:
        pid = None
    p = STATE.preds.get (pid) if pid and self.command == "GET" else None
    if p and (p.opaque_stream != bool (m2)):
      p = None
    if not p or not MODELS[p.alias]["stream"]:
      data = b"not found"
      self.send_response (404)
      self.send_header ("Content-Type", "text/plain")
      self.send_header ("Content-Length", str (len (data)))
      self.end_headers ()
      self.wfile.write (data)
      return self.logrec (body, 404)
    with STATE.lock:
      conn_no = STATE.stream_conns.get (p.id, 0) + 1
      STATE.stream_conns[p.id] = conn_no
    if "STREAMERR" in p.prompt and conn_no == 1:
      data = b"upstream connect error or disconnect/reset before headers"
      self.send_response (503)
      self.send_header ("Content-Type", "text/plain")
      self.send_header ("Content-Length", str (len (data)))
      self.end_headers ()
      self.wfile.write (data)
      return self.logrec (body, 503, {"pred": p.id, "conn": conn_no})
    last_id = self.headers.get ("Last-Event-ID")
    self.send_response (200)
    self.send_header ("Content-Type", "text/event-stream; charset=utf-8" if p.sse_charset else "text/event-stream")
    self.send_header ("Cache-Control", "no-cache")
    self.send_header ("Transfer-Encoding", "chunked")
    self.end_headers ()
    self.logrec (body, 200, {"pred": p.id, "conn": conn_no})
    rng = random.Random (p.id + str (conn_no))
    eol = p.eol

    def send (txt, final=False):
      data = txt.encode ("utf-8")
      # chunk boundaries anywhere, even inside a UTF-8 sequence
      i = 0
      while i < len (data):
        k = rng.randint (1, 7)
        piece = data[i:i + k]
        self.wfile.write (b"%x\r\n%s\r\n" % (len (piece), piece))
        i += k
      self.wfile.flush ()

    def event (name, data, eid=None):
      out = []
      sp = "" if p.nospace else " "
      if name != "message":
        out.append ("event:" + sp + name)
      if eid is not None:
        out.append ("id:" + sp + eid)
      for line in data.split ("\n"):
        if p.nospace and line and not line.startswith (" "):
          out.append ("data:" + line)
        else:
          out.append ("data: " + line)
      return eol.join (out) + eol + eol

    def eid_of (i):
      if p.id_style == 0:
        return "%d:%d" % (int (p.created), i)
      if p.id_style == 1:
        return "%s-%d" % (p.id[:6], i)
      return None

    start = 0
    if last_id:
      for i in range (len (p.tokens)):
        if eid_of (i) == last_id:
          start = i + 1
    drop_at = None
    if ("DROPME" in p.prompt and conn_no == 1) or "DROPALL" in p.prompt:
      drop_at = len (p.tokens) // 2
    eof_at = len (p.tokens) // 2 if ("EOFME" in p.prompt and conn_no == 1) else None
    if p.hi:
      send (": hi" + eol + eol)
    p.progress ()
    if p.completed_at is not None and time.time () - p.completed_at > STATE.args.late_stream:
      # nchan no longer holds it: a timeout comment, then the end, no done
      send (":408: 408 Request Timeout" + eol + eol)
      self.wfile.write (b"0\r\n\r\n")
      self.wfile.flush ()
      STATE.write_log ({"t": time.time (), "server": "stream", "event": "late-408", "pred": p.id})
      return
    if p.unknown_events:
      send ("retry: 3000" + eol + eol)
      send (event ("ping", "{}"))
    # cogvlm: fewer, larger (multi-line) output events
    if p.alias == "cogvlm":
      groups, cur = [], []
      for i, t in enumerate (p.tokens):
        cur.append (i)
        if len (cur) >= 9:
          groups.append (cur)
          cur = []
      if cur:
        groups.append (cur)
    else:
      groups = [[i] for i in range (len (p.tokens))]
    i_sent = start
    for g in groups:
      if g[-1] < start:
        continue
      if drop_at is not None and g[-1] >= drop_at:
        self.wfile.flush ()
        self.connection.shutdown (socket.SHUT_RDWR)
        self.close_connection = True
        return
      if eof_at is not None and g[-1] >= eof_at:
        self.wfile.write (b"0\r\n\r\n")
        self.wfile.flush ()
        return
      last = g[-1]
      while True:
        n, st = p.progress ()
        if n > last or st in ("failed", "canceled", "succeeded"):
          break
        time.sleep (min (0.02, p.step))
      n, st = p.progress ()
      if n <= g[0]:
        break  # canceled or failed before this group
      g = [i for i in g if i < n and i >= start]
      if not g:
        continue
      if p.logs_events and rng.random () < 0.2:
        send (event ("logs", "step %d of model %s" % (g[0], p.alias)))
      if rng.random () < 0.1:
        send (": keepalive" + eol)
      if p.unknown_events and rng.random () < 0.1:
        send (event ("metrics", json.dumps ({"tokens": g[-1]})))
      send (event ("output", "".join (p.tokens[i] for i in g), eid_of (g[-1])))
      i_sent = g[-1] + 1
    # terminal
    while True:
      n, st = p.progress ()
      if st in ("failed", "canceled", "succeeded"):
        break
      time.sleep (0.01)
    if st == "failed":
      send (event ("error", json.dumps ({"detail": "CUDA out of memory (sim) for %s" % p.id})))
      if "ERRNODONE" not in p.prompt:
        send (event ("done", json.dumps ({"reason": "error"})))
    elif st == "canceled":
      send (event ("done", json.dumps ({"reason": "canceled"})))
    else:
      send (event ("done", "{}"))
    if "HOLDOPEN" in p.prompt or STATE.args.hold_open:
      # nchan keeps the stream open after done until its own timeout;
      # clients must close on done (protocol notes §12.1)
      hold = STATE.args.hold_open or 20.0
      t_end = time.time () + hold
      while time.time () < t_end:
        time.sleep (0.1)
        if self.connection.fileno () < 0:
          return
      send (":408: 408 Request Timeout" + eol + eol)
    self.wfile.write (b"0\r\n\r\n")
    self.wfile.flush ()


def main ():
  global STATE
  ap = argparse.ArgumentParser ()
  ap.add_argument ("--host", default="127.0.0.1")
  ap.add_argument ("--port", type=int, default=0)
  ap.add_argument ("--stream-host", default="localhost")
  ap.add_argument ("--stream-port", type=int, default=0)
  ap.add_argument ("--token", required=True)
  ap.add_argument ("--log")
  ap.add_argument ("--seed", type=int, default=1)
  ap.add_argument ("--token-delay", type=float, default=0.005)
  ap.add_argument ("--throttle-create", type=int, default=0, help="429 on about 1 in N creates")
  ap.add_argument ("--throttle-get", type=int, default=0, help="429 on about 1 in N prediction GETs")
  ap.add_argument ("--status-lag", type=float, default=0.0,
                   help="GET shows a finished prediction as processing (last token missing) for this long")
  ap.add_argument ("--idle-close", type=float, default=0.0,
                   help="close idle keep-alive API connections after this many seconds")
  ap.add_argument ("--throttle-files", type=int, default=0, help="429 on every Nth file upload (first one included)")
  ap.add_argument ("--images", help="serve the files of this directory at <stream origin>/img/NAME")
  ap.add_argument ("--hold-open", type=float, default=0.0,
                   help="keep every stream open this long after done (default: only HOLDOPEN prompts, 20 s)")
  ap.add_argument ("--fail-get", type=int, default=0, help="5xx on about 1 in N prediction GETs")
  ap.add_argument ("--late-stream", type=float, default=2.0,
                   help="a stream opened this long after the prediction ended only gets ':408'")
  ap.add_argument ("--ready-file", help="write 'API_PORT STREAM_PORT' here once listening")
  args = ap.parse_args ()
  STATE = State (args)

  class Srv (ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

  class ApiHandler (Handler):
    timeout = args.idle_close or None

  api = Srv ((args.host, args.port), ApiHandler)
  api.kind = "api"
  stream_addr = "127.0.0.1" if args.stream_host == "localhost" else args.stream_host
  st = Srv ((stream_addr, args.stream_port), Handler)
  st.kind = "stream"
  STATE.api_port = api.server_address[1]
  STATE.stream_port = st.server_address[1]
  threading.Thread (target=st.serve_forever, daemon=True).start ()
  if args.ready_file:
    with open (args.ready_file + ".tmp", "w") as f:
      f.write ("%d %d\n" % (STATE.api_port, STATE.stream_port))
    os.rename (args.ready_file + ".tmp", args.ready_file)
  print ("replicate-sim: api http://%s:%d stream http://%s:%d" %
         (args.host, STATE.api_port, args.stream_host, STATE.stream_port), flush=True)
  try:
    api.serve_forever ()
  except KeyboardInterrupt:
    pass


if __name__ == "__main__":
  main ()
