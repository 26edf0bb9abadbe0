"""The certificate signer: a small helper that alone holds the signing key.

Run as its own account (not the application's), e.g. through one sudoers line
``hcwh-course ALL=(hcwh-signer) NOPASSWD: /opt/hcwh/course-env/bin/python -m autograde.record.signer sign /etc/hcwh/signer/certificate.key``;
the application names that command in ``HCWH_SIGNER`` and reads only the public key
(``HCWH_SIGNER_PUBLIC_KEY``). It imports nothing of the application, only ``cryptography``:

    python -m autograde.record.signer init KEYFILE   a new Ed25519 key: KEYFILE (0600, this account's, made
                                                     once, never overwritten) and KEYFILE.pub (PEM, 0644)
    python -m autograde.record.signer sign KEYFILE   the payload on stdin (a certificate's canonical JSON,
                                                     at most 64 KiB); its signature on stdout (base64url)

``sign`` refuses a key that is a link, not owned by the account running it, or readable by anyone
else, and a payload that is not a certificate (``"kind": "hcwh certificate"``): it signs nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KIND = "hcwh certificate"
MAX_PAYLOAD = 64 * 1024


class SignerError(Exception):
    pass


def init(key: str) -> str:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise SignerError(f"{key} exists: a signing key is never overwritten (certificates it signed rest on it)") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(key + ".pub", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(public)
    os.chmod(key + ".pub", 0o644)
    return key + ".pub"


def load_key(key: str) -> Ed25519PrivateKey:
    try:
        fd = os.open(key, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SignerError(f"{key}: cannot open the signing key ({exc.strerror}; a link is refused)") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SignerError(f"{key}: the signing key is not a regular file")
        if info.st_uid != os.geteuid():
            raise SignerError(f"{key}: the signing key belongs to uid {info.st_uid}, not to the signer (uid {os.geteuid()})")
        if info.st_mode & 0o077:
            raise SignerError(f"{key}: the signing key is readable by others (mode {info.st_mode & 0o777:o}); "
                              "it must be 0600")
        return serialization.load_pem_private_key(f.read(), password=None)


def sign(key: str, payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise SignerError(f"the payload is {len(payload)} bytes, more than {MAX_PAYLOAD}")
    try:
        kind = json.loads(payload).get("kind")
    except (ValueError, AttributeError):
        kind = None
    if kind != KIND:
        raise SignerError(f'the payload is not a certificate ("kind": "{KIND}"); nothing was signed')
    return base64.urlsafe_b64encode(load_key(key).sign(payload)).rstrip(b"=").decode("ascii")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("init", "sign"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if args[0] == "init":
            print(f"signer: key {args[1]}, public key {init(args[1])}")
        else:
            print(sign(args[1], sys.stdin.buffer.read(MAX_PAYLOAD + 1)))
    except SignerError as exc:
        print(f"signer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
