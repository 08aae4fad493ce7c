"""Start the dashboard (`streamlit run dashboard.py ...`) without Streamlit's /_stcore/metrics endpoint.

Usage: python scripts/serve.py [streamlit run options, e.g. --server.port 8501]

Streamlit publishes session and cache statistics at /_stcore/metrics to anyone who asks, before any
sign-in, and (as of 1.67) has no configuration option to turn that endpoint off. This launcher keeps
the route but answers it with 404 Not Found, then runs Streamlit's own command line unchanged, so
.streamlit/config.toml and every --server.* option still apply. If a future Streamlit moves the
function patched here, start-up fails loudly instead of serving the metrics.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def close_metrics_endpoint() -> None:
    """Answer /_stcore/metrics (every method Streamlit routes there) with 404."""
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from streamlit.web.server.starlette import starlette_app, starlette_routes

    streamlit_routes = starlette_routes.create_metrics_routes
    if getattr(starlette_app, "create_metrics_routes", None) is not streamlit_routes:
        raise RuntimeError("this Streamlit builds its metrics routes differently: review scripts/serve.py")

    async def not_found(_request):
        return PlainTextResponse("Not Found", status_code=404)

    def closed_metrics_routes(runtime, base_url):
        return [Route(route.path, not_found, methods=sorted(route.methods or {"GET"}))
                for route in streamlit_routes(runtime, base_url)]

    starlette_app.create_metrics_routes = closed_metrics_routes


def main() -> None:
    close_metrics_endpoint()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "dashboard.py"), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
