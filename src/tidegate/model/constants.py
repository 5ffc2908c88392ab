"""Names of annotations, labels and well-known values: the leaf module every package imports."""

from __future__ import annotations

from typing import Final

GROUP: Final = "argoproj.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

DEFAULT_CONTROL_NAMESPACE: Final = "argocd"
IN_CLUSTER_SERVER: Final = "https://kubernetes.default.svc"
IN_CLUSTER_NAME: Final = "in-cluster"
DEFAULT_PROJECT: Final = "default"
FIELD_MANAGER: Final = "tidegate"

# Labels and annotations in Argo CD's dialect.
LABEL_SECRET_TYPE: Final = "argocd.argoproj.io/secret-type"
SECRET_TYPE_CLUSTER: Final = "cluster"
SECRET_TYPE_REPOSITORY: Final = "repository"
SECRET_TYPE_REPO_CREDS: Final = "repo-creds"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
ANNOTATION_TRACKING_ID: Final = "argocd.argoproj.io/tracking-id"
ANNOTATION_SYNC_WAVE: Final = "argocd.argoproj.io/sync-wave"
ANNOTATION_HOOK: Final = "argocd.argoproj.io/hook"
ANNOTATION_HOOK_DELETE_POLICY: Final = "argocd.argoproj.io/hook-delete-policy"
ANNOTATION_SYNC_OPTIONS: Final = "argocd.argoproj.io/sync-options"
ANNOTATION_COMPARE_OPTIONS: Final = "argocd.argoproj.io/compare-options"
ANNOTATION_REFRESH: Final = "argocd.argoproj.io/refresh"
ANNOTATION_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
ANNOTATION_INSTALLATION_ID: Final = "argocd.argoproj.io/installation-id"

# Resource tracking methods (argocd-cm ``application.resourceTrackingMethod``).
TRACKING_LABEL: Final = "label"
TRACKING_ANNOTATION: Final = "annotation"
TRACKING_ANNOTATION_AND_LABEL: Final = "annotation+label"
LABEL_VALUE_MAX_LENGTH: Final = 63

# Installed objects (model.crds.install_manifests).
CONTROLLER_NAME: Final = "tidegate-controller"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
# Health: the HPA v1 API keeps its conditions as JSON in this annotation.
ANNOTATION_HPA_CONDITIONS: Final = "autoscaling.alpha.kubernetes.io/conditions"

# Helm hook annotations, honoured by sync planning the way Argo CD maps them.
ANNOTATION_HELM_HOOK: Final = "helm.sh/hook"
ANNOTATION_HELM_HOOK_WEIGHT: Final = "helm.sh/hook-weight"
ANNOTATION_HELM_HOOK_DELETE_POLICY: Final = "helm.sh/hook-delete-policy"

# ApplicationSets.
KIND_APPLICATION: Final = "Application"
KIND_APPLICATION_SET: Final = "ApplicationSet"
FINALIZER_RESOURCES: Final = "resources-finalizer.argocd.argoproj.io"
FINALIZER_POST_DELETE: Final = "post-delete-finalizer.argocd.argoproj.io"
FINALIZER_HOOK: Final = "argocd.argoproj.io/hook-finalizer"
ANNOTATION_NOTIFIED: Final = "notified.notifications.argoproj.io"

# Cluster registry: the controller publishes per-cluster state in this ConfigMap (control
# namespace, one JSON document per cluster name); `tidegate cluster add` installs these on the
# target cluster.
CLUSTER_STATUS_CONFIGMAP: Final = "tidegate-cluster-status"
# ... annotated with the installation id the controller runs with (argocd-cm installationID, or
# its --installation-id default), for the CLI's local comparisons.
ANNOTATION_PUBLISHED_INSTALLATION_ID: Final = "tidegate.io/installation-id"
CLUSTER_MANAGER_NAMESPACE: Final = "kube-system"
CLUSTER_MANAGER_SERVICE_ACCOUNT: Final = "tidegate-manager"
CLUSTER_MANAGER_ROLE: Final = "tidegate-manager-role"
CLUSTER_MANAGER_ROLE_BINDING: Final = "tidegate-manager-role-binding"
CLUSTER_MANAGER_TOKEN_SECRET: Final = "tidegate-manager-long-lived-token"
ENV_CONTROL_NAMESPACE: Final = "TIDEGATE_NAMESPACE"

# Git webhooks: Argo CD's monorepo filter annotation, and the Secret holding the shared secrets.
ANNOTATION_MANIFEST_GENERATE_PATHS: Final = "argocd.argoproj.io/manifest-generate-paths"
ARGOCD_SECRET_NAME: Final = "argocd-secret"
# Argo CD's ConfigMaps of trusted repository hosts (read by `tidegate repo` when testing access).
CONFIGMAP_SSH_KNOWN_HOSTS: Final = "argocd-ssh-known-hosts-cm"
CONFIGMAP_TLS_CERTS: Final = "argocd-tls-certs-cm"
ANNOTATION_DELETION_APPROVED: Final = "argocd.argoproj.io/deletion-approved"
# The server's answer to a resource action lists what changed in this header (Argo CD's body is
# `{}`): `KIND/NAME patched|unchanged|created`, comma-separated, as `app actions run` prints them.
HEADER_ACTION_RESULT: Final = "Tidegate-Action-Result"
