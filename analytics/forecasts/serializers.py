"""Input checks and the documented shapes of the forecast endpoints (kept stable: the
dashboard reads them)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from analytics.forecasts.models import (
    Family,
    ForecastModel,
    Horizon,
    Prediction,
    TrainingRun,
)
from assets.symbols import SYMBOL_PATTERN, SYMBOL_RULE
from marketpulse.api.params import QuerySerializer

BOUNDS_SCHEMA = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 2,
    "maxItems": 2,
    "description": "[low, high] price",
}
INTERVALS_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "80% and 95% prediction intervals, [low, high] in the quote "
    "currency; null when too few walk-forward residuals were known to calibrate one.",
    "properties": {"80": BOUNDS_SCHEMA, "95": BOUNDS_SCHEMA},
    "required": ["80", "95"],
}


def symbol_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(
        SYMBOL_PATTERN,
        max_length=20,
        error_messages={"invalid": SYMBOL_RULE},
        help_text="Case-insensitive.",
        **kwargs,
    )


@extend_schema_field(INTERVALS_SCHEMA)
class IntervalsField(serializers.ReadOnlyField):
    pass


class PredictionRequestSerializer(serializers.Serializer):
    symbol = symbol_field()
    horizon = serializers.ChoiceField(choices=Horizon.choices)
    model = serializers.ChoiceField(
        choices=Family.choices,
        required=False,
        help_text="A model family; default: the one served for the asset and horizon "
        "(best walk-forward skill, naive included).",
    )


class PredictionSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="asset.symbol")
    model = serializers.CharField(source="family")
    price = serializers.FloatField(help_text="The predicted price.")
    last_close = serializers.FloatField(
        help_text="The close at as_of: what the naive forecast predicts."
    )
    intervals = IntervalsField()
    error = serializers.FloatField(
        allow_null=True, help_text="actual - price; null until scored."
    )

    class Meta:
        model = Prediction
        fields = [
            "id", "symbol", "horizon", "model", "model_version", "made_at", "as_of",
            "target_time", "last_close", "price", "intervals", "actual", "error",
            "actual_source", "scored_at", "unscored_reason",
        ]  # fmt: skip
        read_only_fields = fields


class PredictionQuerySerializer(QuerySerializer):
    symbol = symbol_field(required=False)
    horizon = serializers.ChoiceField(choices=Horizon.choices, required=False)
    model = serializers.ChoiceField(choices=Family.choices, required=False)


class AccuracyQuerySerializer(QuerySerializer):
    symbol = symbol_field()
    horizon = serializers.ChoiceField(choices=Horizon.choices)
    model = serializers.ChoiceField(
        choices=Family.choices,
        required=False,
        help_text="Default: the model served for the asset and horizon.",
    )
    # (`source` is also a Field attribute; the metaclass takes declared fields out.)
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["backtest", "live"],
        default="backtest",
        help_text="`backtest`: the model's walk-forward forecasts; `live`: scored "
        "predictions of every user.",
    )
    detail = serializers.BooleanField(
        default=False, help_text="Add every forecast with its intervals and actual."
    )


class LevelFiguresSerializer(serializers.Serializer):
    coverage = serializers.FloatField(
        allow_null=True, help_text="Share of actuals inside the interval."
    )
    mean_width = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="Targets with this interval.")
    pinball_loss = serializers.FloatField(allow_null=True)


class LevelsSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {"80": LevelFiguresSerializer(), "95": LevelFiguresSerializer()}


class BacktestMetaSerializer(serializers.Serializer):
    step = serializers.IntegerField(help_text="Candles between origins.")
    origins = serializers.IntegerField()
    refit_every = serializers.IntegerField(help_text="Origins between fits.")
    fits = serializers.IntegerField()
    window = serializers.CharField()
    start = serializers.DateTimeField(allow_null=True, help_text="First origin.")
    end = serializers.DateTimeField(allow_null=True, help_text="Last origin.")
    problem = serializers.CharField(allow_null=True)


class ForecastRowSerializer(serializers.Serializer):
    origin = serializers.DateTimeField(
        help_text="as_of: close of the last candle seen (live: made_at follows it)."
    )
    target_time = serializers.DateTimeField()
    last_close = serializers.FloatField()
    price = serializers.FloatField()
    intervals = IntervalsField()
    actual = serializers.FloatField(allow_null=True)


# One object, though served by a viewset's `list`.
@extend_schema_serializer(many=False)
class AccuracySerializer(serializers.Serializer):
    symbol = serializers.CharField()
    horizon = serializers.CharField()
    model = serializers.CharField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    source = serializers.ChoiceField(choices=["backtest", "live"])  # type: ignore[assignment]
    count = serializers.IntegerField(help_text="Forecasts, scored or not.")
    targets = serializers.IntegerField(
        help_text="Forecasts with an actual: behind mae, rmse, mape and skill."
    )
    mae = serializers.FloatField(allow_null=True)
    rmse = serializers.FloatField(allow_null=True)
    mape = serializers.FloatField(allow_null=True, help_text="Percent.")
    directional_accuracy = serializers.FloatField(allow_null=True)
    directional_targets = serializers.IntegerField(
        help_text="Targets where the forecast moves from the last close."
    )
    intervals = LevelsSerializer()
    pinball_loss = serializers.FloatField(allow_null=True)
    pinball_targets = serializers.IntegerField()
    skill_vs_naive = serializers.FloatField(
        allow_null=True, help_text="1 - MAE / naive MAE, on the same targets."
    )
    naive_mae = serializers.FloatField(allow_null=True)
    skill_p_value = serializers.FloatField(
        allow_null=True,
        help_text="One-sided paired t-test that the model's absolute errors are "
        "smaller than naive's on the same targets.",
    )
    verdict = serializers.CharField()
    backtest = BacktestMetaSerializer(allow_null=True)
    forecasts = ForecastRowSerializer(many=True, required=False)


class ForecastModelSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="asset.symbol")
    model = serializers.CharField(source="family")
    metrics = serializers.JSONField()
    backtest = serializers.JSONField()

    class Meta:
        model = ForecastModel
        fields = [
            "id", "symbol", "horizon", "model", "version", "interval", "is_served",
            "parameters", "features", "trained_from", "trained_to", "metrics",
            "backtest", "conformal", "library_versions", "run", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ForecastModelQuerySerializer(QuerySerializer):
    symbol = symbol_field(required=False)
    horizon = serializers.ChoiceField(choices=Horizon.choices, required=False)
    model = serializers.ChoiceField(choices=Family.choices, required=False)
    served = serializers.BooleanField(required=False, allow_null=True, default=None)


class TrainRequestSerializer(serializers.Serializer):
    symbols = serializers.ListField(
        child=symbol_field(), required=False, max_length=250,
        help_text="Default: every asset (those with too little history are skipped).",
    )  # fmt: skip
    horizons = serializers.ListField(
        child=serializers.ChoiceField(choices=Horizon.choices),
        required=False,
        max_length=3,
    )


class TrainingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = [
            "id", "status", "params", "queued_at", "started_at", "finished_at",
            "summary", "error",
        ]  # fmt: skip
        read_only_fields = fields
