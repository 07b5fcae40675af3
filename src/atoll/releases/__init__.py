"""Which code serves which app environment: building revisions into releases, deploying
them to environments (promotion, rollback with the database in mind) and their history."""

from atoll.releases.artifacts import build_revision
from atoll.releases.deployments import BUILD_ENV, Deployment, Deployments
from atoll.releases.releases import Releases, RestoredDb, RollbackBlocked, RollbackPlan

__all__ = [
    "BUILD_ENV",
    "Deployment",
    "Deployments",
    "Releases",
    "RestoredDb",
    "RollbackBlocked",
    "RollbackPlan",
    "build_revision",
]
