#!/usr/bin/env bash
# Build the seed corpora of the fuzz targets from the repository's fixtures into fuzz/corpus/<target>/
# (ignored by git; re-run at will, existing files are kept). Needs python3 only.
#
#   scan      whole synthetic snapshots, header-only documents, and small syntactically valid documents cut
#             from the gzip Node/Chromium fixtures (header + a few hundred nodes/edges + some strings);
#   numbers   one control byte (fields, chunk size) + the body of a slice of a nodes/edges/locations array;
#   strings   the body of a slice of a strings array (real V8 escapes, surrogates) + hand-written cases;
#   summary   the small synthetic snapshots and *valid* mini snapshots made from the first K nodes of the
#             gzip fixtures (edges kept when both ends are kept, strings renumbered), plus the documents
#             of `scan`;
#   summary_structured  a few fixed pseudo-random byte strings (the input is decoded by `arbitrary`).
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
import glob, gzip, hashlib, json, os, random, re

FIX = "../fixtures"
OUT = "corpus"


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def section(doc, name):
    """Byte range of the array value of top-level member `name` (V8 writes the header first, then nodes,
    edges, ..., strings, so the first `"name":[` is the member)."""
    key = b'"%s":[' % name.encode()
    start = doc.index(key) + len(key) - 1
    if name == "strings":
        end = doc.rindex(b"]")
    else:
        end = doc.index(b"]", start)
    return start, end + 1


def numbers_slice(body, start, count):
    """`count` values of a numeric array body from the first value at or after byte `start`."""
    if start:
        start = body.index(b",", start) + 1
    end = start
    for _ in range(count):
        nxt = body.find(b",", end)
        if nxt < 0:
            return body[start:]
        end = nxt + 1
    return body[start : end - 1]


STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def strings_slice(body, first, count):
    """Strings `first..first + count` of a strings array body (matched from the start, so always aligned)."""
    out = []
    for i, m in enumerate(STRING.finditer(body)):
        if i >= first:
            out.append(m.group(0))
        if len(out) == count:
            break
    return b",\n".join(out)


def header(doc):
    s = doc.index(b'"snapshot":') + len(b'"snapshot":')
    return doc[s : doc.index(b"\n", s)].rstrip(b",")


def mini(doc, k):
    """A valid snapshot of the first `k` nodes of `doc`."""
    j = json.loads(doc)
    meta = j["snapshot"]["meta"]
    nf, ef = len(meta["node_fields"]), len(meta["edge_fields"])
    fi = {f: i for i, f in enumerate(meta["node_fields"])}
    ei = {f: i for i, f in enumerate(meta["edge_fields"])}
    etypes = meta["edge_types"][0]
    nodes, edges, strings = j["nodes"], j["edges"], j["strings"]
    k = min(k, len(nodes) // nf)
    used = {}

    def sid(i):
        return used.setdefault(i, len(used))

    out_nodes, out_edges, e = [], [], 0
    for i in range(k):
        rec = nodes[i * nf : (i + 1) * nf]
        cnt = rec[fi["edge_count"]]
        rec[fi["name"]] = sid(rec[fi["name"]])
        kept = 0
        for x in range(e, e + cnt):
            ed = edges[x * ef : (x + 1) * ef]
            if ed[ei["to_node"]] // nf >= k:
                continue
            if etypes[ed[ei["type"]]] not in ("element", "hidden"):
                ed[ei["name_or_index"]] = sid(ed[ei["name_or_index"]])
            out_edges += ed
            kept += 1
        rec[fi["edge_count"]] = kept
        out_nodes += rec
        e += cnt
    locs = []
    if "location_fields" in meta and j.get("locations"):
        lf = len(meta["location_fields"])
        oi = meta["location_fields"].index("object_index")
        ls = j["locations"]
        for x in range(0, len(ls), lf):
            if ls[x + oi] // nf < k:
                locs += ls[x : x + lf]
    table = [None] * len(used)
    for old, new in used.items():
        table[new] = strings[old]
    snap = dict(j["snapshot"], node_count=k, edge_count=len(out_edges) // ef, trace_function_count=0)
    snap.pop("root_index", None)
    dump = lambda v: json.dumps(v, separators=(",", ":")).encode()
    return b"".join(
        [
            b'{"snapshot":' + dump(snap) + b",\n",
            b'"nodes":' + dump(out_nodes) + b",\n",
            b'"edges":' + dump(out_edges) + b",\n",
            b'"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n',
            b'"locations":' + dump(locs) + b",\n",
            b'"strings":' + dump(table) + b"}\n",
        ]
    )


synthetic = {p: open(p, "rb").read() for p in sorted(glob.glob(FIX + "/synthetic/*.heapsnapshot"))}
gz = {
    p: gzip.open(p).read()
    for p in [FIX + "/bare-node.heapsnapshot.gz", FIX + "/service.heapsnapshot.gz", FIX + "/browser/page.heapsnapshot.gz"]
}

for path, doc in list(synthetic.items()) + list(gz.items()):
    nfields = len(json.loads(header(doc))["meta"]["node_fields"])
    h = header(doc)
    bodies = {}
    for name in ["nodes", "edges", "locations", "strings"]:
        s, e = section(doc, name)
        bodies[name] = doc[s + 1 : e - 1]
    # numbers: control byte = (fields - 1) | (chunk - 1) << 3.
    for name, fields in [("nodes", nfields), ("edges", 3), ("locations", 4)]:
        body = bodies[name]
        for start, count, chunk in [(0, 70, 32), (0, 600, 7), (len(body) // 2, 300, 1)]:
            sl = numbers_slice(body, start, count)
            if sl:
                put("numbers", bytes([(fields - 1) | (chunk - 1) << 3]) + sl)
    # strings
    body = bodies["strings"]
    total = body.count(b'",')
    for first, count in [(0, 20), (0, 200), (total // 3, 50), (total * 2 // 3, 100)]:
        put("strings", strings_slice(body, first, count))
    # scan / summary: a header-only document and small, syntactically valid documents.
    put("scan", b'{"snapshot":' + h + b"}")
    for nodes, edges, strings in [(nfields * 40, 3 * 60, 30), (nfields * 300, 3 * 900, 300)]:
        # The counts of the slices (the edge counts and string indexes still point outside them).
        hs = re.sub(rb'"node_count":\d+', b'"node_count":%d' % (nodes // nfields), h)
        hs = re.sub(rb'"edge_count":\d+', b'"edge_count":%d' % (edges // 3), hs)
        d = b"".join(
            [
                b'{"snapshot":' + hs + b",\n",
                b'"nodes":[' + numbers_slice(bodies["nodes"], 0, nodes) + b"],\n",
                b'"edges":[' + numbers_slice(bodies["edges"], 0, edges) + b"],\n",
                b'"strings":[' + strings_slice(bodies["strings"], 0, strings) + b"]}\n",
            ]
        )
        put("scan", d)
        put("summary", d)

for path, doc in synthetic.items():
    put("scan", doc)
    if len(doc) <= 65536:
        put("summary", doc)
for path, doc in gz.items():
    for k in (40, 150, 400):
        m = mini(doc, k)
        if len(m) <= 65536:
            put("summary", m)

for s in [
    b'"", "a\\"b\\\\c\\/\\n\\b\\f\\r\\t", "\\u00e9\\u4E2D", "\\ud83d\\ude00", "x\\ud800y", "\\udfff", "\xc3\xa9"',
    b'"\\ud800\\u0041", "\\ud800\\ud800", "\\udc00\\ud800", "(GC roots)", "Detached <div id=a>"',
]:
    put("strings", s)

rng = random.Random(1)
for n in (64, 256, 1024, 4096):
    put("summary_structured", bytes(rng.randrange(256) for _ in range(n)))

def size(entry):
    try:
        return entry.stat().st_size
    except FileNotFoundError:  # a running fuzzer removed it meanwhile
        return 0


for t in sorted(os.listdir(OUT)):
    files = [size(e) for e in os.scandir(os.path.join(OUT, t))]
    print(f"{t}: {len(files)} files, {sum(files)} bytes")
PY
