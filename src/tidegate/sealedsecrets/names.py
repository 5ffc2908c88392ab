"""The Sealed Secrets project's names and defaults (a leaf module: no imports of Tidegate)."""

from __future__ import annotations

from typing import Final

GROUP: Final = "bitnami.com"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "SealedSecret"
PLURAL: Final = "sealedsecrets"

ANNOTATION_CLUSTER_WIDE: Final = "sealedsecrets.bitnami.com/cluster-wide"
ANNOTATION_NAMESPACE_WIDE: Final = "sealedsecrets.bitnami.com/namespace-wide"
ANNOTATION_MANAGED: Final = "sealedsecrets.bitnami.com/managed"
ANNOTATION_PATCH: Final = "sealedsecrets.bitnami.com/patch"
ANNOTATION_SKIP_OWNER_REFERENCES: Final = "sealedsecrets.bitnami.com/skip-set-owner-references"
ANNOTATION_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"

LABEL_KEY: Final = "sealedsecrets.bitnami.com/sealed-secrets-key"
LABEL_KEY_ACTIVE: Final = "active"
KEY_PREFIX: Final = "sealed-secrets-key"
KEY_SIZE: Final = 4096
KEY_TTL_DAYS: Final = 3650  # the generated certificate's validity (--key-ttl, 10 years)
KEY_RENEW_DAYS: Final = 30  # a new key every 30 days (--key-renew-period)

CONTROLLER_NAME: Final = "sealed-secrets-controller"
CONTROLLER_NAMESPACE: Final = "kube-system"

CONDITION_SYNCED: Final = "Synced"
REASON_UNSEALED: Final = "Unsealed"
REASON_UNSEAL_FAILED: Final = "ErrUnsealFailed"
REASON_UPDATE_FAILED: Final = "ErrUpdateFailed"
