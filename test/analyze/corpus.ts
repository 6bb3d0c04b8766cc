// Python snippets for the analyzer tests. `expect` lists every finding of the ruff backend as
// 'Bxxx:SEVERITY' in line order (LOW included); the Bandit comparison looks at MEDIUM/HIGH only.

export interface Case {
  name: string;
  code: string;
  expect: string[];
}

const py = (lines: TemplateStringsArray) => lines.raw[0].replace(/^\n/, '');

/** Every MEDIUM/HIGH Bandit check from REFERENCE.md that Ruff implements, and the severity splits. */
export const INSECURE: Case[] = [
  { name: 'exec', code: 'exec(input())\n', expect: ['B102:MEDIUM'] },
  { name: 'chmod-777', code: 'import os\nos.chmod("f", 0o777)\n', expect: ['B103:HIGH'] },
  { name: 'chmod-750', code: 'import os\nos.chmod("f", 0o750)\n', expect: ['B103:MEDIUM'] },
  { name: 'chmod-620', code: 'import os\nos.chmod("f", 0o620)\n', expect: ['B103:MEDIUM'] },
  { name: 'chmod-stat-constants', code: 'import os, stat\nos.chmod("f", stat.S_IWOTH | stat.S_IRUSR)\n', expect: ['B103:HIGH'] },
  { name: 'bind-all', code: 'import socket\ns = socket.socket()\ns.bind(("0.0.0.0", 8080))\n', expect: ['B104:MEDIUM'] },
  { name: 'hardcoded-tmp', code: 'f = open("/tmp/out.txt", "w")\n', expect: ['B108:MEDIUM'] },
  { name: 'requests-no-timeout', code: 'import requests\nr = requests.get("https://example.com")\n', expect: ['B113:MEDIUM'] },
  { name: 'flask-debug', code: 'from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n', expect: ['B201:HIGH'] },
  { name: 'flask-debug-unbound', code: 'from flask import Flask\nFlask(__name__).run(debug=True)\n', expect: [] },
  { name: 'tar-extractall', code: 'import tarfile\nt = tarfile.open("a.tar")\nt.extractall()\n', expect: ['B202:HIGH'] },
  { name: 'tar-members-value', code: 'import tarfile\nt = tarfile.open("a.tar")\nt.extractall(members=ok)\n', expect: ['B202:MEDIUM'] },
  { name: 'pickle', code: 'import pickle\nobj = pickle.loads(data)\n', expect: ['B403:LOW', 'B301:MEDIUM'] },
  { name: 'marshal', code: 'import marshal\nobj = marshal.loads(data)\n', expect: ['B302:MEDIUM'] },
  { name: 'pycrypto-md5', code: 'from Crypto.Hash import MD5\nh = MD5.new()\n', expect: ['B413:HIGH', 'B303:MEDIUM'] },
  { name: 'hashlib-md5', code: 'import hashlib\nh = hashlib.md5(b"x").hexdigest()\n', expect: ['B324:HIGH'] },
  { name: 'hashlib-sha1', code: 'import hashlib\nh = hashlib.sha1(b"x")\n', expect: ['B324:HIGH'] },
  { name: 'hashlib-md5-imported', code: 'from hashlib import md5\nh = md5(b"x")\n', expect: ['B324:HIGH'] },
  { name: 'hashlib-new-md5', code: 'import hashlib\nh = hashlib.new("md5")\n', expect: ['B324:HIGH'] },
  { name: 'hashlib-new-sha1', code: 'import hashlib\nh = hashlib.new("sha1")\n', expect: ['B324:HIGH'] },
  { name: 'crypt-md5', code: 'import crypt\nh = crypt.crypt("pw", crypt.METHOD_MD5)\n', expect: ['B324:MEDIUM'] },
  { name: 'pycrypto-des', code: 'from Crypto.Cipher import DES\nc = DES.new(key)\n', expect: ['B413:HIGH', 'B304:HIGH'] },
  {
    name: 'cryptography-arc4',
    code: 'from cryptography.hazmat.primitives.ciphers import algorithms\na = algorithms.ARC4(key)\n',
    expect: ['B304:HIGH'],
  },
  { name: 'ecb', code: 'from cryptography.hazmat.primitives.ciphers import modes\nm = modes.ECB()\n', expect: ['B305:MEDIUM'] },
  { name: 'mktemp', code: 'import tempfile\nname = tempfile.mktemp()\n', expect: ['B306:MEDIUM'] },
  { name: 'eval', code: 'x = eval(input())\nprint(x)\n', expect: ['B307:MEDIUM'] },
  { name: 'mark-safe', code: 'from django.utils.safestring import mark_safe\nhtml = mark_safe(user)\n', expect: ['B308:MEDIUM'] },
  { name: 'mark-safe-literal', code: 'from django.utils.safestring import mark_safe\nhtml = mark_safe("<b>hi</b>")\n', expect: [] },
  { name: 'urlopen', code: 'import urllib.request\nr = urllib.request.urlopen(url)\n', expect: ['B310:MEDIUM'] },
  { name: 'telnet', code: 'import telnetlib\nt = telnetlib.Telnet("host")\n', expect: ['B401:HIGH', 'B312:HIGH'] },
  { name: 'xml-celementtree', code: 'import xml.etree.cElementTree as ET\nt = ET.parse(f)\n', expect: ['B405:LOW', 'B313:MEDIUM'] },
  { name: 'xml-elementtree', code: 'import xml.etree.ElementTree as ET\nt = ET.fromstring(s)\n', expect: ['B405:LOW', 'B314:MEDIUM'] },
  { name: 'xml-expatreader', code: 'import xml.sax.expatreader\np = xml.sax.expatreader.create_parser()\n', expect: ['B315:MEDIUM'] },
  { name: 'xml-expatbuilder', code: 'import xml.dom.expatbuilder\nd = xml.dom.expatbuilder.parse(f)\n', expect: ['B407:LOW', 'B316:MEDIUM'] },
  { name: 'xml-sax', code: 'import xml.sax\nxml.sax.parseString(s, handler)\n', expect: ['B406:LOW', 'B317:MEDIUM'] },
  { name: 'xml-minidom', code: 'import xml.dom.minidom\nd = xml.dom.minidom.parseString(s)\n', expect: ['B408:LOW', 'B318:MEDIUM'] },
  { name: 'xml-pulldom', code: 'import xml.dom.pulldom\nd = xml.dom.pulldom.parseString(s)\n', expect: ['B409:LOW', 'B319:MEDIUM'] },
  { name: 'ftp', code: 'import ftplib\nf = ftplib.FTP("host")\n', expect: ['B402:HIGH', 'B321:HIGH'] },
  { name: 'unverified-context', code: 'import ssl\nctx = ssl._create_unverified_context()\n', expect: ['B323:MEDIUM'] },
  { name: 'import-telnetlib', code: 'import telnetlib\n', expect: ['B401:HIGH'] },
  { name: 'import-ftplib', code: 'import ftplib\n', expect: ['B402:HIGH'] },
  { name: 'import-xmlrpc', code: 'from xmlrpc import client\n', expect: ['B411:HIGH'] },
  { name: 'import-xmlrpc-client', code: 'import xmlrpc.client\n', expect: [] },
  { name: 'import-httpoxy', code: 'from wsgiref.handlers import CGIHandler\n', expect: ['B412:HIGH'] },
  { name: 'import-pycrypto', code: 'import Crypto.Cipher\n', expect: ['B413:HIGH'] },
  { name: 'import-pyghmi', code: 'import pyghmi\n', expect: ['B415:HIGH'] },
  { name: 'requests-verify-false', code: 'import requests\nr = requests.get(url, verify=False, timeout=5)\n', expect: ['B501:HIGH'] },
  { name: 'ssl-v2', code: 'import ssl\ns = ssl.wrap_socket(sock, ssl_version=ssl.PROTOCOL_SSLv2)\n', expect: ['B502:HIGH'] },
  { name: 'ssl-bad-default', code: 'import ssl\ndef connect(ssl_version=ssl.PROTOCOL_SSLv3):\n    pass\n', expect: ['B503:MEDIUM'] },
  {
    name: 'rsa-512',
    code: 'from cryptography.hazmat.primitives.asymmetric import rsa\nk = rsa.generate_private_key(public_exponent=65537, key_size=512)\n',
    expect: ['B505:HIGH'],
  },
  {
    name: 'rsa-1024',
    code: 'from cryptography.hazmat.primitives.asymmetric import rsa\nk = rsa.generate_private_key(public_exponent=65537, key_size=1024)\n',
    expect: ['B505:MEDIUM'],
  },
  { name: 'dsa-512', code: 'from cryptography.hazmat.primitives.asymmetric import dsa\nk = dsa.generate_private_key(512)\n', expect: ['B505:HIGH'] },
  {
    name: 'ec-192',
    code: 'from cryptography.hazmat.primitives.asymmetric import ec\nk = ec.generate_private_key(ec.SECP192R1, backend)\n',
    expect: ['B505:MEDIUM'],
  },
  { name: 'pycrypto-rsa-1024', code: 'from Crypto.PublicKey import RSA\nk = RSA.generate(1024)\n', expect: ['B413:HIGH', 'B505:MEDIUM'] },
  { name: 'yaml-load', code: 'import yaml\nd = yaml.load(s)\n', expect: ['B506:MEDIUM'] },
  {
    name: 'paramiko-autoadd',
    code: 'import paramiko\nc = paramiko.SSHClient()\nc.set_missing_host_key_policy(paramiko.AutoAddPolicy)\n',
    expect: ['B507:HIGH'],
  },
  {
    name: 'paramiko-autoadd-instance',
    code: 'import paramiko\nc = paramiko.SSHClient()\nc.set_missing_host_key_policy(paramiko.AutoAddPolicy())\n',
    expect: ['B507:HIGH'],
  },
  { name: 'snmp-v1', code: 'from pysnmp.hlapi import CommunityData\nauth = CommunityData("public", mpModel=0)\n', expect: ['B508:MEDIUM'] },
  { name: 'snmp-noauth', code: 'from pysnmp.hlapi import UsmUserData\nauth = UsmUserData("user")\n', expect: ['B509:MEDIUM'] },
  { name: 'paramiko-exec', code: 'import paramiko\nparamiko.exec_command(cmd)\n', expect: ['B601:MEDIUM'] },
  { name: 'paramiko-client-exec', code: 'import paramiko\nc = paramiko.SSHClient()\nc.exec_command(cmd)\n', expect: [] },
  { name: 'shell-variable', code: 'import subprocess\nsubprocess.call(cmd, shell=True)\n', expect: ['B404:LOW', 'B602:HIGH'] },
  { name: 'shell-fstring', code: 'import subprocess\nsubprocess.run(f"ls {d}", shell=True)\n', expect: ['B404:LOW', 'B602:HIGH'] },
  {
    name: 'shell-list',
    code: 'import subprocess\nsubprocess.call(["ls", "-l"], shell=True)\n',
    expect: ['B404:LOW', 'B602:HIGH', 'B607:LOW'],
  },
  {
    name: 'shell-literal',
    code: 'import subprocess\nsubprocess.call("ls -l", shell=True)\n',
    expect: ['B404:LOW', 'B602:LOW', 'B607:LOW'],
  },
  { name: 'other-shell-true', code: 'run_it(cmd, shell=True)\n', expect: ['B604:MEDIUM'] },
  { name: 'os-system', code: 'import os\nos.system("echo " + name)\n', expect: ['B605:HIGH'] },
  { name: 'os-popen', code: 'import os\nout = os.popen(cmd).read()\n', expect: ['B605:HIGH'] },
  { name: 'os-system-literal', code: 'import os\nos.system("clear")\n', expect: ['B605:LOW', 'B607:LOW'] },
  { name: 'sql-percent', code: 'q = "SELECT * FROM users WHERE id = %s" % uid\ncur.execute(q)\n', expect: ['B608:MEDIUM'] },
  { name: 'sql-fstring', code: 'cur.execute(f"DELETE FROM users WHERE name = \'{name}\'")\n', expect: ['B608:MEDIUM'] },
  { name: 'wildcard', code: 'import os\nos.system("tar cf backup.tar *")\n', expect: ['B605:LOW', 'B607:LOW', 'B609:HIGH'] },
  { name: 'django-extra', code: 'rows = User.objects.extra(where=["id = " + uid])\n', expect: ['B610:MEDIUM'] },
  { name: 'django-rawsql', code: 'from django.db.models.expressions import RawSQL\nq = RawSQL("select " + col)\n', expect: ['B611:MEDIUM'] },
  { name: 'logging-listen', code: 'import logging.config\nt = logging.config.listen(9999)\n', expect: ['B612:MEDIUM'] },
  { name: 'jinja-default', code: 'import jinja2\nenv = jinja2.Environment(loader=loader)\n', expect: ['B701:HIGH'] },
  { name: 'jinja-variable', code: 'import jinja2\nenv = jinja2.Environment(autoescape=flag)\n', expect: ['B701:HIGH'] },
  { name: 'jinja-false', code: 'from jinja2 import Environment\nenv = Environment(loader=loader, autoescape=False)\n', expect: ['B701:HIGH'] },
  { name: 'mako', code: 'from mako.template import Template\nt = Template(text)\n', expect: ['B702:MEDIUM'] },
  { name: 'markup', code: 'from markupsafe import Markup\nm = Markup(f"<b>{name}</b>")\n', expect: ['B704:MEDIUM'] },
  {
    name: 'several',
    code: py`
import os
import pickle


def load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def run(cmd):
    os.system(cmd)
    return eval(cmd)
`,
    expect: ['B403:LOW', 'B301:MEDIUM', 'B605:HIGH', 'B307:MEDIUM'],
  },
];

/** Rules Bandit rates LOW (weight 0): still reported, with severity LOW. */
export const LOW_ONLY: Case[] = [
  { name: 'assert', code: 'assert x > 0\n', expect: ['B101:LOW'] },
  {
    name: 'passwords',
    code: 'password = "hunter2"\nlogin(password="hunter2")\ndef f(password="hunter2"):\n    pass\n',
    expect: ['B105:LOW', 'B106:LOW', 'B107:LOW'],
  },
  { name: 'try-except-pass', code: 'try:\n    f()\nexcept Exception:\n    pass\n', expect: ['B110:LOW'] },
  { name: 'try-except-continue', code: 'for x in xs:\n    try:\n        f(x)\n    except Exception:\n        continue\n', expect: ['B112:LOW'] },
  { name: 'random', code: 'import random\nk = random.randint(1, 6)\n', expect: ['B311:LOW'] },
  { name: 'subprocess-list', code: 'import subprocess\nsubprocess.run(["ls", d])\n', expect: ['B404:LOW', 'B603:LOW', 'B607:LOW'] },
  { name: 'os-exec', code: 'import os\nos.execv("/bin/ls", ["ls"])\n', expect: ['B606:LOW'] },
  { name: 'ssl-no-version', code: 'import ssl\ns = ssl.wrap_socket(sock)\n', expect: ['B504:LOW'] },
  { name: 'import-pickle', code: 'import pickle\n', expect: ['B403:LOW'] },
];

/** Programs a competitive-programming policy writes: nothing MEDIUM/HIGH, in particular not input(). */
export const CLEAN: Case[] = [
  { name: 'sum', code: 'n = int(input())\na = list(map(int, input().split()))\nprint(sum(a))\n', expect: [] },
  { name: 'stdin-read', code: 'import sys\ndata = sys.stdin.read().split()\nprint(len(data))\n', expect: [] },
  {
    name: 'readline-alias',
    code: py`
import sys
input = sys.stdin.readline
t = int(input())
for _ in range(t):
    s = input().strip()
    print(s[::-1])
`,
    expect: [],
  },
  {
    name: 'bfs',
    code: py`
from collections import deque
import sys

def main():
    data = sys.stdin.buffer.read().split()
    n, m = int(data[0]), int(data[1])
    adj = [[] for _ in range(n + 1)]
    for i in range(m):
        u, v = int(data[2 + 2 * i]), int(data[3 + 2 * i])
        adj[u].append(v)
        adj[v].append(u)
    dist = [-1] * (n + 1)
    dist[1] = 0
    q = deque([1])
    while q:
        u = q.popleft()
        for v in adj[u]:
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                q.append(v)
    sys.stdout.write(" ".join(map(str, dist[1:])) + "\n")

if __name__ == "__main__":
    main()
`,
    expect: [],
  },
  {
    name: 'memo-dp',
    code: py`
import sys
from functools import lru_cache
sys.setrecursionlimit(10000)

@lru_cache(maxsize=None)
def ways(n):
    if n < 2:
        return 1
    return (ways(n - 1) + ways(n - 2)) % 1_000_000_007

print(ways(int(input())))
`,
    expect: [],
  },
  {
    name: 'dijkstra',
    code: py`
import heapq
n, m = map(int, input().split())
g = [[] for _ in range(n)]
for _ in range(m):
    a, b, w = map(int, input().split())
    g[a].append((b, w))
dist = [float("inf")] * n
dist[0] = 0
pq = [(0, 0)]
while pq:
    d, u = heapq.heappop(pq)
    if d > dist[u]:
        continue
    for v, w in g[u]:
        if d + w < dist[v]:
            dist[v] = d + w
            heapq.heappush(pq, (dist[v], v))
print(*dist)
`,
    expect: [],
  },
  {
    name: 'math-itertools',
    code: py`
from itertools import permutations
from math import gcd
nums = list(map(int, input().split()))
best = max(sum(p[i] * (i + 1) for i in range(len(p))) for p in permutations(nums))
print(best, gcd(*nums[:2]))
`,
    expect: [],
  },
  {
    name: 'function-call-style',
    code: py`
class Solution:
    def twoSum(self, nums, target):
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
`,
    expect: [],
  },
  {
    name: 'regex-json-hash',
    code: py`
import hashlib
import json
import re
line = input()
words = re.findall(r"[a-z]+", line)
print(json.dumps({"n": len(words)}), hashlib.sha256(line.encode()).hexdigest())
`,
    expect: [],
  },
  { name: 'open-0', code: 'print(sum(map(int, open(0).read().split())))\n', expect: [] },
  { name: 'safe-yaml', code: 'import yaml\nd = yaml.safe_load(input())\n', expect: [] },
  { name: 'requests-timeout', code: 'import requests\nr = requests.get("https://example.com", timeout=10)\n', expect: [] },
  { name: 'md5-not-for-security', code: 'import hashlib\nh = hashlib.md5(b"x", usedforsecurity=False)\n', expect: [] },
  { name: 'tar-filter-data', code: 'import tarfile\nwith tarfile.open("a.tar") as t:\n    t.extractall(filter="data")\n', expect: [] },
  { name: 'chmod-644', code: 'import os\nos.chmod("f", 0o644)\n', expect: [] },
  { name: 'rsa-2048', code: 'from cryptography.hazmat.primitives.asymmetric import rsa\nk = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n', expect: [] },
];

/**
 * Where Bandit (Debian's 1.6.2, after bandit.ts's normalisation) reports other MEDIUM/HIGH findings than
 * the ruff backend. Any disagreement not listed here fails the test; so does an entry that no longer disagrees.
 */
export const KNOWN_DISAGREEMENTS: Record<string, { bandit: string[]; reason: string }> = {
  'chmod-620': { bandit: [], reason: '1.6.2 checks only S_IWOTH and S_IXGRP; Bandit 1.7.5 added S_IWGRP and S_IXOTH' },
  'chmod-stat-constants': { bandit: [], reason: '1.6.2 sees a non-literal mode; Bandit 1.9.5 resolves stat.S_I* constants' },
  'bind-all': { bandit: [], reason: '1.6.2 visits ast.Str, which Python >= 3.8 never produces, so its string checks are dead' },
  'hardcoded-tmp': { bandit: [], reason: '1.6.2 string checks dead on Python >= 3.8 (ast.Str)' },
  'sql-percent': { bandit: [], reason: '1.6.2 string checks dead on Python >= 3.8 (ast.Str)' },
  'sql-fstring': { bandit: [], reason: '1.6.2 string checks dead on Python >= 3.8 (ast.Str)' },
  'flask-debug-unbound': { bandit: ['B201:HIGH'], reason: 'Ruff needs the Flask app bound to a name; Bandit matches any .run(debug=True) once flask is imported' },
  'requests-no-timeout': { bandit: [], reason: 'B113 was added in Bandit 1.7.5' },
  'tar-extractall': { bandit: [], reason: 'B202 was added in Bandit 1.7.5' },
  'tar-members-value': { bandit: [], reason: 'B202 was added in Bandit 1.7.5' },
  'hashlib-new-sha1': { bandit: [], reason: "1.6.2's hashlib.new check knows only md4/md5; current B324 adds sha/sha1" },
  'crypt-md5': { bandit: [], reason: 'the crypt weak-method check joined B324 in Bandit 1.7.6' },
  'mark-safe': { bandit: ['B308:MEDIUM', 'B703:MEDIUM'], reason: 'Bandit reports mark_safe twice (B308 and B703); Ruff has no B703' },
  'mark-safe-literal': { bandit: ['B308:MEDIUM'], reason: 'Ruff exempts a string-literal argument; Bandit B308 does not' },
  'import-xmlrpc': { bandit: [], reason: "1.6.2's B411 matches the Python 2 name xmlrpclib; current Bandit matches xmlrpc" },
  'import-pyghmi': { bandit: [], reason: 'B415 is newer than 1.6.2' },
  'paramiko-autoadd-instance': { bandit: [], reason: '1.6.2 recognises the policy class, not an instance; current Bandit accepts both' },
  'snmp-v1': { bandit: [], reason: 'B508 is newer than 1.6.2' },
  'snmp-noauth': { bandit: [], reason: 'B509 is newer than 1.6.2' },
  'paramiko-client-exec': { bandit: ['B601:MEDIUM'], reason: 'Ruff flags only paramiko.exec_command; Bandit any .exec_command once paramiko is imported' },
  'logging-listen': { bandit: [], reason: 'B612 is newer than 1.6.2' },
  'markup': { bandit: [], reason: 'B704 is newer than 1.6.2' },
};
