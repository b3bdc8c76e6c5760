"""``latentwatch keygen`` and ``latentwatch sign``: the keys of signed models
(:mod:`latentwatch.signing`)."""

from __future__ import annotations

from typing import Annotated

import typer

from latentwatch.cli import options as opt
from latentwatch.cli.errors import fail


def keygen(
    out: Annotated[str, typer.Option(
        "--out", "-o", help="The private key file (PEM, readable by you only); the public "
        "key goes beside it with .pub added.")] = "latentwatch.key",
    public: Annotated[str | None, typer.Option(
        "--public", show_default="--out + .pub", help="The public key file.")] = None,
    debug: opt.Debug = False,
) -> None:
    """Make an Ed25519 key pair for signed models: sign with the private key where models
    are made (fit --sign-key), and give the public key to every place that loads them
    (score, serve, ... --verify-key). Existing files are never overwritten.

    [bold]Example:[/bold] latentwatch keygen -o fraud.key
    """
    from latentwatch.signing import key_id, write_key_pair

    secret, public_path = write_key_pair(out, public)
    typer.echo(f"wrote the private key {secret} (keep it secret) and the public key "
               f"{public_path}; key id {key_id(public_path)}", err=True)


def sign(
    model: opt.Model,
    sign_key: Annotated[str | None, typer.Option(
        "--sign-key", envvar="LATENTWATCH_SIGN_KEY", show_default=False,
        help="Ed25519 private key file (latentwatch keygen).")] = None,
    out: Annotated[str | None, typer.Option(
        "--out", "-o", show_default="MODEL itself", help="Where to write the signed model."
    )] = None,
    debug: opt.Debug = False,
) -> None:
    """Sign an existing model file (after its checksum and contents are checked), so that
    --verify-key accepts it. Sign only models whose origin you trust: the signature
    vouches for the file as it is now.

    [bold]Example:[/bold] latentwatch sign fraud.lwm --sign-key fraud.key
    """
    from latentwatch.persistence import sign_file
    from latentwatch.signing import key_id, private_key

    if sign_key is None:
        fail("--sign-key: pass the private key file to sign with (latentwatch keygen makes one)")
    secret = private_key(sign_key)
    target = sign_file(model, secret, out)
    typer.echo(f"signed {target} with key {key_id(secret)}", err=True)
