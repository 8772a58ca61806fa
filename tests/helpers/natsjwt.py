#!/usr/bin/env python3
"""natsjwt.py DIR: a NATS operator, its system account, two accounts (A with
JetStream, B) and a user of each, made the way nsc makes them, for nats-server's operator mode
(resolver: MEMORY).  Writes into DIR:

  op.jwt             the operator's JWT (self-signed)
  resolver.conf      operator, resolver and resolver_preload lines to include
  a.creds, b.creds   a user credentials file (user JWT + its NKey seed) of
                     account A and of account B
  a-tampered.creds   a.creds with a claim of the JWT changed after signing
  a-wrongseed.creds  a.creds's JWT with the seed of b.creds's user
  c.creds            a user of account C, which no operator signed and
                     the server does not know

NKeys: base32 (no padding) of a prefix byte, the 32-byte Ed25519 key and
its CRC-16/XMODEM (little-endian); a seed has two prefix bytes.  JWTs:
base64url (no padding) header, claims and the Ed25519 signature of
"header.claims" by the issuer's seed (nats-io/jwt v2, nats-io/nkeys).
"""
import base64
import hashlib
import json
import os
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding, NoEncryption, PrivateFormat, PublicFormat)

PREFIX_SEED = 18 << 3
PREFIX_OPERATOR = 14 << 3
PREFIX_ACCOUNT = 0
PREFIX_USER = 20 << 3


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def b32(raw):
    return base64.b32encode(raw).decode().rstrip("=")


def nkey(raw):
    return b32(raw + crc16(raw).to_bytes(2, "little"))


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Key:
    def __init__(self, prefix):
        self.priv = Ed25519PrivateKey.generate()
        pub = self.priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        # private_bytes_raw() is newer than Debian 12's python3-cryptography
        seed = self.priv.private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                       NoEncryption())
        self.public = nkey(bytes([prefix]) + pub)
        self.seed = nkey(
            bytes([PREFIX_SEED | prefix >> 5, (prefix & 31) << 3]) + seed)


def jwt(issuer, subject, name, nats):
    header = b64url(
        json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    claims = {"iat": int(time.time()), "iss": issuer.public,
              "name": name, "sub": subject.public, "nats": nats}
    claims["jti"] = b32(hashlib.sha256(
        json.dumps(claims, sort_keys=True).encode()).digest())
    body = b64url(json.dumps(claims).encode())
    sig = issuer.priv.sign((header + "." + body).encode())
    return header + "." + body + "." + b64url(sig)


def account_jwt(op, acct, name, jetstream):
    limits = {"subs": -1, "data": -1, "payload": -1, "imports": -1,
              "exports": -1, "wildcards": True, "conn": -1, "leaf": -1}
    if jetstream:
        limits.update({"mem_storage": -1, "disk_storage": -1,
                       "streams": -1, "consumer": -1})
    return jwt(op, acct, name, {"limits": limits, "default_permissions":
                                {"pub": {}, "sub": {}},
                                "type": "account", "version": 2})


def user_jwt(acct, user, name):
    return jwt(acct, user, name, {"pub": {}, "sub": {}, "subs": -1,
                                  "data": -1, "payload": -1,
                                  "type": "user", "version": 2})


def creds(token, user):
    return ("-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
            "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n"
            % (token, user.seed))


def tamper(token):
    """the same JWT with its name claim changed; the signature kept"""
    h, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["name"] = "mallory"
    return h + "." + b64url(json.dumps(claims).encode()) + "." + sig


def write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def main():
    out = os.path.abspath(sys.argv[1])
    op = Key(PREFIX_OPERATOR)
    sys_acct = Key(PREFIX_ACCOUNT)
    accts = {"a": Key(PREFIX_ACCOUNT), "b": Key(PREFIX_ACCOUNT)}
    write(os.path.join(out, "op.jwt"),
          jwt(op, op, "sfop", {"system_account": sys_acct.public,
                               "type": "operator", "version": 2}))
    # JetStream needs a system account
    preload = ['  %s: "%s"' % (sys_acct.public,
                               account_jwt(op, sys_acct, "SYS", False))]
    seeds = {}
    for n, acct in accts.items():
        preload.append('  %s: "%s"' % (
            acct.public, account_jwt(op, acct, "acct-" + n, n == "a")))
        user = Key(PREFIX_USER)
        token = user_jwt(acct, user, "user-" + n)
        write(os.path.join(out, n + ".creds"), creds(token, user))
        seeds[n] = (token, user)
    token, user = seeds["a"]
    write(os.path.join(out, "a-tampered.creds"), creds(tamper(token), user))
    write(os.path.join(out, "a-wrongseed.creds"), creds(token, seeds["b"][1]))
    acct, user = Key(PREFIX_ACCOUNT), Key(PREFIX_USER)
    write(os.path.join(out, "c.creds"),
          creds(user_jwt(acct, user, "user-c"), user))
    write(os.path.join(out, "resolver.conf"),
          'operator: "%s"\nsystem_account: %s\nresolver: MEMORY\n'
          'resolver_preload: {\n%s\n}\n'
          % (os.path.join(out, "op.jwt"), sys_acct.public, "\n".join(preload)))


if __name__ == "__main__":
    main()
