"""Signed model files: an Ed25519 signature over everything a model file holds.

The checksum of a model file (:mod:`latentwatch.persistence`) detects damage, not
forgery: whoever can write the file can edit a threshold or swap two category labels and
recompute it. A signature made with a private key that only the model's publisher holds
closes that gap: ``fit --sign-key KEY`` (``model.save(path, sign_key=KEY)``) signs, and
``--verify-key KEY.pub`` (``load(path, verify_key=KEY.pub)``) refuses a file that is
unsigned, signed by another key, or changed after signing.

What is signed is the SHA-256 of an unambiguous, length-prefixed encoding of the file's
contents (:func:`contents_digest`): every tensor (name, dtype, shape and bytes: the
weights, the calibration scores, the latent prior) and the whole JSON document (the
parameters, the codec with its category labels and scales, the threshold, the fit's
history), prefixed by a fixed domain string so that the signature cannot be replayed as
the signature of anything else. The signature travels in the file's header under its own
key (``latentwatch.signature``: the algorithm, the public key's id and the signature);
keys live in files, never in the model.

Key files: PEM (PKCS#8 private keys, SubjectPublicKeyInfo public keys, as written by
:func:`write_key_pair`, ``latentwatch keygen`` or ``openssl genpkey -algorithm ed25519``),
an OpenSSH public key line (``ssh-ed25519 AAAA...``), or the 32 raw key bytes, as a binary
file or as 64 hexadecimal digits. Ed25519 comes from the ``cryptography`` package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from latentwatch.errors import KeyFileError, SignatureError

if TYPE_CHECKING:
    import torch
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

HEADER_KEY = "latentwatch.signature"
ALGORITHM = "ed25519"
DOMAIN = b"latentwatch model signature v1\n"

PrivateKey = Union[str, Path, "Ed25519PrivateKey"]
PublicKey = Union[str, Path, "Ed25519PublicKey"]

__all__ = ["ALGORITHM", "HEADER_KEY", "contents_digest", "key_id", "parts_digest",
           "private_key", "public_key", "sign", "verify", "write_key_pair"]


def _framed(sha: Any, part: bytes) -> None:
    """Feed ``part`` to ``sha`` preceded by its length (8 bytes, little-endian)."""
    sha.update(len(part).to_bytes(8, "little"))
    sha.update(part)


def contents_digest(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> bytes:
    """The SHA-256 that a signature covers: the number of tensors, then for each tensor
    in name order its name, dtype, shape and bytes, then the canonical JSON of the
    document without its ``sha256`` entry; every part length-prefixed, so that no two
    different contents encode to the same bytes.

    Examples
    --------
    >>> import torch
    >>> a = contents_digest({"w": torch.zeros(2)}, {"threshold": 1.0})
    >>> b = contents_digest({"w": torch.zeros(2)}, {"threshold": 1.5})
    >>> len(a), a == b
    (32, False)
    """
    import torch

    parts = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        parts[name] = (str(tensor.dtype), tuple(tensor.shape),
                       tensor.view(-1).view(torch.uint8).numpy().tobytes()
                       if tensor.numel() else b"")
    return parts_digest(parts, meta)


def parts_digest(parts: Mapping[str, tuple[str, tuple[int, ...], bytes]],
                 meta: Mapping[str, Any]) -> bytes:
    """:func:`contents_digest` of the tensors as ``name -> (dtype, shape, bytes)``, the
    dtype as torch names it (``"torch.float32"``) and the bytes little-endian: what a
    model file holds, read without torch.

    Examples
    --------
    >>> import torch
    >>> parts = {"w": ("torch.float32", (2,), bytes(8))}
    >>> parts_digest(parts, {}) == contents_digest({"w": torch.zeros(2)}, {})
    True
    """
    sha = hashlib.sha256()
    sha.update(len(parts).to_bytes(8, "little"))
    for name in sorted(parts):
        dtype, shape, data = parts[name]
        _framed(sha, name.encode("utf-8"))
        _framed(sha, dtype.encode())
        _framed(sha, json.dumps(list(shape)).encode())
        _framed(sha, bytes(data))
    body = {k: v for k, v in meta.items() if k != "sha256"}
    _framed(sha, json.dumps(body, sort_keys=True, separators=(",", ":"),
                            ensure_ascii=False).encode("utf-8"))
    return sha.digest()


def _ed25519():
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # a core dependency, but a broken install says so plainly
        raise KeyFileError("signed models need the 'cryptography' package: pip install "
                           "cryptography") from exc
    return ed25519


def _key_bytes(path: Path, role: str) -> bytes:
    if not path.is_file():
        raise KeyFileError(f"{path}: no such {role} key file")
    data = path.read_bytes()
    if len(data) > 1 << 16:
        raise KeyFileError(f"{path}: {len(data):,} bytes is not an Ed25519 {role} key file "
                           "(PEM, OpenSSH public key, or 32 raw bytes)")
    return data


def _raw32(data: bytes) -> bytes | None:
    """The 32 key bytes of a raw file: binary, or 64 hex digits."""
    if len(data) == 32:
        return data
    text = data.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
    return None


def private_key(key: PrivateKey) -> Ed25519PrivateKey:
    """The Ed25519 private key of ``key``: a key file (PEM or 32 raw bytes) or a key.

    Raises
    ------
    KeyFileError
        If the file is missing, is a public key, or holds no Ed25519 private key.
    """
    ed25519 = _ed25519()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    path = Path(key)
    data = _key_bytes(path, "private")
    if b"-----BEGIN" in data:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        if b"PUBLIC KEY-----" in data:
            raise KeyFileError(f"{path}: a public key; signing needs the private key (the "
                               "file `latentwatch keygen` wrote without .pub)")
        try:
            loaded = load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{path}: not a readable unencrypted PEM private key "
                               f"({' '.join(str(exc).split())})") from exc
        if not isinstance(loaded, ed25519.Ed25519PrivateKey):
            raise KeyFileError(f"{path}: a {type(loaded).__name__} key, not Ed25519; make "
                               "one with `latentwatch keygen`")
        return loaded
    raw = _raw32(data)
    if raw is None:
        raise KeyFileError(f"{path}: not an Ed25519 private key (expected PEM, 32 raw bytes "
                           "or 64 hex digits); make one with `latentwatch keygen`")
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw)


def public_key(key: PublicKey) -> Ed25519PublicKey:
    """The Ed25519 public key of ``key``: a key file (PEM, an OpenSSH ``ssh-ed25519``
    line, or 32 raw bytes) or a key.

    Raises
    ------
    KeyFileError
        If the file is missing, is a private key, or holds no Ed25519 public key.
    """
    ed25519 = _ed25519()
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    path = Path(key)
    data = _key_bytes(path, "public")
    from cryptography.hazmat.primitives import serialization

    if b"PRIVATE KEY-----" in data:
        raise KeyFileError(f"{path}: a private key; verifying needs only the public key "
                           "(the .pub file `latentwatch keygen` wrote): keep the private "
                           "key where the models are made")
    try:
        if b"-----BEGIN" in data:
            loaded = serialization.load_pem_public_key(data)
        elif data.lstrip().startswith(b"ssh-"):
            loaded = serialization.load_ssh_public_key(data.strip())
        else:
            raw = _raw32(data)
            if raw is None:
                raise KeyFileError(f"{path}: not an Ed25519 public key (expected PEM, an "
                                   "ssh-ed25519 line, 32 raw bytes or 64 hex digits)")
            loaded = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, AttributeError) as exc:
        if isinstance(exc, KeyFileError):
            raise
        raise KeyFileError(f"{path}: not a readable public key "
                           f"({' '.join(str(exc).split())})") from exc
    if not isinstance(loaded, ed25519.Ed25519PublicKey):
        raise KeyFileError(f"{path}: a {type(loaded).__name__} key, not Ed25519")
    return loaded


def _raw_public(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: PublicKey | PrivateKey) -> str:
    """A short name of a key pair: the first 16 hex digits of the SHA-256 of the raw
    public key (the same for the private key and its public key).

    Examples
    --------
    >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    >>> secret = Ed25519PrivateKey.from_private_bytes(bytes(32))
    >>> key_id(secret) == key_id(secret.public_key())
    True
    """
    ed25519 = _ed25519()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        try:
            key = public_key(key)
        except KeyFileError:
            key = private_key(key).public_key()
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def sign(digest: bytes, key: PrivateKey) -> str:
    """The header entry (JSON text) that signs a :func:`contents_digest`.

    Examples
    --------
    >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    >>> secret = Ed25519PrivateKey.from_private_bytes(bytes(32))
    >>> entry = sign(bytes(32), secret)
    >>> verify("m.lwm", entry, bytes(32), secret.public_key())
    >>> sorted(json.loads(entry))
    ['algorithm', 'key_id', 'signature']
    """
    secret = private_key(key)
    signature = secret.sign(DOMAIN + digest)
    return json.dumps({"algorithm": ALGORITHM, "key_id": key_id(secret),
                       "signature": base64.b64encode(signature).decode("ascii")})


def verify(path: str | Path, entry: str | None, digest: bytes, key: PublicKey) -> None:
    """Check that ``entry`` (the file's signature header, or None) signs ``digest`` with
    the private key of ``key``.

    Raises
    ------
    SignatureError
        One line naming the file: unsigned, signed by another key, or changed since it
        was signed.
    """
    from cryptography.exceptions import InvalidSignature

    public = public_key(key)
    expected = key_id(public)
    if entry is None:
        raise SignatureError(f"{path}: the model is not signed, and a signature by key "
                             f"{expected} is required; sign it where it is made (`latentwatch "
                             "fit ... --sign-key KEY` or `latentwatch sign MODEL --sign-key "
                             "KEY`)")
    try:
        fields = json.loads(entry)
        signature = base64.b64decode(fields["signature"], validate=True)
        algorithm, signer = fields["algorithm"], str(fields.get("key_id"))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise SignatureError(f"{path}: the model's signature is unreadable; it was damaged "
                             "or forged: do not use this file") from exc
    if algorithm != ALGORITHM:
        raise SignatureError(f"{path}: signed with {str(algorithm)[:40]!r}, not {ALGORITHM}; "
                             "do not use this file")
    if signer != expected:
        raise SignatureError(f"{path}: signed by key {signer[:16]}, not by the verify key "
                             f"{expected}: use the public key of the key that signed it, or "
                             "do not use this file")
    try:
        public.verify(signature, DOMAIN + digest)
    except InvalidSignature as exc:
        raise SignatureError(f"{path}: the signature by key {expected} does not match the "
                             "file's contents: it was changed after it was signed; do not "
                             "use it") from exc


def write_key_pair(private_path: str | Path, public_path: str | Path | None = None
                   ) -> tuple[Path, Path]:
    """Make a new Ed25519 key pair: the private key as PEM (PKCS#8, readable by its owner
    only) at ``private_path``, the public key as PEM at ``public_path`` (default:
    ``private_path`` + ``.pub``). Existing files are never overwritten.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The private and the public key files.

    Raises
    ------
    KeyFileError
        If either file exists.

    Examples
    --------
    >>> import tempfile, os
    >>> secret, public = write_key_pair(os.path.join(tempfile.mkdtemp(), "model.key"))
    >>> public.name, oct(secret.stat().st_mode & 0o777)
    ('model.key.pub', '0o600')
    >>> key_id(secret) == key_id(public)
    True
    """
    from cryptography.hazmat.primitives import serialization

    ed25519 = _ed25519()
    private_path = Path(private_path)
    public_path = Path(public_path) if public_path is not None else Path(
        f"{private_path}.pub")
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path}: already exists; a key is never overwritten: choose "
                               "another name or remove it first")
    secret = ed25519.Ed25519PrivateKey.generate()
    pem = secret.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(secret.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path
