#!/usr/bin/env python3
"""A small MongoDB server for the mongo suite: the OP_MSG wire protocol (kind-0 and kind-1
sections), BSON, SCRAM-SHA-1 and MONGODB-CR logins, and the commands the tests use, with the
documents kept in memory.

It checks every request against the wire spec (header, opcode, flagBits, sections, no
checksum, $db) and counts what it finds wrong; the test reads the count with the testStats
command. A few test* commands make it misbehave on purpose: close the connection, send half
a reply, or send malformed bytes.

Usage: mongoserver.py <portfile> [--primary HOST:PORT|none]
(listens on a free loopback port and writes it to portfile; with --primary it answers hello
as a secondary of a replica set whose primary is HOST:PORT, or that has none)
"""

import base64
import copy
import hashlib
import hmac
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time

# ------------------------------------------------------------------------------------ BSON


class Int64(int):
    pass


class ObjectId:
    def __init__(self, raw=None):
        self.raw = raw if raw is not None else os.urandom(12)

    def __eq__(self, other):
        return isinstance(other, ObjectId) and other.raw == self.raw

    def __hash__(self):
        return hash(self.raw)

    def __repr__(self):
        return "ObjectId(%s)" % self.raw.hex()


class Binary:
    def __init__(self, data, subtype=0):
        self.data, self.subtype = data, subtype

    def __eq__(self, other):
        return isinstance(other, Binary) and (other.data, other.subtype) == (self.data, self.subtype)

    def __hash__(self):
        return hash(self.data)


class Tagged:
    """A value kept as its type byte and raw bytes (date, timestamp, regex, min/max key)."""

    def __init__(self, tag, raw):
        self.tag, self.raw = tag, raw

    def __eq__(self, other):
        return isinstance(other, Tagged) and (other.tag, other.raw) == (self.tag, self.raw)

    def __hash__(self):
        return hash((self.tag, self.raw))


class BSONError(Exception):
    pass


def _cstring(buf, i, end):
    j = buf.find(b"\0", i, end)
    if j < 0:
        raise BSONError("unterminated cstring")
    return buf[i:j].decode("utf-8"), j + 1


def decode_doc(buf, i=0, end=None, as_list=False):
    """Decodes the document at buf[i:], which must end by `end`; returns (value, next index)."""
    if end is None:
        end = len(buf)
    if i + 5 > end:
        raise BSONError("document too short")
    (size,) = struct.unpack_from("<i", buf, i)
    if size < 5 or i + size > end:
        raise BSONError("bad document length %d" % size)
    stop = i + size - 1
    if buf[stop] != 0:
        raise BSONError("document not terminated")
    out = {}
    i += 4
    while i < stop:
        t = buf[i]
        key, i = _cstring(buf, i + 1, stop)
        v, i = _decode_value(buf, t, i, stop)
        out[key] = v
    if i != stop:
        raise BSONError("element runs past its document")
    if as_list:
        return list(out.values()), stop + 1
    return out, stop + 1


def _need(i, n, end):
    if i + n > end:
        raise BSONError("value runs past its document")


def _decode_value(buf, t, i, end):
    if t == 0x01:
        _need(i, 8, end)
        return struct.unpack_from("<d", buf, i)[0], i + 8
    if t == 0x02:
        _need(i, 4, end)
        (n,) = struct.unpack_from("<i", buf, i)
        if n < 1 or i + 4 + n > end or buf[i + 3 + n] != 0:
            raise BSONError("bad string")
        return buf[i + 4:i + 3 + n].decode("utf-8"), i + 4 + n
    if t in (0x03, 0x04):
        return decode_doc(buf, i, end, as_list=(t == 0x04))
    if t == 0x05:
        _need(i, 5, end)
        (n,) = struct.unpack_from("<i", buf, i)
        if n < 0:
            raise BSONError("bad binary")
        _need(i, 5 + n, end)
        return Binary(bytes(buf[i + 5:i + 5 + n]), buf[i + 4]), i + 5 + n
    if t == 0x07:
        _need(i, 12, end)
        return ObjectId(bytes(buf[i:i + 12])), i + 12
    if t == 0x08:
        _need(i, 1, end)
        return buf[i] != 0, i + 1
    if t in (0x09, 0x11):
        _need(i, 8, end)
        return Tagged(t, bytes(buf[i:i + 8])), i + 8
    if t == 0x0A:
        return None, i
    if t == 0x0B:
        j = i
        _, j = _cstring(buf, j, end)
        _, j = _cstring(buf, j, end)
        return Tagged(t, bytes(buf[i:j])), j
    if t == 0x10:
        _need(i, 4, end)
        return struct.unpack_from("<i", buf, i)[0], i + 4
    if t == 0x12:
        _need(i, 8, end)
        return Int64(struct.unpack_from("<q", buf, i)[0]), i + 8
    if t in (0xFF, 0x7F):
        return Tagged(t, b""), i
    raise BSONError("unknown element type 0x%02x" % t)


def _encode_value(key, v):
    k = key.encode("utf-8") + b"\0"
    if isinstance(v, bool):
        return b"\x08" + k + (b"\1" if v else b"\0")
    if isinstance(v, Int64):
        return b"\x12" + k + struct.pack("<q", v)
    if isinstance(v, int):
        if -2**31 <= v < 2**31:
            return b"\x10" + k + struct.pack("<i", v)
        return b"\x12" + k + struct.pack("<q", v)
    if isinstance(v, float):
        return b"\x01" + k + struct.pack("<d", v)
    if isinstance(v, str):
        s = v.encode("utf-8")
        return b"\x02" + k + struct.pack("<i", len(s) + 1) + s + b"\0"
    if isinstance(v, dict):
        return b"\x03" + k + encode_doc(v)
    if isinstance(v, (list, tuple)):
        return b"\x04" + k + encode_doc({str(n): x for n, x in enumerate(v)})
    if v is None:
        return b"\x0A" + k
    if isinstance(v, ObjectId):
        return b"\x07" + k + v.raw
    if isinstance(v, Binary):
        return b"\x05" + k + struct.pack("<i", len(v.data)) + bytes([v.subtype]) + v.data
    if isinstance(v, Tagged):
        return bytes([v.tag]) + k + v.raw
    raise BSONError("cannot encode %r" % (v,))


def encode_doc(d):
    body = b"".join(_encode_value(k, v) for k, v in d.items())
    return struct.pack("<i", len(body) + 5) + body + b"\0"


# ------------------------------------------------------------------------------- the store

LOCK = threading.Lock()
DBS = {}            # db name -> collection name -> Collection
CURSORS = {}        # id -> (namespace, remaining documents)
NEXT_CURSOR = [1000]
STATS = {"messages": 0, "violations": [], "moreToCome": 0, "kind1": 0, "connections": 0}
USERS = {("admin", "skynet_user"): "p@ss,word=1", ("app", "appuser"): "app-pass",
         ("admin", "admin"): "123456"}    # the last one is what upstream's testmongodb uses
ITERATIONS = 4096


class Collection:
    def __init__(self):
        self.docs = []
        self.indexes = [{"name": "_id_", "key": {"_id": 1}, "unique": True}]


def violation(msg):
    STATS["violations"].append(msg)


class CommandError(Exception):
    def __init__(self, msg, code=2, name="BadValue"):
        super().__init__(msg)
        self.code, self.name = code, name


def expire(coll):
    """TTL indexes: a document whose date field is older than expireAfterSeconds goes (a
    second late, as mongod's TTL monitor is never immediate)."""
    now = time.time() * 1000
    for idx in coll.indexes:
        ttl = idx.get("expireAfterSeconds")
        if ttl is None or len(idx["key"]) != 1:
            continue
        field = next(iter(idx["key"]))

        def alive(d):
            present, v = get_path(d, field)
            if not (present and isinstance(v, Tagged) and v.tag == 0x09):
                return True
            (ms,) = struct.unpack("<q", v.raw)
            return now < ms + ttl * 1000 + 1000
        coll.docs = [d for d in coll.docs if alive(d)]


def get_coll(db, name, create=False):
    colls = DBS.setdefault(db, {})
    if name not in colls:
        if not create:
            return None
        colls[name] = Collection()
    coll = colls[name]
    expire(coll)
    return coll


# ------------------------------------------------------------------------ query and update

def get_path(doc, path):
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return False, None
    return True, cur


def sort_key(v):
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (3, int(v))
    if isinstance(v, (int, float)):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    return (4, repr(v))


def matches_value(present, value, cond):
    if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
        for op, arg in cond.items():
            if op == "$eq" and not (present and value == arg):
                return False
            if op == "$ne" and present and value == arg:
                return False
            if op in ("$gt", "$gte", "$lt", "$lte"):
                if not present or sort_key(value)[0] != sort_key(arg)[0]:
                    return False
                a, b = sort_key(value), sort_key(arg)
                if (op == "$gt" and not a > b) or (op == "$gte" and not a >= b) or \
                        (op == "$lt" and not a < b) or (op == "$lte" and not a <= b):
                    return False
            if op == "$in" and not (present and value in arg):
                return False
            if op == "$exists" and bool(arg) != present:
                return False
            if op not in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$exists"):
                raise CommandError("unknown operator: " + op)
        return True
    if present and isinstance(value, list) and not isinstance(cond, list):
        return cond in value
    return present and value == cond


def matches(doc, query):
    for k, cond in (query or {}).items():
        if k == "$and":
            if not all(matches(doc, q) for q in cond):
                return False
        elif k == "$or":
            if not any(matches(doc, q) for q in cond):
                return False
        else:
            present, value = get_path(doc, k)
            if not matches_value(present, value, cond):
                return False
    return True


def sort_docs(docs, spec):
    for k, direction in reversed(list((spec or {}).items())):
        docs.sort(key=lambda d: sort_key(get_path(d, k)[1]), reverse=(direction < 0))
    return docs


def project(doc, proj):
    if not proj:
        return doc
    include = {k for k, v in proj.items() if v}
    if include:
        out = {k: v for k, v in doc.items() if k in include}
        if proj.get("_id", 1) and "_id" in doc:
            out = dict([("_id", doc["_id"])] + [(k, v) for k, v in out.items() if k != "_id"])
        return out
    return {k: v for k, v in doc.items() if k not in proj}


def apply_update(doc, upd):
    if upd and all(k.startswith("$") for k in upd):
        for op, fields in upd.items():
            for k, v in fields.items():
                if op == "$set":
                    doc[k] = v
                elif op == "$inc":
                    doc[k] = doc.get(k, 0) + v
                elif op == "$unset":
                    doc.pop(k, None)
                elif op == "$push":
                    doc.setdefault(k, []).append(v)
                else:
                    raise CommandError("Unknown modifier: " + op, 9, "FailedToParse")
        return doc
    new = {"_id": doc["_id"]} if "_id" in doc else {}
    new.update({k: v for k, v in upd.items() if k != "_id"})
    doc.clear()
    doc.update(new)
    return doc


def dup_error(coll, ns, doc, skip=None):
    """The duplicate-key message if doc breaks a unique index of coll, else None."""
    for idx in coll.indexes:
        if not idx.get("unique"):
            continue
        keys = list(idx["key"].keys())
        mine = [get_path(doc, k) for k in keys]
        for other in coll.docs:
            if other is skip:
                continue
            if [get_path(other, k) for k in keys] == mine:
                shown = ", ".join("%s: %r" % (k, v[1]) for k, v in zip(keys, mine))
                return "E11000 duplicate key error collection: %s index: %s dup key: { %s }" % (
                    ns, idx["name"], shown)
    return None


def insert_docs(db, name, docs, ordered=True):
    coll = get_coll(db, name, create=True)
    n, errors = 0, []
    for i, d in enumerate(docs):
        if "_id" not in d:
            d = dict([("_id", ObjectId())] + list(d.items()))
        err = dup_error(coll, db + "." + name, d)
        if err:
            errors.append({"index": i, "code": 11000, "errmsg": err})
            if ordered:
                break
            continue
        coll.docs.append(d)
        n += 1
    return n, errors


def upsert_doc(query, upd):
    base = {k: v for k, v in (query or {}).items()
            if not k.startswith("$") and not (isinstance(v, dict) and any(x.startswith("$") for x in v))}
    doc = dict([("_id", query.get("_id", ObjectId()) if query else ObjectId())] + list(base.items()))
    apply_update(doc, upd)
    if "_id" not in doc:
        doc["_id"] = ObjectId()
    return doc


def update_many(db, name, q, u, upsert, multi):
    """Returns (matched, modified, upserted id or None, error or None)."""
    coll = get_coll(db, name, create=upsert)
    found = [d for d in (coll.docs if coll else []) if matches(d, q)]
    if not multi:
        found = found[:1]
    modified = 0
    for d in found:
        before = encode_doc(d)
        trial = dict(d)
        apply_update(trial, u)
        err = dup_error(coll, db + "." + name, trial, skip=d)
        if err:
            return len(found), modified, None, err
        d.clear()
        d.update(trial)
        if encode_doc(d) != before:
            modified += 1
    if not found and upsert:
        doc = upsert_doc(q, u)
        err = dup_error(coll, db + "." + name, doc)
        if err:
            return 0, 0, None, err
        coll.docs.append(doc)
        return 0, 0, doc["_id"], None
    return len(found), modified, None, None


def delete_many(db, name, q, limit):
    coll = get_coll(db, name)
    if not coll:
        return 0
    gone = [d for d in coll.docs if matches(d, q)]
    if limit:
        gone = gone[:limit]
    ids = {id(d) for d in gone}
    coll.docs = [d for d in coll.docs if id(d) not in ids]
    return len(gone)


def open_cursor(ns, docs, batch_size, single=False):
    first, rest = docs[:batch_size], docs[batch_size:]
    cid = 0
    if rest and not single:
        NEXT_CURSOR[0] += 1
        cid = NEXT_CURSOR[0]
        CURSORS[cid] = (ns, rest)
    return {"cursor": {"firstBatch": first, "id": Int64(cid), "ns": ns}, "ok": 1.0}


def group(docs, spec):
    key_expr = spec.get("_id")
    groups = {}
    order = []
    for d in docs:
        k = get_path(d, key_expr[1:])[1] if isinstance(key_expr, str) and key_expr.startswith("$") else key_expr
        hk = repr(k)
        if hk not in groups:
            groups[hk] = {"_id": k}
            order.append(hk)
        g = groups[hk]
        for field, acc in spec.items():
            if field == "_id":
                continue
            (op, arg), = acc.items()
            if op != "$sum":
                raise CommandError("unsupported accumulator " + op)
            v = get_path(d, arg[1:])[1] if isinstance(arg, str) else arg
            g[field] = g.get(field, 0) + (v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0)
    return [groups[k] for k in order]


def run_pipeline(docs, pipeline):
    for stage in pipeline:
        (op, arg), = stage.items()
        if op == "$match":
            docs = [d for d in docs if matches(d, arg)]
        elif op == "$sort":
            docs = sort_docs(list(docs), arg)
        elif op == "$skip":
            docs = docs[arg:]
        elif op == "$limit":
            docs = docs[:arg]
        elif op == "$count":
            docs = [{arg: len(docs)}] if docs else []
        elif op == "$group":
            docs = group(docs, arg)
        elif op == "$project":
            docs = [project(d, arg) for d in docs]
        else:
            raise CommandError("Unrecognized pipeline stage name: '%s'" % op, 40324, "Location40324")
    return docs


# ---------------------------------------------------------------------------- transactions

TXNS = {}           # session id bytes -> {"number": txnNumber, "snapshot": DBS as it was}
SESSIONS = set()


def h_startSession(conn, db, cmd):
    sid = os.urandom(16)
    SESSIONS.add(sid)
    return {"id": {"id": Binary(sid, 4)}, "timeoutMinutes": 30, "ok": 1.0}


def h_endSessions(conn, db, cmd):
    for s in cmd["endSessions"]:
        SESSIONS.discard(s["id"].data)
        TXNS.pop(s["id"].data, None)
    return {"ok": 1.0}


def h_commitTransaction(conn, db, cmd):
    return {"ok": 1.0}      # the work is done in transaction_step


h_abortTransaction = h_commitTransaction


def no_transaction(number):
    raise CommandError("Transaction with { txnNumber: %d } has been aborted." % number, 251,
                       "NoSuchTransaction")


def transaction_step(name, db, cmd):
    """Takes the session fields out of cmd and keeps the transaction's state: a snapshot of the
    store at startTransaction, put back by abortTransaction."""
    lsid = cmd.pop("lsid", None)
    number = cmd.pop("txnNumber", None)
    autocommit = cmd.pop("autocommit", None)
    start = cmd.pop("startTransaction", None)
    if lsid is None:
        if number is not None or name in ("commitTransaction", "abortTransaction"):
            raise CommandError("Transaction numbers are only allowed with a session", 50768, "Location50768")
        return
    sid = lsid.get("id")
    if not isinstance(sid, Binary) or sid.subtype != 4 or len(sid.data) != 16:
        raise CommandError("lsid.id must be a UUID", 14, "TypeMismatch")
    if sid.data not in SESSIONS:
        raise CommandError("no such session", 206, "NoSuchSession")
    if number is None:
        return
    if not isinstance(number, Int64):
        raise CommandError("BSON field 'OperationSessionInfo.txnNumber' is the wrong type 'int', "
                           "expected type 'long'", 14, "TypeMismatch")
    if autocommit is not False:
        raise CommandError("txnNumber may only be provided for multi-document transactions and "
                           "retryable write commands. autocommit:false was not provided", 50768, "Location50768")
    if "writeConcern" in cmd and name not in ("commitTransaction", "abortTransaction"):
        raise CommandError("Cannot set write concern after starting a transaction.", 72, "InvalidOptions")
    t = TXNS.get(sid.data)
    if start is True:
        if t is not None and t["number"] >= number:
            raise CommandError("a transaction with this number was started already", 225,
                               "TransactionTooOld")
        TXNS[sid.data] = {"number": number, "snapshot": copy.deepcopy(DBS)}
        return
    if start is not None:
        raise CommandError("startTransaction may only be true", 2, "BadValue")
    if t is None or t["number"] != number:
        no_transaction(number)
    if name in ("commitTransaction", "abortTransaction"):
        if db != "admin":
            raise CommandError("%s may only be run against the admin database." % name, 13, "Unauthorized")
        del TXNS[sid.data]
        if name == "abortTransaction":
            DBS.clear()
            DBS.update(t["snapshot"])
        STATS[name] = STATS.get(name, 0) + 1


# -------------------------------------------------------------------------------- commands

OPEN_COMMANDS = {"hello", "isMaster", "ismaster", "saslStart", "saslContinue", "getnonce",
                 "authenticate", "logout", "ping", "testStats", "testClose", "testHalf",
                 "testGarbage", "testCursors"}


def h_hello(conn, db, cmd):
    primary = conn.server.primary
    if primary is not None:
        # a secondary: it names the primary (when it knows one) and the set's hosts
        me = "127.0.0.1:%d" % conn.server.server_address[1]
        r = {"ismaster": False, "secondary": True, "me": me, "hosts": [me], "ok": 1.0}
        if primary != "none":
            r["primary"] = primary
            r["hosts"].append(primary)
        return r
    return {"ismaster": True, "isWritablePrimary": True, "maxBsonObjectSize": 16777216,
            "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
            "minWireVersion": 0, "maxWireVersion": 17, "ok": 1.0}


def h_ping(conn, db, cmd):
    return {"ok": 1.0}


def _scram_keys(user, password, salt, iters):
    digest = hashlib.md5(("%s:mongo:%s" % (user, password)).encode()).hexdigest()
    salted = hashlib.pbkdf2_hmac("sha1", digest.encode(), salt, iters)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    return hashlib.sha1(client_key).digest(), server_key


def _payload_in(cmd):
    p = cmd.get("payload")
    if isinstance(p, Binary):
        return p.data, False
    if isinstance(p, str):
        return base64.b64decode(p), True
    raise CommandError("payload must be a string or binary")


def _payload_out(data, as_text):
    return base64.b64encode(data).decode() if as_text else Binary(data)


def auth_failed():
    raise CommandError("Authentication failed.", 18, "AuthenticationFailed")


def h_saslStart(conn, db, cmd):
    if cmd.get("mechanism") != "SCRAM-SHA-1":
        raise CommandError("Received authentication for mechanism %s which is unknown or not enabled"
                           % cmd.get("mechanism"), 334, "MechanismUnavailable")
    data, as_text = _payload_in(cmd)
    text = data.decode()
    if not text.startswith("n,,"):
        auth_failed()
    bare = text[3:]
    fields = dict(f.split("=", 1) for f in bare.split(","))
    user = fields.get("n", "").replace("=2C", ",").replace("=3D", "=")
    snonce = fields.get("r", "") + base64.b64encode(os.urandom(18)).decode()
    salt = os.urandom(16)
    server_first = "r=%s,s=%s,i=%d" % (snonce, base64.b64encode(salt).decode(), ITERATIONS)
    conn.sasl = {"db": db, "user": user, "bare": bare, "first": server_first, "salt": salt,
                 "nonce": snonce, "step": 1}
    return {"conversationId": 1, "done": False, "payload": _payload_out(server_first.encode(), as_text),
            "ok": 1.0}


def h_saslContinue(conn, db, cmd):
    st = getattr(conn, "sasl", None)
    if not st or cmd.get("conversationId") != 1:
        raise CommandError("No SASL session state found", 17, "ProtocolError")
    data, as_text = _payload_in(cmd)
    if st["step"] == 2:
        conn.sasl = None
        conn.authed.add((st["db"], st["user"]))
        return {"conversationId": 1, "done": True, "payload": _payload_out(b"", as_text), "ok": 1.0}
    text = data.decode()
    without_proof, _, proof = text.rpartition(",p=")
    password = USERS.get((st["db"], st["user"]))
    if password is None or without_proof != "c=biws,r=" + st["nonce"]:
        conn.sasl = None
        auth_failed()
    stored_key, server_key = _scram_keys(st["user"], password, st["salt"], ITERATIONS)
    auth_message = ",".join([st["bare"], st["first"], without_proof]).encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha1).digest()
    try:
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature))
    except Exception:
        auth_failed()
    if len(client_key) != 20 or hashlib.sha1(client_key).digest() != stored_key:
        conn.sasl = None
        auth_failed()
    st["step"] = 2
    server_sig = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha1).digest()).decode()
    return {"conversationId": 1, "done": False,
            "payload": _payload_out(("v=" + server_sig).encode(), as_text), "ok": 1.0}


def h_getnonce(conn, db, cmd):
    conn.nonce = os.urandom(8).hex()
    return {"nonce": conn.nonce, "ok": 1.0}


def h_authenticate(conn, db, cmd):
    user, nonce = cmd.get("user"), cmd.get("nonce")
    password = USERS.get((db, user))
    if password is None or nonce != getattr(conn, "nonce", None):
        auth_failed()
    digest = hashlib.md5(("%s:mongo:%s" % (user, password)).encode()).hexdigest()
    if cmd.get("key") != hashlib.md5((nonce + user + digest).encode()).hexdigest():
        auth_failed()
    conn.authed.add((db, user))
    return {"dbname": db, "user": user, "ok": 1.0}


def h_logout(conn, db, cmd):
    conn.authed.clear()
    return {"ok": 1.0}


def h_insert(conn, db, cmd):
    n, errors = insert_docs(db, cmd["insert"], cmd.get("documents", []), cmd.get("ordered", True))
    r = {"n": n, "ok": 1.0}
    if errors:
        r["writeErrors"] = errors
    return r


def h_update(conn, db, cmd):
    name = cmd["update"]
    n = modified = 0
    upserted, errors = [], []
    for i, u in enumerate(cmd.get("updates", [])):
        matched, mod, uid, err = update_many(db, name, u.get("q", {}), u.get("u", {}),
                                             u.get("upsert", False), u.get("multi", False))
        if err:
            errors.append({"index": i, "code": 11000, "errmsg": err})
            break
        n += matched + (1 if uid is not None else 0)
        modified += mod
        if uid is not None:
            upserted.append({"index": i, "_id": uid})
    r = {"n": n, "nModified": modified, "ok": 1.0}
    if upserted:
        r["upserted"] = upserted
    if errors:
        r["writeErrors"] = errors
    return r


def h_delete(conn, db, cmd):
    n = 0
    for d in cmd.get("deletes", []):
        n += delete_many(db, cmd["delete"], d.get("q", {}), d.get("limit", 0))
    return {"n": n, "ok": 1.0}


def h_find(conn, db, cmd):
    name = cmd["find"]
    coll = get_coll(db, name)
    docs = [d for d in (coll.docs if coll else []) if matches(d, cmd.get("filter"))]
    docs = sort_docs(docs, cmd.get("sort"))
    skip, limit = cmd.get("skip", 0), cmd.get("limit", 0)
    docs = docs[skip:]
    if limit:
        docs = docs[:abs(limit)]
    docs = [project(d, cmd.get("projection")) for d in docs]
    size = cmd.get("batchSize") or 101
    return open_cursor(db + "." + name, docs, size, cmd.get("singleBatch", False) or limit < 0)


def h_getMore(conn, db, cmd):
    cid = cmd["getMore"]
    if not isinstance(cid, Int64):
        raise CommandError("Field 'getMore' must be of type long", 14, "TypeMismatch")
    entry = CURSORS.get(cid)
    ns = db + "." + cmd.get("collection", "")
    if entry is None or entry[0] != ns:
        raise CommandError("cursor id %d not found" % cid, 43, "CursorNotFound")
    size = cmd.get("batchSize") or len(entry[1])
    batch, rest = entry[1][:size], entry[1][size:]
    if rest:
        CURSORS[cid] = (ns, rest)
    else:
        del CURSORS[cid]
        cid = 0
    return {"cursor": {"nextBatch": batch, "id": Int64(cid), "ns": ns}, "ok": 1.0}


def h_killCursors(conn, db, cmd):
    killed = []
    for cid in cmd.get("cursors", []):
        if CURSORS.pop(cid, None) is not None:
            killed.append(Int64(cid))
    return {"cursorsKilled": killed, "ok": 1.0}


def h_testCursors(conn, db, cmd):
    return {"open": len(CURSORS), "ok": 1.0}


def h_count(conn, db, cmd):
    coll = get_coll(db, cmd["count"])
    docs = [d for d in (coll.docs if coll else []) if matches(d, cmd.get("query"))]
    docs = docs[cmd.get("skip", 0):]
    if cmd.get("limit"):
        docs = docs[:abs(cmd["limit"])]
    return {"n": len(docs), "ok": 1.0}


def h_findAndModify(conn, db, cmd):
    name = cmd["findAndModify"]
    coll = get_coll(db, name, create=bool(cmd.get("upsert")))
    docs = sort_docs([d for d in (coll.docs if coll else []) if matches(d, cmd.get("query"))],
                     cmd.get("sort"))
    fields = cmd.get("fields")
    if cmd.get("remove"):
        if not docs:
            return {"lastErrorObject": {"n": 0}, "value": None, "ok": 1.0}
        coll.docs = [d for d in coll.docs if d is not docs[0]]
        return {"lastErrorObject": {"n": 1}, "value": project(docs[0], fields), "ok": 1.0}
    upd = cmd.get("update")
    if upd is None:
        raise CommandError("Either an update or remove=true must be specified", 9, "FailedToParse")
    if docs:
        d = docs[0]
        old = dict(d)
        trial = apply_update(dict(d), upd)
        err = dup_error(coll, db + "." + name, trial, skip=d)
        if err:
            raise CommandError(err, 11000, "DuplicateKey")
        d.clear()
        d.update(trial)
        value = d if cmd.get("new") else old
        return {"lastErrorObject": {"n": 1, "updatedExisting": True},
                "value": project(value, fields), "ok": 1.0}
    if cmd.get("upsert"):
        doc = upsert_doc(cmd.get("query"), upd)
        coll.docs.append(doc)
        return {"lastErrorObject": {"n": 1, "updatedExisting": False, "upserted": doc["_id"]},
                "value": project(doc, fields) if cmd.get("new") else None, "ok": 1.0}
    return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None, "ok": 1.0}


def h_createIndexes(conn, db, cmd):
    name = cmd["createIndexes"]
    created = get_coll(db, name) is None
    coll = get_coll(db, name, create=True)
    before = len(coll.indexes)
    for spec in cmd.get("indexes", []):
        if not isinstance(spec.get("key"), dict) or not spec.get("name"):
            raise CommandError("Error in specification: 'key' and 'name' are required", 67,
                               "CannotCreateIndex")
        if any(i["name"] == spec["name"] for i in coll.indexes):
            continue
        if spec.get("unique"):
            keys = list(spec["key"].keys())
            seen = set()
            for d in coll.docs:
                v = encode_doc({"v": [get_path(d, k)[1] for k in keys]})
                if v in seen:
                    raise CommandError("E11000 duplicate key error collection: %s.%s index: %s"
                                       % (db, name, spec["name"]), 11000, "DuplicateKey")
                seen.add(v)
        coll.indexes.append(spec)
    return {"numIndexesBefore": before, "numIndexesAfter": len(coll.indexes),
            "createdCollectionAutomatically": created, "ok": 1.0}


def h_listIndexes(conn, db, cmd):
    coll = get_coll(db, cmd["listIndexes"])
    if coll is None:
        raise CommandError("ns does not exist: %s.%s" % (db, cmd["listIndexes"]), 26, "NamespaceNotFound")
    return open_cursor(db + "." + cmd["listIndexes"], [dict(i) for i in coll.indexes], 101)


def h_dropIndexes(conn, db, cmd):
    coll = get_coll(db, cmd["dropIndexes"])
    if coll is None:
        raise CommandError("ns not found " + db + "." + cmd["dropIndexes"], 26, "NamespaceNotFound")
    which = cmd.get("index")
    before = len(coll.indexes)
    if which == "*":
        coll.indexes = coll.indexes[:1]
    else:
        if which == "_id_" or not any(i["name"] == which for i in coll.indexes):
            raise CommandError("index not found with name [%s]" % which, 27, "IndexNotFound")
        coll.indexes = [i for i in coll.indexes if i["name"] != which]
    return {"nIndexesWas": before, "ok": 1.0}


def h_drop(conn, db, cmd):
    colls = DBS.get(db, {})
    if cmd["drop"] not in colls:
        raise CommandError("ns not found", 26, "NamespaceNotFound")
    del colls[cmd["drop"]]
    return {"ns": db + "." + cmd["drop"], "nIndexesWas": 1, "ok": 1.0}


def h_aggregate(conn, db, cmd):
    name = cmd["aggregate"]
    if "cursor" not in cmd:
        raise CommandError("The 'cursor' option is required, except for aggregate with the explain argument",
                           9, "FailedToParse")
    coll = get_coll(db, name)
    docs = run_pipeline([dict(d) for d in (coll.docs if coll else [])], cmd.get("pipeline", []))
    size = (cmd.get("cursor") or {}).get("batchSize") or 101
    return open_cursor(db + "." + name, docs, size)


def h_bulkWrite(conn, db, cmd):
    if db != "admin":
        raise CommandError("bulkWrite may only be run against the admin database.", 13, "Unauthorized")
    ns_info = [x["ns"] for x in cmd.get("nsInfo", [])]
    results = []
    counts = {"nInserted": 0, "nMatched": 0, "nModified": 0, "nUpserted": 0, "nDeleted": 0}
    errors = 0
    for i, op in enumerate(cmd.get("ops", [])):
        kind = next(iter(op))
        dbname, _, coll = ns_info[op[kind]].partition(".")
        if kind == "insert":
            n, errs = insert_docs(dbname, coll, [op["document"]])
            counts["nInserted"] += n
            res = {"ok": 1.0, "idx": i, "n": n}
            if errs:
                res = {"ok": 0.0, "idx": i, "n": 0, "code": 11000, "errmsg": errs[0]["errmsg"]}
        elif kind == "update":
            m, mod, uid, err = update_many(dbname, coll, op.get("filter", {}), op.get("updateMods", {}),
                                          op.get("upsert", False), op.get("multi", False))
            counts["nMatched"] += m
            counts["nModified"] += mod
            counts["nUpserted"] += 1 if uid is not None else 0
            res = {"ok": 1.0, "idx": i, "n": m + (1 if uid is not None else 0), "nModified": mod}
            if err:
                res = {"ok": 0.0, "idx": i, "n": 0, "code": 11000, "errmsg": err}
        elif kind == "delete":
            n = delete_many(dbname, coll, op.get("filter", {}), 0 if op.get("multi") else 1)
            counts["nDeleted"] += n
            res = {"ok": 1.0, "idx": i, "n": n}
        else:
            raise CommandError("Unrecognized bulkWrite operation " + kind)
        results.append(res)
        if res["ok"] != 1.0:
            errors += 1
            if cmd.get("ordered", True):
                break
    r = {"cursor": {"id": Int64(0), "firstBatch": results, "ns": "admin.$cmd.bulkWrite"},
         "nErrors": errors, "ok": 1.0}
    r.update(counts)
    return r


def h_testStats(conn, db, cmd):
    return {"messages": STATS["messages"], "violations": list(STATS["violations"]),
            "moreToCome": STATS["moreToCome"], "kind1": STATS["kind1"],
            "connections": STATS["connections"], "commits": STATS.get("commitTransaction", 0),
            "aborts": STATS.get("abortTransaction", 0), "ok": 1.0}


HANDLERS = {
    "hello": h_hello, "isMaster": h_hello, "ismaster": h_hello, "ping": h_ping,
    "saslStart": h_saslStart, "saslContinue": h_saslContinue, "getnonce": h_getnonce,
    "authenticate": h_authenticate, "logout": h_logout,
    "insert": h_insert, "update": h_update, "delete": h_delete, "find": h_find,
    "getMore": h_getMore, "killCursors": h_killCursors, "count": h_count,
    "findAndModify": h_findAndModify, "createIndexes": h_createIndexes,
    "listIndexes": h_listIndexes, "dropIndexes": h_dropIndexes, "drop": h_drop,
    "aggregate": h_aggregate, "bulkWrite": h_bulkWrite,
    "testStats": h_testStats, "testCursors": h_testCursors,
    "startSession": h_startSession, "endSessions": h_endSessions,
    "commitTransaction": h_commitTransaction, "abortTransaction": h_abortTransaction,
}


# ------------------------------------------------------------------------------- the wire

OP_MSG = 2013
MAX_BSON = 16 * 1024 * 1024
CHECKSUM, MORE_TO_COME, EXHAUST = 1 << 0, 1 << 1, 1 << 16


def parse_op_msg(msg):
    """Checks one whole message (header included) against the spec; returns
    (request id, flags, command document). Raises ValueError on what the spec forbids."""
    length, req_id, response_to, opcode = struct.unpack_from("<iiii", msg, 0)
    if length != len(msg):
        raise ValueError("header length %d for %d bytes" % (length, len(msg)))
    if opcode != OP_MSG:
        raise ValueError("opcode %d is not OP_MSG" % opcode)
    if response_to != 0:
        raise ValueError("a request with responseTo %d" % response_to)
    if req_id <= 0:
        raise ValueError("request id %d is not positive" % req_id)
    (flags,) = struct.unpack_from("<I", msg, 16)
    if flags & CHECKSUM:
        raise ValueError("checksumPresent set")
    if flags & 0xFFFF & ~(CHECKSUM | MORE_TO_COME):
        raise ValueError("unknown required flag bits 0x%x" % flags)
    i, end = 20, len(msg)
    body, sequences = None, []
    while i < end:
        kind = msg[i]
        i += 1
        if kind == 0:
            if body is not None:
                raise ValueError("two kind-0 sections")
            start = i
            body, i = decode_doc(msg, i, end)
            body_size = i - start
        elif kind == 1:
            (size,) = struct.unpack_from("<i", msg, i)
            stop = i + size
            if size < 5 or stop > end:
                raise ValueError("bad kind-1 section size %d" % size)
            ident, j = _cstring(msg, i + 4, stop)
            docs = []
            while j < stop:
                d, j = decode_doc(msg, j, stop)
                docs.append(d)
            sequences.append((ident, docs))
            i = stop
        else:
            raise ValueError("section kind %d" % kind)
    if body is None:
        raise ValueError("no kind-0 section")
    for ident, docs in sequences:
        if ident in body:
            raise ValueError("field %s both in the body and a document sequence" % ident)
        body[ident] = docs
        STATS["kind1"] += 1
    if not isinstance(body.get("$db"), str):
        raise ValueError("no $db in the command")
    return req_id, flags, body, body_size


REPLY_ID = [0]


def frame_reply(response_to, doc, flags=0, opcode=OP_MSG, kind=0):
    REPLY_ID[0] += 1
    payload = struct.pack("<I", flags) + bytes([kind]) + encode_doc(doc)
    return struct.pack("<iiii", 16 + len(payload), REPLY_ID[0], response_to, opcode) + payload


def garbage(kind, req_id):
    ok = {"ok": 1.0}
    if kind == "opcode":        # an OP_REPLY instead of OP_MSG
        return frame_reply(req_id, ok, opcode=1), False
    if kind == "checksum":
        return frame_reply(req_id, ok, flags=CHECKSUM), False
    if kind == "flags":
        return frame_reply(req_id, ok, flags=4), False
    if kind == "kind":          # section kind 2 (not in the spec)
        return frame_reply(req_id, ok, kind=2), False
    if kind == "doclen":        # the body's length runs past the message
        m = bytearray(frame_reply(req_id, ok))
        struct.pack_into("<i", m, 21, len(m))
        return bytes(m), False
    if kind == "short":         # a length below any header's size
        return struct.pack("<i", 10) + b"\0" * 6, True
    if kind == "huge":          # 2 GB announced
        return struct.pack("<iiii", 0x7FFFFFF0, 1, req_id, OP_MSG), True
    if kind == "unknown":       # a well-formed reply to a request nobody made
        return frame_reply(req_id + 1000, ok), False
    if kind == "bson":          # good framing, a body with an unknown element type
        body = b"\x42x\0" + b"\0"
        doc = struct.pack("<i", len(body) + 4) + body
        payload = struct.pack("<I", 0) + b"\0" + doc
        REPLY_ID[0] += 1
        return struct.pack("<iiii", 16 + len(payload), REPLY_ID[0], req_id, OP_MSG) + payload, False
    raise CommandError("no such garbage: %s" % kind)


class Handler(socketserver.BaseRequestHandler):
    def read_exact(self, n):
        chunks = []
        while n > 0:
            c = self.request.recv(n)
            if not c:
                return None
            chunks.append(c)
            n -= len(c)
        return b"".join(chunks)

    def handle(self):
        self.authed = set()
        self.sasl = None
        with LOCK:
            STATS["connections"] += 1
        while True:
            head = self.read_exact(4)
            if head is None:
                return
            (length,) = struct.unpack("<i", head)
            if length < 21 or length > 48000000:
                with LOCK:
                    violation("message length %d" % length)
                return
            rest = self.read_exact(length - 4)
            if rest is None:
                return
            if not self.one(head + rest):
                return

    def one(self, msg):
        """Handles one message; returns False to close the connection."""
        with LOCK:
            STATS["messages"] += 1
            try:
                req_id, flags, cmd, body_size = parse_op_msg(msg)
            except (ValueError, BSONError, struct.error, UnicodeDecodeError) as e:
                violation(str(e))
                return False
            if flags & MORE_TO_COME:
                STATS["moreToCome"] += 1
            name = next(iter(cmd))
            db = cmd["$db"]
            if name == "testClose":
                return False
            if name == "testHalf":
                whole = frame_reply(req_id, {"ok": 1.0, "pad": "x" * 64})
                self.request.sendall(whole[:len(whole) // 2])
                return False
            if name == "testGarbage":
                data, close = garbage(cmd["testGarbage"], req_id)
                self.request.sendall(data)
                return not close
            try:
                handler = HANDLERS.get(name)
                if body_size > MAX_BSON + 16 * 1024:
                    raise CommandError("BSONObj size: %d is invalid. Size must be between 0 and %d(16MB)"
                                       % (body_size, MAX_BSON), 10334, "BSONObjectTooLarge")
                if handler is None:
                    raise CommandError("no such command: '%s'" % name, 59, "CommandNotFound")
                if self.server.auth and name not in OPEN_COMMANDS and not self.authed:
                    raise CommandError("command %s requires authentication" % name, 13, "Unauthorized")
                transaction_step(name, db, cmd)
                reply = handler(self, db, cmd)
            except CommandError as e:
                reply = {"ok": 0.0, "errmsg": str(e), "code": e.code, "codeName": e.name}
            except (KeyError, TypeError, AttributeError, ValueError) as e:
                reply = {"ok": 0.0, "errmsg": "bad command: %r" % (e,), "code": 9, "codeName": "FailedToParse"}
            if flags & MORE_TO_COME:
                return True
            self.request.sendall(frame_reply(req_id, reply))
            return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    portfile = sys.argv[1]
    srv = Server(("127.0.0.1", 0), Handler)
    srv.auth = True
    # --primary HOST:PORT makes this a secondary that sends clients there; --primary none,
    # a secondary that knows no primary
    srv.primary = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--primary" else None
    port = srv.server_address[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
