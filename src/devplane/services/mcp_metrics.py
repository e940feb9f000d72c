"""Who may read operational MCP data: the metrics endpoint and the tool-call log."""

from __future__ import annotations

from devplane.authz.authorizer import Object, Subject, authorize
from devplane.authz.policy import Action, Resource
from devplane.errors import Forbidden

DEPLOYMENT = Object(Resource.DEPLOYMENT_CONFIG)


def require_reader(actor: Subject) -> None:
    """deployment_config read: owners and auditors (a scraper uses an auditor's API key).

    Metrics name servers and tools and show who-uses-what volumes, so they are not public.
    """
    if not authorize(actor, Action.READ, DEPLOYMENT):
        raise Forbidden(
            "Reading metrics needs deployment_config read.",
            detail="Scrape with the API key of a user who has the auditor (or owner) role.",
        )
