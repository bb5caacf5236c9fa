"""URL root: one router for the whole REST API under /api/v1/, docs, health, admin, and
the browser pages (everything else)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.routers import DefaultRouter
from rest_framework_simplejwt.views import TokenRefreshView

from analytics.alerts.views import AlertEventViewSet, AlertViewSet, WebhookViewSet
from analytics.forecasts.views import (
    AccuracyViewSet,
    ForecastModelViewSet,
    PredictionViewSet,
)
from analytics.views import AnomalyViewSet, IndicatorViewSet, MarketViewSet
from assets.views import AssetViewSet
from marketpulse import health, metrics
from marketpulse.accounts.lockout import TokenObtainView
from marketpulse.accounts.views import ApiKeyViewSet
from marketpulse.api.throttles import LoginThrottle
from marketpulse.audit import AuditEntryViewSet
from portfolio.views import PortfolioViewSet, TradeViewSet
from prices import lean_views
from prices.ingest.views import ManualPriceViewSet, SyncRunViewSet, SyncViewSet
from prices.views import PriceViewSet

router = DefaultRouter(trailing_slash=True)
router.register("assets", AssetViewSet, basename="asset")
# Before "prices": its detail route would take "manual" for a symbol.
router.register("prices/manual", ManualPriceViewSet, basename="manual-price")
router.register("prices", PriceViewSet, basename="prices")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("sync", SyncViewSet, basename="sync")
router.register("analytics/indicators", IndicatorViewSet, basename="indicator")
router.register("analytics/market", MarketViewSet, basename="market")
router.register("analytics/anomalies", AnomalyViewSet, basename="anomaly")
router.register("analytics/models", ForecastModelViewSet, basename="forecast-model")
router.register("analytics/predictions", PredictionViewSet, basename="prediction")
router.register("analytics/accuracy", AccuracyViewSet, basename="accuracy")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("portfolios", PortfolioViewSet, basename="portfolio")
router.register("alerts/events", AlertEventViewSet, basename="alert-event")
router.register("alerts/webhooks", WebhookViewSet, basename="alert-webhook")
router.register("alerts", AlertViewSet, basename="alert")
router.register(
    r"portfolios/(?P<portfolio_pk>\d+)/trades", TradeViewSet, basename="trade"
)

urlpatterns = [
    path(
        "api/v1/auth/token/",
        TokenObtainView.as_view(throttle_classes=[LoginThrottle]),
        name="token-obtain",
    ),
    path(
        "api/v1/auth/token/refresh/",
        TokenRefreshView.as_view(throttle_classes=[LoginThrottle]),
        name="token-refresh",
    ),
    # The lean path of the most-polled reads (prices/lean_views.py), before the router.
    path("api/v1/prices/latest/", lean_views.latest, name="latest-lean"),
    path(
        "api/v1/prices/latest/<str:symbol>/",
        lean_views.latest_one,
        name="latest-one-lean",
    ),
    # Not prices/manual/...: the router gives that to the manual prices.
    re_path(
        r"^api/v1/prices/(?!manual/)(?P<symbol>[^/]+)/candles/$",
        lean_views.candles,
        name="candles-lean",
    ),
    path("api/v1/assets/", lean_views.assets, name="assets-lean"),
    path("api/v1/assets/<str:symbol>/", lean_views.asset, name="asset-lean"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("health/", health.health, name="health"),
    path("health/live/", health.live, name="health-live"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # Last: the pages claim `/` and a few names; every other path stays a JSON 404.
    path("", include("analytics.dashboard.urls")),
]

handler400 = "marketpulse.api.errors.bad_request"
handler403 = "marketpulse.api.errors.permission_denied"
handler404 = "marketpulse.api.errors.page_not_found"
handler500 = "marketpulse.api.errors.server_error"
