"""Which code serves which app environment: building revisions, deploying them, and (as
releases and environments land) promotion, rollback and history."""

from atoll.releases.deployments import BUILD_ENV, Deployment, Deployments

__all__ = ["BUILD_ENV", "Deployment", "Deployments"]
