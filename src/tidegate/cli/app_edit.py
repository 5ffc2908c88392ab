"""``tidegate app create`` and ``tidegate app set``: write Application specs.

Both take argocd's spec flags (built into a spec by :mod:`tidegate.cli.appspec`) and validate
the result with ``tidegate.model.parse_application`` before anything is sent (exit 2 with the
field path when invalid). ``create`` refuses to overwrite a different existing app without
``--upsert``; ``set`` sends a JSON merge patch of ``spec`` based on the version it read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import app_common, kubeopts
from tidegate.cli import app_edit_extra as ex

if TYPE_CHECKING:
    from tidegate.cli import app_access, appspec

Repo = Annotated[str | None, typer.Option("--repo", help="Repository URL.")]
SrcPath = Annotated[str | None, typer.Option("--path", help="Path in the repository.")]
Revision = Annotated[
    str | None, typer.Option("--revision", help="Branch, tag or commit to track (targetRevision).")
]
DestServer = Annotated[str | None, typer.Option("--dest-server", help="Destination API server.")]
DestName = Annotated[str | None, typer.Option("--dest-name", help="Destination cluster name.")]
DestNamespace = Annotated[
    str | None, typer.Option("--dest-namespace", help="Destination namespace.")
]
Project = Annotated[str | None, typer.Option("--project", help="AppProject of the app.")]
SyncPolicy = Annotated[
    str | None,
    typer.Option("--sync-policy", help="automated (auto, automatic) or none (manual)."),
]
AutoPrune = Annotated[
    bool | None,
    typer.Option("--auto-prune/--no-auto-prune", help="Automated sync deletes resources."),
]
SelfHeal = Annotated[
    bool | None,
    typer.Option("--self-heal/--no-self-heal", help="Automated sync reverts live changes."),
]
AllowEmpty = Annotated[
    bool | None,
    typer.Option("--allow-empty/--no-allow-empty", help="Automated sync may prune everything."),
]
SyncOption = Annotated[
    list[str] | None, typer.Option("--sync-option", help="Sync option K=V (repeatable).")
]
HelmSet = Annotated[list[str] | None, typer.Option("--helm-set", help="Helm parameter k=v.")]
HelmSetString = Annotated[
    list[str] | None, typer.Option("--helm-set-string", help="Helm string parameter k=v.")
]
Values = Annotated[list[str] | None, typer.Option("--values", help="Helm value file (repeat).")]
ReleaseName = Annotated[str | None, typer.Option("--release-name", help="Helm release name.")]
HelmChart = Annotated[
    str | None, typer.Option("--helm-chart", help="Chart name in a Helm repository (repoURL).")
]
HelmSetFile = Annotated[
    list[str] | None,
    typer.Option("--helm-set-file", help="Helm file parameter name=path (in the chart)."),
]
ValuesLiteralFile = Annotated[
    Path | None,
    typer.Option("--values-literal-file", help="Local file whose text becomes helm.values."),
]
HelmSkipCrds = Annotated[
    bool | None, typer.Option("--helm-skip-crds/--no-helm-skip-crds", help="Skip the chart's CRDs.")
]
HelmSkipSchema = Annotated[
    bool | None,
    typer.Option(
        "--helm-skip-schema-validation/--no-helm-skip-schema-validation",
        help="Skip values.schema.json validation.",
    ),
]
HelmSkipTests = Annotated[
    bool | None,
    typer.Option("--helm-skip-tests/--no-helm-skip-tests", help="Skip the chart's test hooks."),
]
HelmApiVersions = Annotated[
    list[str] | None,
    typer.Option("--helm-api-versions", help="API versions for Capabilities (repeat)."),
]
HelmKubeVersion = Annotated[
    str | None, typer.Option("--helm-kube-version", help="Kubernetes version for Capabilities.")
]
HelmNamespace = Annotated[
    str | None, typer.Option("--helm-namespace", help="Namespace helm renders into.")
]
HelmPassCredentials = Annotated[
    bool | None,
    typer.Option(
        "--helm-pass-credentials/--no-helm-pass-credentials",
        help="Send the repository's credentials to chart URLs on other hosts.",
    ),
]
IgnoreMissingValueFiles = Annotated[
    bool | None,
    typer.Option(
        "--ignore-missing-value-files/--no-ignore-missing-value-files",
        help="Skip value files that do not exist.",
    ),
]
Recurse = Annotated[
    bool | None,
    typer.Option("--directory-recurse/--no-directory-recurse", help="Directory: subdirectories."),
]
NamePrefix = Annotated[str | None, typer.Option("--nameprefix", help="Kustomize namePrefix.")]
NameSuffix = Annotated[str | None, typer.Option("--namesuffix", help="Kustomize nameSuffix.")]
KustomizeImage = Annotated[
    list[str] | None, typer.Option("--kustomize-image", help="Kustomize image override.")
]
SourcePosition = Annotated[
    int | None,
    typer.Option("--source-position", min=1, help="Multi-source apps: which source (1-based)."),
]

SourceName = Annotated[
    str | None, typer.Option("--source-name", help="Name of the source (multi-source: which).")
]
Ref = Annotated[str | None, typer.Option("--ref", help="The source's ref ($NAME in --values).")]
Parameter = Annotated[
    list[str] | None,
    typer.Option(
        "--parameter", "-p", help="Parameter override name=value (Helm apps: as --helm-set)."
    ),
]
RevisionHistoryLimit = Annotated[
    int | None,
    typer.Option("--revision-history-limit", help="History entries kept (default 10)."),
]
PluginName = Annotated[
    str | None, typer.Option("--config-management-plugin", help="Config management plugin name.")
]
JsonnetTlaStr = Annotated[
    list[str] | None, typer.Option("--jsonnet-tla-str", help="Jsonnet top-level string K=V.")
]
JsonnetTlaCode = Annotated[
    list[str] | None, typer.Option("--jsonnet-tla-code", help="Jsonnet top-level code K=CODE.")
]
JsonnetExtVarStr = Annotated[
    list[str] | None, typer.Option("--jsonnet-ext-var-str", help="Jsonnet external string K=V.")
]
JsonnetExtVarCode = Annotated[
    list[str] | None,
    typer.Option("--jsonnet-ext-var-code", help="Jsonnet external code K=CODE."),
]
JsonnetLibs = Annotated[
    list[str] | None,
    typer.Option("--jsonnet-libs", help="Jsonnet library path, from the repository root."),
]
PluginEnv = Annotated[
    list[str] | None, typer.Option("--plugin-env", help="Plugin environment K=V (repeatable).")
]


def _helm_flags(*, values_literal_file: Path | None, **values: Any) -> appspec.HelmFlags | None:
    """The ``--helm-*`` flags given (None if none); the literal values file is read here."""
    from tidegate.cli import appspec

    given: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None
    }
    if values_literal_file is not None:
        try:
            given["values_literal"] = values_literal_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"--values-literal-file {values_literal_file}: {exc}") from exc
    flags = appspec.HelmFlags(**given)
    return flags if flags.given() else None


def _flags(**values: Any) -> appspec.SpecFlags:
    from tidegate.cli import appspec

    given: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None
    }
    return appspec.SpecFlags(**given)


def _name_source(obj: dict[str, Any], *, source_name: str | None, ref: str | None) -> None:
    """``create --source-name/--ref``: the name and ref of the app's single source."""
    from tidegate.cli import appspec

    if not (source_name or ref):
        return
    spec = obj.get("spec") or {}
    if spec.get("sources"):
        raise appspec.FlagError(
            "--source-name", "the app has several sources: name them in the file"
        )
    source = spec.setdefault("source", {})
    if source_name:
        source["name"] = source_name
    if ref:
        source["ref"] = ref


def check_parameters(app: dict[str, Any], parameters: list[str] | None) -> None:
    """argocd's ``-p`` sets Helm parameters only: an app whose last comparison found another
    source type is refused (exit 2)."""
    from tidegate.cli import appspec

    found = str((app.get("status") or {}).get("sourceType") or "")
    if parameters and found not in ("", "Helm"):
        raise appspec.FlagError(
            "--parameter", f"parameters can only be set on Helm applications (this one is {found})"
        )


Validate = Annotated[
    str,
    typer.Option(
        "--validate",
        metavar="true|false",
        help="Check that each (changed) source's revision and path exist first (argocd's default).",
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Git cache for --validate (default: the user cache)."),
]


def flags_from(values: dict[str, Any]) -> appspec.SpecFlags:
    """The spec flags of ``set`` (and ``add-source``) from the command's parameters."""
    return _flags(
        repo=values.get("repo"),
        path=values.get("path"),
        revision=values.get("revision"),
        dest_server=values.get("dest_server"),
        dest_name=values.get("dest_name"),
        dest_namespace=values.get("dest_namespace"),
        project=values.get("project"),
        sync_policy=values.get("sync_policy"),
        auto_prune=values.get("auto_prune"),
        self_heal=values.get("self_heal"),
        allow_empty=values.get("allow_empty"),
        sync_options=values.get("sync_option"),
        helm_set=[*(values.get("helm_set") or []), *(values.get("parameter") or [])] or None,
        helm_set_string=values.get("helm_set_string"),
        values=values.get("values"),
        release_name=values.get("release_name"),
        helm=_helm_flags(
            chart=values.get("helm_chart"),
            set_file=values.get("helm_set_file"),
            values_literal_file=values.get("values_literal_file"),
            skip_crds=values.get("helm_skip_crds"),
            skip_schema_validation=values.get("helm_skip_schema_validation"),
            skip_tests=values.get("helm_skip_tests"),
            api_versions=values.get("helm_api_versions"),
            kube_version=values.get("helm_kube_version"),
            namespace=values.get("helm_namespace"),
            pass_credentials=values.get("helm_pass_credentials"),
            ignore_missing_value_files=values.get("ignore_missing_value_files"),
        ),
        directory_recurse=values.get("directory_recurse"),
        nameprefix=values.get("nameprefix"),
        namesuffix=values.get("namesuffix"),
        kustomize_images=values.get("kustomize_image"),
        source_position=values.get("source_position"),
        plugin_name=values.get("config_management_plugin"),
        plugin_env=values.get("plugin_env"),
        jsonnet_tla_str=values.get("jsonnet_tla_str"),
        jsonnet_tla_code=values.get("jsonnet_tla_code"),
        jsonnet_ext_var_str=values.get("jsonnet_ext_var_str"),
        jsonnet_ext_var_code=values.get("jsonnet_ext_var_code"),
        jsonnet_libs=values.get("jsonnet_libs"),
        extras=ex.source_extras(
            common_labels=values.get("kustomize_common_label"),
            common_annotations=values.get("kustomize_common_annotation"),
            force_common_labels=values.get("kustomize_force_common_label"),
            force_common_annotations=values.get("kustomize_force_common_annotation"),
            label_without_selector=values.get("kustomize_label_without_selector"),
            label_include_templates=values.get("kustomize_label_include_templates"),
            kustomize_namespace=values.get("kustomize_namespace"),
            replicas=values.get("kustomize_replica"),
            kube_version=values.get("kustomize_kube_version"),
            api_versions=values.get("kustomize_api_versions"),
            ignore_missing_components=values.get("ignore_missing_components"),
            directory_include=values.get("directory_include"),
            directory_exclude=values.get("directory_exclude"),
            directory_disable_extension_filter=values.get("directory_disable_extension_filter"),
        ),
        retry=ex.retry_flags(
            limit=values.get("sync_retry_limit"),
            backoff_duration=values.get("sync_retry_backoff_duration"),
            backoff_max_duration=values.get("sync_retry_backoff_max_duration"),
            backoff_factor=values.get("sync_retry_backoff_factor"),
            refresh=values.get("sync_retry_refresh"),
        ),
        revision_history_limit=values.get("revision_history_limit"),
    )


def _load(file: str) -> list[dict[str, Any]]:
    """Application manifests from a YAML file (``-``: stdin), one per document."""
    import sys

    from tidegate.cli import appspec
    from tidegate.model import errors
    from tidegate.render import manifests

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        docs = manifests.parse_yaml(text, where=file, max_alias_expansion=10_000)
    except OSError as exc:
        raise appspec.FlagError("--file", f"cannot read {file}: {exc.strerror}") from None
    except errors.ManifestError as exc:
        raise appspec.FlagError("--file", str(exc)) from None
    for doc in docs:
        if doc.get("kind") != "Application":
            raise appspec.FlagError("--file", f"{file}: every document must be an Application")
    if not docs:
        raise appspec.FlagError("--file", f"{file} holds no Application")
    return docs


def _same(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    from tidegate.model import application

    def view(obj: dict[str, Any]) -> tuple[Any, ...]:
        meta = obj.get("metadata") or {}
        spec = application.dump_application(application.parse_application(obj))["spec"]
        return spec, meta.get("labels") or {}, sorted(meta.get("finalizers") or [])

    ann = (wanted.get("metadata") or {}).get("annotations") or {}
    current = (existing.get("metadata") or {}).get("annotations") or {}
    return view(existing) == view(wanted) and all(current.get(k) == v for k, v in ann.items())


async def _create_one(apps: app_access.Apps, obj: dict[str, Any], *, upsert: bool) -> str:
    from tidegate.model import errors

    app_common.validate(obj)
    meta = obj["metadata"]
    name, ns = meta["name"], meta["namespace"]
    existing = await apps.get_or_none(name, namespace=ns)
    if existing is None:
        await apps.create(obj)
        return f"application '{name}' created"
    if _same(existing, obj):
        return f"application '{name}' unchanged"
    if not upsert:
        raise errors.ConfigError(
            f"application '{ns}/{name}' already exists with a different spec; "
            "use --upsert to overwrite it"
        )
    updated = dict(existing)
    updated["spec"] = obj["spec"]
    new_meta = dict(existing["metadata"])
    for field in ("labels", "annotations", "finalizers"):
        if meta.get(field):
            new_meta[field] = meta[field]
        else:
            new_meta.pop(field, None)
    updated["metadata"] = new_meta
    await apps.replace(updated)
    return f"application '{name}' updated"


def create(
    name: Annotated[
        str | None, typer.Argument(help="Application name (or NAMESPACE/NAME).")
    ] = None,
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="Application manifest(s), '-' for stdin.")
    ] = None,
    upsert: Annotated[bool, typer.Option("--upsert", help="Overwrite a different app.")] = False,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="Label k=v.")] = None,
    annotations: Annotated[
        list[str] | None, typer.Option("--annotations", help="Annotation k=v.")
    ] = None,
    set_finalizer: Annotated[
        bool, typer.Option("--set-finalizer", help="Delete the app's resources with the app.")
    ] = False,
    repo: Repo = None,
    path: SrcPath = None,
    revision: Revision = None,
    dest_server: DestServer = None,
    dest_name: DestName = None,
    dest_namespace: DestNamespace = None,
    project: Project = None,
    sync_policy: SyncPolicy = None,
    auto_prune: AutoPrune = None,
    self_heal: SelfHeal = None,
    allow_empty: AllowEmpty = None,
    sync_option: SyncOption = None,
    helm_set: HelmSet = None,
    helm_set_string: HelmSetString = None,
    values: Values = None,
    release_name: ReleaseName = None,
    helm_chart: HelmChart = None,
    helm_set_file: HelmSetFile = None,
    values_literal_file: ValuesLiteralFile = None,
    helm_skip_crds: HelmSkipCrds = None,
    helm_skip_schema_validation: HelmSkipSchema = None,
    helm_skip_tests: HelmSkipTests = None,
    helm_api_versions: HelmApiVersions = None,
    helm_kube_version: HelmKubeVersion = None,
    helm_namespace: HelmNamespace = None,
    helm_pass_credentials: HelmPassCredentials = None,
    ignore_missing_value_files: IgnoreMissingValueFiles = None,
    directory_recurse: Recurse = None,
    nameprefix: NamePrefix = None,
    namesuffix: NameSuffix = None,
    kustomize_image: KustomizeImage = None,
    validate: Validate = "true",
    cache_dir: CacheDir = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    config_management_plugin: PluginName = None,
    plugin_env: PluginEnv = None,
    jsonnet_tla_str: JsonnetTlaStr = None,
    jsonnet_tla_code: JsonnetTlaCode = None,
    jsonnet_ext_var_str: JsonnetExtVarStr = None,
    jsonnet_ext_var_code: JsonnetExtVarCode = None,
    jsonnet_libs: JsonnetLibs = None,
    kustomize_common_label: ex.CommonLabel = None,
    kustomize_common_annotation: ex.CommonAnnotation = None,
    kustomize_force_common_label: ex.ForceCommonLabel = None,
    kustomize_force_common_annotation: ex.ForceCommonAnnotation = None,
    kustomize_label_without_selector: ex.LabelWithoutSelector = None,
    kustomize_label_include_templates: ex.LabelIncludeTemplates = None,
    kustomize_namespace: ex.KustomizeNamespace = None,
    kustomize_replica: ex.Replica = None,
    kustomize_kube_version: ex.KubeVersion = None,
    kustomize_api_versions: ex.ApiVersions = None,
    ignore_missing_components: ex.IgnoreMissingComponents = None,
    directory_include: ex.DirectoryInclude = None,
    directory_exclude: ex.DirectoryExclude = None,
    directory_disable_extension_filter: ex.DirectoryDisableExtensionFilter = None,
    sync_retry_limit: ex.RetryLimit = None,
    sync_retry_backoff_duration: ex.RetryDuration = None,
    sync_retry_backoff_max_duration: ex.RetryMaxDuration = None,
    sync_retry_backoff_factor: ex.RetryFactor = None,
    sync_retry_refresh: ex.RetryRefresh = None,
    revision_history_limit: RevisionHistoryLimit = None,
    parameter: Parameter = None,
    name_flag: Annotated[
        str | None, typer.Option("--name", help="Application name (instead of NAME).")
    ] = None,
    source_name: SourceName = None,
    ref: Ref = None,
) -> None:
    """Create an Application from flags or from -f FILE (verbatim Argo CD manifests).

    Flags given with -f override the file. The app is validated before it is sent (exit 2
    with the field path when invalid), and each source's revision and path must exist (exit 1
    naming them; --validate=false skips that check). An existing app with another spec is
    left alone unless --upsert.
    """
    from tidegate.cli import appspec

    flags = flags_from(locals())
    if name_flag:
        if name and name.rpartition("/")[2] != name_flag:
            raise typer.BadParameter(f"NAME {name!r} and --name {name_flag!r} disagree")
        name = name or name_flag

    async def go() -> list[str]:
        from tidegate.cli import app_access, app_sources

        check_sources = app_sources.parse_validate(validate)
        ns, app_name = appspec.split_name(name, namespace) if name else (namespace, "")
        if file:
            bases: list[dict[str, Any] | None] = list(_load(file))
            if app_name and len(bases) > 1:
                raise appspec.FlagError("NAME", f"{file} holds several apps; omit NAME")
        elif not app_name:
            raise appspec.FlagError("NAME", "an application name (or -f FILE) is required")
        else:
            bases = [None]
        objs = [
            appspec.new_application(
                app_name,
                ns,
                flags,
                labels=label or (),
                annotations=annotations or (),
                set_finalizer=set_finalizer,
                base=base,
            )
            for base in bases
        ]
        for obj in objs:
            _name_source(obj, source_name=source_name, ref=ref)
            app_common.validate(obj)
        async with app_access.connect(kubeconfig, context, namespace) as apps:
            if check_sources:  # every app's sources first: nothing is created on a bad one
                secrets = await apps.secrets()
                for obj in objs:
                    await app_sources.check_sources(obj, secrets=secrets, cache_dir=cache_dir)
            return [await _create_one(apps, obj, upsert=upsert) for obj in objs]

    for line in app_common.run(go()):
        app_common.echo(line)


def set_(
    name: str = app_common.NAME_ARGUMENT,
    repo: Repo = None,
    path: SrcPath = None,
    revision: Revision = None,
    dest_server: DestServer = None,
    dest_name: DestName = None,
    dest_namespace: DestNamespace = None,
    project: Project = None,
    sync_policy: SyncPolicy = None,
    auto_prune: AutoPrune = None,
    self_heal: SelfHeal = None,
    allow_empty: AllowEmpty = None,
    sync_option: SyncOption = None,
    helm_set: HelmSet = None,
    helm_set_string: HelmSetString = None,
    values: Values = None,
    release_name: ReleaseName = None,
    helm_chart: HelmChart = None,
    helm_set_file: HelmSetFile = None,
    values_literal_file: ValuesLiteralFile = None,
    helm_skip_crds: HelmSkipCrds = None,
    helm_skip_schema_validation: HelmSkipSchema = None,
    helm_skip_tests: HelmSkipTests = None,
    helm_api_versions: HelmApiVersions = None,
    helm_kube_version: HelmKubeVersion = None,
    helm_namespace: HelmNamespace = None,
    helm_pass_credentials: HelmPassCredentials = None,
    ignore_missing_value_files: IgnoreMissingValueFiles = None,
    directory_recurse: Recurse = None,
    nameprefix: NamePrefix = None,
    namesuffix: NameSuffix = None,
    kustomize_image: KustomizeImage = None,
    source_position: SourcePosition = None,
    source_name: SourceName = None,
    ref: Ref = None,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    config_management_plugin: PluginName = None,
    plugin_env: PluginEnv = None,
    jsonnet_tla_str: JsonnetTlaStr = None,
    jsonnet_tla_code: JsonnetTlaCode = None,
    jsonnet_ext_var_str: JsonnetExtVarStr = None,
    jsonnet_ext_var_code: JsonnetExtVarCode = None,
    jsonnet_libs: JsonnetLibs = None,
    kustomize_common_label: ex.CommonLabel = None,
    kustomize_common_annotation: ex.CommonAnnotation = None,
    kustomize_force_common_label: ex.ForceCommonLabel = None,
    kustomize_force_common_annotation: ex.ForceCommonAnnotation = None,
    kustomize_label_without_selector: ex.LabelWithoutSelector = None,
    kustomize_label_include_templates: ex.LabelIncludeTemplates = None,
    kustomize_namespace: ex.KustomizeNamespace = None,
    kustomize_replica: ex.Replica = None,
    kustomize_kube_version: ex.KubeVersion = None,
    kustomize_api_versions: ex.ApiVersions = None,
    ignore_missing_components: ex.IgnoreMissingComponents = None,
    directory_include: ex.DirectoryInclude = None,
    directory_exclude: ex.DirectoryExclude = None,
    directory_disable_extension_filter: ex.DirectoryDisableExtensionFilter = None,
    sync_retry_limit: ex.RetryLimit = None,
    sync_retry_backoff_duration: ex.RetryDuration = None,
    sync_retry_backoff_max_duration: ex.RetryMaxDuration = None,
    sync_retry_backoff_factor: ex.RetryFactor = None,
    sync_retry_refresh: ex.RetryRefresh = None,
    revision_history_limit: RevisionHistoryLimit = None,
    parameter: Parameter = None,
    validate: Validate = "true",
    cache_dir: CacheDir = None,
) -> None:
    """Change an Application's spec (a JSON merge patch of the fields the flags name).

    A source the flags change is checked first (its revision and path exist; --validate=false
    skips it), as create checks them: a bad one is exit 1 and nothing is written."""
    from tidegate.cli import app_sources, appspec

    flags = flags_from(locals())
    if not flags.given() and not ref:
        raise typer.BadParameter("nothing to change: give at least one flag")

    async def go() -> str:
        import dataclasses

        from tidegate.cli import app_access, appspec_extra

        check = app_sources.parse_validate(validate)
        ns, app_name = appspec.split_name(name, namespace)
        async with app_access.connect(kubeconfig, context, ns) as apps:
            current = await apps.get(app_name)
            check_parameters(current, parameter)
            before = current.get("spec") or {}
            at = appspec_extra.source_position(before, position=source_position, name=source_name)
            spec = appspec.apply_flags(before, dataclasses.replace(flags, source_position=at))
            if ref:
                sources = spec.get("sources") or []
                if sources and at is None:
                    raise appspec.FlagError("--ref", "several sources: give --source-position")
                (sources[at - 1] if sources and at else spec.setdefault("source", {}))["ref"] = ref
            app_common.validate({**current, "spec": spec})
            patch = appspec.merge_patch(current.get("spec") or {}, spec)
            if not patch:
                return f"application '{app_name}' unchanged"
            changed = app_sources.changed_sources(before, spec)
            if check and changed:  # the others were checked when they were set
                probe = {**current, "spec": {**spec, "sources": changed}}
                await app_sources.check_sources(probe, secrets=await apps.secrets(),
                                                cache_dir=cache_dir)  # fmt: skip
            version = str((current.get("metadata") or {}).get("resourceVersion") or "")
            await apps.patch(app_name, {"spec": patch}, resource_version=version)
            return f"application '{app_name}' updated"

    app_common.echo(app_common.run(go()))
