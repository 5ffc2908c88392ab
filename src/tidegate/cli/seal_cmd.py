"""``tidegate seal``: kubeseal's command, flag for flag (Secret in, SealedSecret out).

The certificate comes from ``--cert FILE|URL`` or from the cluster (``--context``, or
``--cluster NAME`` from Tidegate's registry): the newest active key Secret in
``--controller-namespace``, of which only ``tls.crt`` is used. ``--validate`` and
``--re-encrypt`` ask the controller through the API server's service proxy, as kubeseal does.
``--recovery-unseal`` decrypts with exported private keys (disaster recovery) and prints Secrets.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import kubeopts
from tidegate.model import constants
from tidegate.sealedsecrets import names

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa


# (the target cluster's settings, controller namespace, controller Service name)
Service = tuple[Callable[[], Awaitable[Any]], str, str]


class Format(enum.StrEnum):
    json = "json"
    yaml = "yaml"


class ScopeOption(enum.StrEnum):
    strict = "strict"
    namespace_wide = "namespace-wide"
    cluster_wide = "cluster-wide"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _read_docs(text: str, source: str) -> list[dict[str, Any]]:
    """One or more objects: JSON, or YAML (multi-document)."""
    import json

    import yaml

    stripped = text.lstrip()
    if not stripped:
        raise _fail(f"{source}: empty input")
    try:
        if stripped.startswith("{"):
            return [json.loads(text)]
        docs = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    except (ValueError, yaml.YAMLError) as exc:
        raise _fail(f"{source}: not JSON or YAML ({type(exc).__name__})") from None
    if not all(isinstance(d, dict) for d in docs):
        raise _fail(f"{source}: expected Kubernetes objects")
    return docs


def _dump(objs: list[dict[str, Any]], fmt: Format) -> str:
    import json

    import yaml

    if fmt is Format.json:
        return "".join(json.dumps(o, indent=2) + "\n" for o in objs)
    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objs)


async def _target(
    kubeconfig: str | None, context: str | None, cluster: str, control_ns: str
) -> Any:
    """The cluster to seal for: ``--context`` of the kubeconfig, or with ``--cluster NAME`` the
    cluster of that name (or server) in Tidegate's registry, with its cluster Secret's
    credentials (``--context`` then picks the management cluster)."""
    from tidegate.model import errors

    if not cluster:
        return kubeopts.cluster_config(kubeconfig, context)
    from tidegate.cli import cluster_cmd

    try:
        return await cluster_cmd.registered_config(kubeconfig, context, control_ns, cluster)
    except errors.TidegateError as exc:
        raise _fail(str(exc)) from None


def _certificate_pem(cert: str, target: Callable[[], Awaitable[Any]], ns: str) -> bytes:
    if cert.startswith(("http://", "https://")):
        import httpx

        try:
            resp = httpx.get(cert, timeout=30, follow_redirects=True)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise _fail(f"cannot fetch certificate from {cert}: {exc}") from None
        return resp.content
    if cert:
        try:
            return Path(cert).read_bytes()
        except OSError as exc:
            raise _fail(f"cannot read certificate {cert}: {exc.strerror}") from None
    from tidegate.kube import client as kube_client
    from tidegate.sealedsecrets import keystore

    async def fetch() -> bytes:
        async with kube_client.client_for(await target()) as client:
            return await keystore.certificates_pem(client, ns)

    return kubeopts.run(fetch())


def _public_key(pem: bytes, source: str) -> rsa.RSAPublicKey:
    from tidegate.sealedsecrets import keys

    try:
        cert = keys.load_certificate(pem, source=source)
        return keys.public_key_of(cert, source=source)
    except keys.KeyMaterialError as exc:
        raise _fail(str(exc)) from None


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The kubeconfig context's namespace (kubeseal's default for a Secret without one)."""
    from tidegate.model import errors

    try:
        return kubeopts.cluster_config(kubeconfig, context).namespace or "default"
    except errors.TidegateError:
        return "default"


def seal(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            help="Kubeconfig context of the target cluster (with --cluster: of the management "
            "cluster).",
        ),
    ] = None,
    cluster: Annotated[
        str,
        typer.Option(
            "--cluster", help="Target cluster by name (or server) from Tidegate's registry."
        ),
    ] = "",
    control_namespace: Annotated[
        str,
        typer.Option(
            "--control-namespace",
            envvar=constants.ENV_CONTROL_NAMESPACE,
            help="Control namespace holding the cluster Secrets (--cluster).",
        ),
    ] = constants.DEFAULT_CONTROL_NAMESPACE,
    cert: Annotated[
        str,
        typer.Option(
            "--cert", envvar="SEALED_SECRETS_CERT", help="Certificate FILE or URL to seal with."
        ),
    ] = "",
    fetch_cert: Annotated[
        bool, typer.Option("--fetch-cert", help="Print the cluster's sealing certificate.")
    ] = False,
    controller_name: Annotated[
        str,
        typer.Option(
            "--controller-name",
            envvar="SEALED_SECRETS_CONTROLLER_NAME",
            help="Name of the controller's Service (--validate, --re-encrypt).",
        ),
    ] = names.CONTROLLER_NAME,
    controller_namespace: Annotated[
        str,
        typer.Option(
            "--controller-namespace",
            envvar="SEALED_SECRETS_CONTROLLER_NAMESPACE",
            help="Namespace of the sealing key Secrets.",
        ),
    ] = names.CONTROLLER_NAMESPACE,
    scope: Annotated[
        ScopeOption | None,
        typer.Option(
            "--scope",
            help="strict, namespace-wide or cluster-wide (default: the "
            "Secret's annotations, else strict).",
        ),
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Seal one value (--from-file or stdin); print base64.")
    ] = False,
    name: Annotated[str, typer.Option("--name", help="Secret name (--raw, strict).")] = "",
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Secret namespace (--raw; default for input).")
    ] = "",
    from_file: Annotated[
        str, typer.Option("--from-file", help="[key=]path of the value to seal (--raw).")
    ] = "",
    merge_into: Annotated[
        str, typer.Option("--merge-into", help="Seal the input's values into this file.")
    ] = "",
    secret_file: Annotated[
        str, typer.Option("--secret-file", "-f", help="Input Secret file (default stdin).")
    ] = "",
    sealed_secret_file: Annotated[
        str, typer.Option("--sealed-secret-file", "-w", help="Output file (default stdout).")
    ] = "",
    fmt: Annotated[Format, typer.Option("--format", "-o", help="json or yaml.")] = Format.json,
    allow_empty_data: Annotated[bool, typer.Option("--allow-empty-data")] = False,
    validate: Annotated[
        bool,
        typer.Option("--validate", help="Check that the controller can decrypt the input."),
    ] = False,
    re_encrypt: Annotated[
        bool,
        typer.Option("--re-encrypt", help="Re-encrypt the input SealedSecret with the newest key."),
    ] = False,
    recovery_unseal: Annotated[
        bool, typer.Option("--recovery-unseal", help="Decrypt SealedSecrets with key files.")
    ] = False,
    recovery_private_key: Annotated[
        list[str] | None,
        typer.Option("--recovery-private-key", help="Private key PEM file(s) for recovery."),
    ] = None,
) -> None:
    """Seal a Secret read on stdin (or -f) for one cluster, as kubeseal does.

    Exit codes: 0 done, 1 bad input or unusable certificate/cluster, 2 usage error.
    """
    from tidegate.sealedsecrets import crypto, sealing

    if cluster and cert:
        raise _fail("--cluster and --cert are mutually exclusive", code=2)

    async def target() -> Any:
        return await _target(kubeconfig, context, cluster, control_namespace)

    if fetch_cert:
        sys.stdout.buffer.write(_certificate_pem(cert, target, controller_namespace))
        return
    if recovery_unseal:
        _recovery_unseal(recovery_private_key or [], secret_file, sealed_secret_file, fmt)
        return
    if validate or re_encrypt:
        sealed_in = _read_docs(
            Path(secret_file).read_text() if secret_file else sys.stdin.read(),
            secret_file or "stdin",
        )
        service = (target, controller_namespace, controller_name)
        if validate:
            _validate(sealed_in, service)
            return
        _write(_dump(_re_encrypt(sealed_in, service), fmt), sealed_secret_file)
        return
    chosen = crypto.Scope(scope.value) if scope is not None else None

    def public_key() -> rsa.RSAPublicKey:
        pem = _certificate_pem(cert, target, controller_namespace)
        return _public_key(pem, cert or f"the cluster's key in {controller_namespace}")

    try:
        if raw:
            value = _raw_input(from_file)
            if not namespace and (chosen or crypto.Scope.STRICT) is not crypto.Scope.CLUSTER_WIDE:
                namespace = _context_namespace(kubeconfig, context)
            text = sealing.seal_raw(
                value,
                public_key(),
                scope=chosen or crypto.Scope.STRICT,
                namespace=namespace,
                name=name,
            )
            _write(text, sealed_secret_file)
            return
        source = secret_file or "stdin"
        text_in = Path(secret_file).read_text() if secret_file else sys.stdin.read()
        secrets = _read_docs(text_in, source)
        if merge_into:
            merge_path = Path(merge_into)
            original = merge_path.read_text()
            sealed_docs = _read_docs(original, merge_into)
            if len(sealed_docs) != 1 or len(secrets) != 1:
                raise _fail("--merge-into takes one Secret and one SealedSecret")
            merged = sealing.merge_into(sealed_docs[0], secrets[0], public_key())
            out_fmt = Format.json if original.lstrip().startswith("{") else Format.yaml
            merge_path.write_text(_dump([merged], out_fmt))
            return
        default_ns = namespace
        if not default_ns and any(not (s.get("metadata") or {}).get("namespace") for s in secrets):
            default_ns = _context_namespace(kubeconfig, context)  # reads the kubeconfig
        key = public_key()
        sealed = [
            sealing.seal_secret(
                s,
                key,
                scope=chosen,
                default_namespace=default_ns,
                allow_empty_data=allow_empty_data,
            )
            for s in secrets
        ]
    except (crypto.SealError, OSError) as exc:
        raise _fail(str(exc)) from None
    _write(_dump(sealed, fmt), sealed_secret_file)


def _validate(docs: list[dict[str, Any]], service: Service) -> None:
    """kubeseal --validate: exit 0 when the controller decrypts every input, else 1."""
    from tidegate.kube import client as kube_client
    from tidegate.model import errors
    from tidegate.sealedsecrets import service as controller_service

    target, ns, name = service

    async def check() -> list[bool]:
        async with kube_client.client_for(await target()) as client:
            return [await controller_service.verify(client, ns, name, d) for d in docs]

    try:
        results = kubeopts.run(check())
    except errors.TidegateError as exc:
        raise _fail(f"cannot validate: {exc}") from None
    if not all(results):
        raise _fail("unable to decrypt sealed secret")


def _re_encrypt(docs: list[dict[str, Any]], service: Service) -> list[dict[str, Any]]:
    """kubeseal --re-encrypt: the controller seals the values again with its newest key."""
    from tidegate.kube import client as kube_client
    from tidegate.model import errors
    from tidegate.sealedsecrets import service as controller_service

    target, ns, name = service

    async def rotate() -> list[dict[str, Any]]:
        async with kube_client.client_for(await target()) as client:
            return [await controller_service.rotate(client, ns, name, d) for d in docs]

    try:
        return kubeopts.run(rotate())
    except errors.KubeConflictError:
        raise _fail("unable to decrypt sealed secret") from None
    except errors.TidegateError as exc:
        raise _fail(f"cannot re-encrypt: {exc}") from None


def _raw_input(from_file: str) -> bytes:
    if not from_file:
        return sys.stdin.buffer.read()
    _key, _, path = from_file.rpartition("=")
    return Path(path).read_bytes()


def _write(text: str, path: str) -> None:
    if path:
        Path(path).write_text(text)
    else:
        sys.stdout.write(text)


def _recovery_unseal(key_files: list[str], secret_file: str, out: str, fmt: Format) -> None:
    from tidegate.cli import sealed_secrets_cmd
    from tidegate.sealedsecrets import crypto, keys, unsealing

    if not key_files:
        raise _fail("--recovery-unseal needs --recovery-private-key FILE", code=2)
    private: list[rsa.RSAPrivateKey] = []
    for item in key_files:
        for path in item.split(","):
            try:
                private += keys.load_private_keys(Path(path).read_bytes(), source=path)
            except OSError as exc:
                raise _fail(f"cannot read {path}: {exc.strerror}") from None
            except keys.KeyMaterialError as exc:
                raise _fail(str(exc)) from None
    source = secret_file or "stdin"
    text = Path(secret_file).read_text() if secret_file else sys.stdin.read()
    render = sealed_secrets_cmd.renderer()
    secrets = []
    for doc in _read_docs(text, source):
        try:
            secret = unsealing.unseal(doc, private, render=render)
        except crypto.UnsealError as exc:
            raise _fail(str(exc)) from None
        secret["metadata"].pop("ownerReferences", None)
        secrets.append(secret)
    _write(_dump(secrets, fmt), out)
