"""Sends a small, known set of telemetry with the official OpenTelemetry Python SDK.

    emit.py grpc http://127.0.0.1:4317
    emit.py http http://127.0.0.1:4318

One trace (a SERVER span `GET /checkout` with a CLIENT child `SELECT stock`, both with
attributes; the child records an error), a counter `python.orders` with an attribute, and
a WARN log record emitted inside the child span, all with service.name `python-check`.
Everything is flushed before the script exits. Used by workshop/tests/inspect.rs to show
that `workshop inspect` takes telemetry from any SDK, not only ours.
"""

import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


def exporters(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return (
            OTLPSpanExporter(endpoint=endpoint, insecure=True),
            OTLPMetricExporter(endpoint=endpoint, insecure=True),
            OTLPLogExporter(endpoint=endpoint, insecure=True),
        )
    if protocol == "http":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        return (
            OTLPSpanExporter(endpoint=f"{base}/v1/traces"),
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
            OTLPLogExporter(endpoint=f"{base}/v1/logs"),
        )
    sys.exit(f"usage: emit.py grpc|http ENDPOINT (got protocol {protocol!r})")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: emit.py grpc|http ENDPOINT")
    protocol, endpoint = sys.argv[1], sys.argv[2]
    span_exporter, metric_exporter, log_exporter = exporters(protocol, endpoint)
    resource = Resource.create({"service.name": "python-check", "deployment.environment.name": "test"})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)

    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=60_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    set_logger_provider(logger_provider)
    logger = logging.getLogger("python-check")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))

    tracer = trace.get_tracer("python-check")
    orders = metrics.get_meter("python-check").create_counter("python.orders", unit="1")
    with tracer.start_as_current_span("GET /checkout", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("http.request.method", "GET")
        parent.set_attribute("http.route", "/checkout")
        parent.set_attribute("http.response.status_code", 200)
        with tracer.start_as_current_span("SELECT stock", kind=SpanKind.CLIENT) as child:
            child.set_attribute("db.system.name", "postgresql")
            child.set_attribute("db.rows", 3)
            logger.warning("stock is low for item %s", "42")
            child.set_status(Status(StatusCode.ERROR, "stock below threshold"))
        orders.add(2, {"payment": "card"})

    # Flush everything before exiting; a failed export is an error.
    ok = tracer_provider.force_flush(10_000)
    meter_provider.force_flush(10_000)
    logger_provider.force_flush(10_000)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()
    print(f"emitted over {protocol} to {endpoint} (flushed: {ok})")


if __name__ == "__main__":
    main()
