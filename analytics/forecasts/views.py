"""Forecast endpoints: thin views over `services` and `selectors`."""

import csv
import io
from typing import Any, cast

from django.contrib.auth.models import User
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.forecasts import selectors, services
from analytics.forecasts.models import ForecastModel, Prediction
from analytics.forecasts.serializers import (
    AccuracyQuerySerializer,
    AccuracySerializer,
    ForecastModelQuerySerializer,
    ForecastModelSerializer,
    PredictionQuerySerializer,
    PredictionRequestSerializer,
    PredictionSerializer,
    TrainingRunSerializer,
    TrainRequestSerializer,
)
from analytics.forecasts.tasks import queue_training
from analytics.views import AnomalyCursor
from marketpulse.accounts.permissions import IsOperator
from marketpulse.api.negotiation import JsonFirstMixin
from marketpulse.api.renderers import CSVRenderer, OrjsonRenderer
from marketpulse.api.schema import BAD_REQUEST, READ_ERRORS, error
from marketpulse.errors import InvalidInput

NOT_FOUND_MODEL = error("No such model version.", "not_found", "Not found.")

CSV_COLUMNS = ["origin", "target_time", "last_close", "price", "lo80", "hi80",
               "lo95", "hi95", "actual"]  # fmt: skip


class PredictionCursor(AnomalyCursor):
    ordering = ("-made_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="Your predictions",
        description="The signed-in user's predictions, newest first, cursor-paged "
        "(follow `next`); filter by `symbol`, `horizon`, `model`.",
        parameters=[PredictionQuerySerializer],
    ),
    retrieve=extend_schema(summary="One of your predictions"),
    create=extend_schema(
        summary="Make a prediction",
        description="Forecasts the close `horizon` ahead of the last closed candle "
        "(`as_of`; `target_time` = as_of + horizon) with the served model (best "
        "walk-forward skill, naive included) or the latest version of `model`, and "
        "stores it; it is scored once its target time has passed. Horizons: `1h` = 1 "
        "x 1h candle, `24h` = 24 x 1h, `7d` = 7 x 1d. 400 naming the field for an "
        "unknown symbol, horizon or model, or too little history.",
        request=PredictionRequestSerializer,
        responses={201: PredictionSerializer, 400: BAD_REQUEST},
    ),
)
class PredictionViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PredictionSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = PredictionCursor
    filter_backends: list[Any] = []
    renderer_classes = [OrjsonRenderer]
    queryset = (
        Prediction.objects.none()
    )  # for the schema; get_queryset scopes to the user

    def get_queryset(self) -> Any:
        if self.action != "list":
            # IsAuthenticated: the user is a real one here.
            user = cast(User, self.request.user)
            return Prediction.objects.filter(user=user).select_related("asset")
        query = PredictionQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.predictions_for(
            user=self.request.user,  # type: ignore[arg-type]
            symbol=query.validated_data.get("symbol"),
            horizon=query.validated_data.get("horizon"),
            model=query.validated_data.get("model"),
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = PredictionRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        prediction = services.make_prediction(
            user=request.user,  # type: ignore[arg-type]
            **incoming.validated_data,
        )
        return Response(
            PredictionSerializer(prediction).data, status=status.HTTP_201_CREATED
        )


EXAMPLE = {
    "symbol": "BTC", "horizon": "24h", "model": "naive", "model_version": 1,
    "source": "backtest", "count": 195, "targets": 195, "mae": 257.0, "rmse": 381.2,
    "mape": 3.1, "directional_accuracy": None, "directional_targets": 0,
    "intervals": {"80": {"coverage": 0.77, "mean_width": 640.1, "n": 175,
                         "pinball_loss": 41.2},
                  "95": {"coverage": 0.94, "mean_width": 1105.3, "n": 175,
                         "pinball_loss": 15.3}},
    "pinball_loss": 28.2, "pinball_targets": 175, "skill_vs_naive": 0.0,
    "naive_mae": 257.0, "skill_p_value": None,
    "verdict": "No model beats the naive forecast for BTC 24h in the walk-forward "
    "backtest: the naive forecast is served.",
    "backtest": {"step": 24, "origins": 195, "refit_every": 25, "fits": 8,
                 "window": "expanding", "start": "2019-03-17T10:00:00Z",
                 "end": "2019-10-16T10:00:00Z", "problem": None},
}  # fmt: skip


class AccuracyViewSet(JsonFirstMixin, viewsets.ViewSet):
    """How good a model's forecasts are, against the naive forecast on the same targets."""

    permission_classes = [AllowAny]
    renderer_classes = [OrjsonRenderer, CSVRenderer]

    @extend_schema(
        summary="Forecast accuracy",
        operation_id="analytics_accuracy",
        description="Count, MAE, RMSE, MAPE, directional accuracy, per-level interval "
        "coverage and width, pinball loss and **skill vs naive** (1 - MAE / naive MAE "
        "on exactly the same targets: the naive forecast is each forecast's "
        "`last_close`), each with the number of targets behind it, and a verdict in "
        "plain words. `source=backtest` (default): the model version's walk-forward "
        "forecasts (origins one horizon apart, each fit only on candles closed by "
        "then; step, origins, start and end in `backtest`); `source=live`: scored "
        "predictions. `detail=true` adds every forecast; `format=csv` gives those "
        "rows as CSV, so anyone can recompute the figures.",
        parameters=[
            AccuracyQuerySerializer,
            OpenApiParameter(
                "format", str, OpenApiParameter.QUERY, enum=["json", "csv"]
            ),
        ],
        responses={
            (200, "application/json"): AccuracySerializer,
            (200, "text/csv"): OpenApiResponse(
                {"type": "string"}, description=", ".join(CSV_COLUMNS)
            ),
            **READ_ERRORS,
        },
        examples=[OpenApiExample("btc", value=EXAMPLE, response_only=True)],
    )
    def list(self, request: Request) -> Any:
        query = AccuracyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        body, rows = selectors.accuracy_for(
            symbol=params["symbol"],
            horizon=params["horizon"],
            model=params.get("model"),
            source=params["source"],
        )
        live = params["source"] == "live"
        if request.accepted_renderer.format == "csv":
            return _csv(body, rows, live)
        if params["detail"]:
            body["forecasts"] = [_row(r, live) for r in rows]
        return Response(body)


def _row(row: Any, live: bool) -> dict[str, Any]:
    return {
        "origin": row.as_of if live else row.origin,
        "target_time": row.target_time,
        "last_close": row.last_close,
        "price": row.price,
        "intervals": row.intervals,
        "actual": row.actual,
    }


def _csv(body: dict[str, Any], rows: list[Any], live: bool) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        origin = row.as_of if live else row.origin
        writer.writerow(
            [origin.strftime("%Y-%m-%dT%H:%M:%SZ"),
             row.target_time.strftime("%Y-%m-%dT%H:%M:%SZ"), row.last_close,
             row.price, row.lo80, row.hi80, row.lo95, row.hi95, row.actual]
        )  # fmt: skip
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"{body['symbol']}_{body['horizon']}_{body['model']}_{body['source']}.csv"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@extend_schema_view(
    list=extend_schema(
        summary="Trained forecast models",
        description="Every trained version (family, parameters, training range, "
        "features, walk-forward metrics, library versions), newest first; "
        "`served=true` gives the one served per asset and horizon.",
        parameters=[ForecastModelQuerySerializer],
        responses={200: ForecastModelSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One trained model version",
        responses={200: ForecastModelSerializer, 404: NOT_FOUND_MODEL, **READ_ERRORS},
    ),
)
class ForecastModelViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ForecastModelSerializer
    renderer_classes = [OrjsonRenderer]
    filter_backends: list[Any] = []
    queryset = ForecastModel.objects.none()

    def get_queryset(self) -> Any:
        found = ForecastModel.objects.select_related("asset").defer("artefact")
        if self.action != "list":
            return found
        query = ForecastModelQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "symbol" in params:  # an unknown one filters everything out
            found = found.filter(asset__symbol=params["symbol"].upper())
        if "horizon" in params:
            found = found.filter(horizon=params["horizon"])
        if "model" in params:
            found = found.filter(family=params["model"])
        if params.get("served") is not None:
            found = found.filter(is_served=params["served"])
        return found

    @extend_schema(
        summary="Train forecast models (operators)",
        description="Queues a training run for the assets and horizons given (all by "
        "default); answers 202 with the run. Each asset x horizon gets a new version "
        "of every family, backtested walk-forward; the best by skill vs naive is "
        "served.",
        request=TrainRequestSerializer,
        responses={202: TrainingRunSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        permission_classes=[IsOperator],
        pagination_class=None,
    )
    def train(self, request: Request) -> Response:
        incoming = TrainRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        symbols = incoming.validated_data.get("symbols")
        unknown = [s for s in symbols or [] if not selectors.asset_exists(s)]
        if unknown:
            raise InvalidInput(
                field="symbols", message=f"No asset with symbol {unknown[0]!r}."
            )
        run = queue_training(
            symbols=[s.upper() for s in symbols] if symbols else None,
            horizons=incoming.validated_data.get("horizons"),
            user_id=request.user.pk,
        )
        return Response(
            TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED
        )
