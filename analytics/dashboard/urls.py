from collections.abc import Callable

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import path

from analytics.dashboard.views import Page, SignedInPage, SignInView

app_name = "dashboard"


def page(
    template: str, module: str, *, signed_in: bool = False
) -> Callable[..., HttpResponseBase]:
    view = SignedInPage if signed_in else Page
    return view.as_view(template_name=f"dashboard/{template}.html", module=module)


def favicon(request: HttpRequest) -> HttpResponseBase:
    # The hashed name is looked up per request, not at import: `manage.py migrate` and
    # `check` import the URLs before `collectstatic` has written the manifest.
    return HttpResponseRedirect(static("dashboard/icon.svg"))


urlpatterns = [
    path("", page("overview", "overview.js"), name="overview"),
    path("assets/<str:symbol>/", page("asset", "asset.js"), name="asset"),
    path("replay/", page("replay", "replay.js"), name="replay"),
    path(
        "portfolio/",
        page("portfolio", "portfolio.js", signed_in=True),
        name="portfolio",
    ),
    path("alerts/", page("alerts", "alerts.js", signed_in=True), name="alerts"),
    path("signin/", SignInView.as_view(), name="signin"),
    path("signout/", auth_views.LogoutView.as_view(), name="signout"),
    # Pages name their icon; the admin and the API docs do not, and browsers ask here.
    path("favicon.ico", favicon),
]
