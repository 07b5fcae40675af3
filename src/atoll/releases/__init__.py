"""Which code serves which app environment: building revisions, deploying them, releases
(and, as they land, promotion, rollback and history)."""

from atoll.releases.deployments import BUILD_ENV, Deployment, Deployments, build_revision
from atoll.releases.releases import Releases

__all__ = ["BUILD_ENV", "Deployment", "Deployments", "Releases", "build_revision"]
